"""The cost-quality frontier: each variant and each routing policy as a point (cost per conversation,
one quality metric), with CIs as error bars and the Pareto-optimal points marked.

A point is Pareto-optimal when no other point is at most as costly and at least as good, and strictly
one of the two. That is read on the point estimates: where error bars overlap, the ranking may not
hold on other conversations, and the plot shows the bars so nobody takes it for certain.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from evals.errors import UserError
from evals.results import EvalResult

COST = "cost_per_conversation_usd"


@dataclass(frozen=True)
class Point:
    name: str  # a variant, or "<bot> + <policy>"
    kind: str  # "variant" or "policy"
    cost: float  # USD per conversation
    cost_low: float
    cost_high: float
    quality: float
    quality_low: float
    quality_high: float
    n: int  # conversations behind the cost
    pareto: bool = False
    note: str = ""  # why a point cannot be drawn

    @property
    def drawable(self) -> bool:
        return math.isfinite(self.cost) and math.isfinite(self.quality)


def default_metric(result: EvalResult) -> str | None:
    """The first headline metric (one with a report label) that has a better direction."""
    return next((m["name"] for m in result.metrics if m.get("label") and m["direction"] in ("higher", "lower")), None)


def metric_label(result: EvalResult, metric: str) -> str:
    found = next((m for m in result.metrics if m["name"] == metric), None)
    return (found or {}).get("label") or metric


def direction_of(result: EvalResult, metric: str) -> str:
    """Which way the metric is better, from the results' own definitions."""
    found = next((m for m in result.metrics if m["name"] == metric), None)
    if found is None:
        raise UserError(f"business.quality_metric: {metric!r} is not a metric of these results (allowed: "
                        f"{', '.join(m['name'] for m in result.metrics if m['direction'] != 'neither')})")
    if found["direction"] not in ("higher", "lower"):
        raise UserError(f"business.quality_metric: {metric!r} has no better direction, so no frontier (allowed: "
                        f"{', '.join(m['name'] for m in result.metrics if m['direction'] != 'neither')})")
    return str(found["direction"])


def points(result: EvalResult, view: pd.DataFrame, what_if: pd.DataFrame, metric: str) -> list[Point]:
    """Each variant (cost from `evals.business.view`, quality from the run's summary) and each bot x policy
    of `evals.hybrid.what_if` (stacked), Pareto-marked for `metric`."""
    direction = direction_of(result, metric)
    found = []
    summary = result.summary.set_index(["variant", "metric"]) if not result.summary.empty else None
    for variant in result.variants:
        cost = view[(view["variant"] == variant) & (view["measure"] == COST)]
        if cost.empty:
            continue
        quality = (summary.loc[(variant, metric)] if summary is not None and (variant, metric) in summary.index
                   else None)
        found.append(_point(variant, "variant", cost.iloc[0], quality))
    if not what_if.empty:
        for (policy, bot), rows in what_if.groupby(["policy", "bot"], sort=False):
            cost, quality = rows[rows["measure"] == COST], rows[rows["measure"] == metric]
            found.append(_point(f"{bot} + {policy}", "policy", cost.iloc[0] if len(cost) else None,
                                quality.iloc[0] if len(quality) else None))
    return mark_pareto(found, direction)


def _point(name: str, kind: str, cost: pd.Series | None, quality: pd.Series | None) -> Point:
    nan = math.nan
    c = (cost["value"], cost["ci_low"], cost["ci_high"]) if cost is not None else (nan, nan, nan)
    q = (quality["value"], quality["ci_low"], quality["ci_high"]) if quality is not None else (nan, nan, nan)
    why = "; ".join(filter(None, [
        "cost n/a" + (f": {cost.get('note')}" if cost is not None and cost.get("note") else "")
        if cost is None or pd.isna(c[0]) else "",
        "quality n/a" if quality is None or pd.isna(q[0]) else ""]))
    return Point(name, kind, *(float(x) for x in c), *(float(x) for x in q),
                 n=int(cost["n"]) if cost is not None else 0, note=why)


def mark_pareto(found: list[Point], direction: str) -> list[Point]:
    """`pareto` set on each drawable point that no other drawable point dominates."""
    sign = 1.0 if direction == "higher" else -1.0
    drawn = [p for p in found if p.drawable]

    def dominates(a: Point, b: Point) -> bool:
        at_least = a.cost <= b.cost and sign * a.quality >= sign * b.quality
        return at_least and (a.cost < b.cost or sign * a.quality > sign * b.quality)

    return [replace(p, pareto=p.drawable and not any(dominates(o, p) for o in drawn if o is not p)) for p in found]


def plot(found: list[Point], path: str | Path, quality_label: str = "quality") -> str:
    """Draw the drawable points (error bars: the CIs; filled and joined: Pareto-optimal; hollow:
    dominated) to a PNG at `path`; returns the same plot as an SVG string, for the HTML report."""
    from matplotlib.figure import Figure  # no pyplot: no global state, no display backend

    drawn = [p for p in found if p.drawable]
    if not drawn:
        raise UserError("no point to draw: every variant and policy has its cost or quality n/a "
                        "(set business.costs; see docs/business.md)")
    figure = Figure(figsize=(7, 4.5), layout="constrained")
    ax = figure.add_subplot()
    for optimal, colour, marker_face, legend in ((True, "tab:blue", "tab:blue", "Pareto-optimal"),
                                                 (False, "tab:grey", "white", "dominated")):
        group = [p for p in drawn if p.pareto == optimal]
        if not group:
            continue
        ax.errorbar([p.cost for p in group], [p.quality for p in group],
                    xerr=[[_below(p.cost, p.cost_low) for p in group], [_above(p.cost, p.cost_high) for p in group]],
                    yerr=[[_below(p.quality, p.quality_low) for p in group],
                          [_above(p.quality, p.quality_high) for p in group]],
                    fmt="s" if optimal else "o", color=colour, markerfacecolor=marker_face, ecolor=colour,
                    elinewidth=1, capsize=3, label=legend, linestyle="none")
    line = sorted((p for p in drawn if p.pareto), key=lambda p: p.cost)
    ax.plot([p.cost for p in line], [p.quality for p in line], color="tab:blue", linewidth=1, alpha=0.5)
    ax.margins(x=0.2, y=0.1)  # room for the names
    costs = [p.cost for p in drawn]
    if min(costs) > 0 and max(costs) / min(costs) > 20:  # bots at cents, people at dollars: both readable
        ax.set_xscale("log")
    elif ax.get_xlim()[0] < 0 <= min(costs):  # no negative costs on the axis
        ax.set_xlim(-0.03 * ax.get_xlim()[1], ax.get_xlim()[1])
    for (cost, quality), names in _label_groups(ax, drawn):
        ax.annotate(names, (cost, quality), textcoords="offset points", xytext=(6, 4), fontsize=8, va="bottom")
    ax.set_xlabel("cost per conversation (USD): bot + people" + (", log scale" if ax.get_xscale() == "log" else ""))
    ax.set_ylabel(quality_label)
    ax.set_title("Cost and quality (bars: confidence intervals)")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    figure.savefig(path, format="png", dpi=120)
    svg = io.StringIO()
    figure.savefig(svg, format="svg")
    return svg.getvalue()


def _label_groups(ax, drawn: list[Point]) -> list[tuple[tuple[float, float], str]]:
    """One label per cluster of points closer than a label's height on the drawn axes, so names do not
    print over each other: coinciding points joined by ' = ', near ones on separate lines, best first."""
    ax.autoscale_view()
    same: dict[tuple[float, float], list[str]] = {}  # e.g. "people only" is the human variant
    for p in drawn:
        same.setdefault((p.cost, p.quality), []).append(p.name)
    spots = list(same)
    at = ax.transData.transform(spots)
    clusters: list[list[int]] = []
    for i, (x, y) in enumerate(at):
        near = next((c for c in clusters if any(abs(x - at[j][0]) < 60 and abs(y - at[j][1]) < 14 for j in c)), None)
        if near is None:
            clusters.append([i])
        else:
            near.append(i)
    groups = []
    for cluster in clusters:
        cluster.sort(key=lambda j: -spots[j][1])
        groups.append((spots[cluster[0]], "\n".join(" = ".join(same[spots[j]]) for j in cluster)))
    return groups


def _below(value: float, low: float) -> float:
    return max(value - low, 0.0) if math.isfinite(low) else 0.0


def _above(value: float, high: float) -> float:
    return max(high - value, 0.0) if math.isfinite(high) else 0.0
