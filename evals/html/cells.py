"""Summary and difference rows -> table cells and plot panels for the HTML report.

Everything is read from the results' own columns: which metrics are headline (`label`), which way is
better (`direction`), what n counts (the manifest's metric records). No metric name is known here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from evals.html.plots import BETTER, NEUTRAL, WORSE, Panel, Point
from evals.report import digits, fmt

DIRECTION_WORDS = {"higher": "higher is better", "lower": "lower is better", "neither": "neither way is better"}


@dataclass(frozen=True)
class Cell:
    """One estimate as a table shows it: the number, the n it rests on, and a flag in words."""

    text: str
    n: int | None = None
    flag: str = ""  # "too few", "no CI", "within noise", "better", "worse", "beyond noise", "no verdict"
    tone: str = ""  # a CSS class: "good", "bad" or "faint"


@dataclass(frozen=True)
class MetricRow:
    metric: str
    label: str
    direction: str  # in words
    counts: str  # what n counts
    cells: list[Cell]


@dataclass(frozen=True)
class DiffRow:
    metric: str
    label: str
    direction: str
    variant: str
    baseline: str
    cell: Cell
    fallback: str  # why another variant than the asked-for baseline stands in; "" when none


def finite(x: Any) -> bool:
    try:
        return x is not None and not pd.isna(x) and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def headline(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """(metric, label) of the metrics the scorers declare headline (a `label`), in order; without any,
    every mean, named after its scorer."""
    if frame.empty:
        return []
    labelled = frame[frame["label"].fillna("") != ""].drop_duplicates("metric") if "label" in frame else frame[:0]
    if not labelled.empty:
        return list(zip(labelled["metric"], labelled["label"]))
    return [(m, m.removesuffix(".mean")) for m in dict.fromkeys(frame["metric"]) if m.endswith(".mean")]


def _places(rows: Iterable[Mapping[str, Any]]) -> int:
    return digits((r["ci_low"], r["ci_high"]) for r in rows if not bool(r.get("too_few", False)))


def estimate_cell(row: Mapping[str, Any] | None, places: int, value_key: str = "value", sign: str = "") -> Cell:
    if row is None:
        return Cell("—", None, "not evaluated", "faint")
    n = int(row["n"]) if finite(row.get("n")) else 0
    if not finite(row[value_key]):
        return Cell("n/a", n, "nothing to compute it on", "faint")
    if bool(row.get("too_few", False)):
        return Cell(f"{float(row[value_key]):{sign}.{places}f}", n, "too few", "faint")
    if not finite(row["ci_low"]):
        return Cell(f"{float(row[value_key]):{sign}.{places}f}", n, "no CI", "faint")
    return Cell(fmt(row[value_key], row["ci_low"], row["ci_high"], places, sign), n)


def metric_rows(summary: pd.DataFrame, variants: Sequence[str], definitions: Sequence[Mapping[str, Any]],
                metrics: Sequence[tuple[str, str]] | None = None) -> list[MetricRow]:
    """One row per metric (headline ones unless `metrics` is given), one cell per variant."""
    counts = {d["name"]: d.get("counts", "") for d in definitions}
    by = {(r["variant"], r["metric"]): r for r in summary.to_dict("records")}
    rows = []
    for metric, label in headline(summary) if metrics is None else metrics:
        found = [by.get((v, metric)) for v in variants]
        places = _places(r for r in found if r is not None)
        direction = next((r["direction"] for r in found if r is not None), "higher")
        rows.append(MetricRow(metric, label, DIRECTION_WORDS.get(direction, direction), counts.get(metric, ""),
                              [estimate_cell(r, places) for r in found]))
    return rows


def all_metrics(summary: pd.DataFrame) -> list[tuple[str, str]]:
    """Every metric, headline or not, named by its label when it has one."""
    labels = summary.drop_duplicates("metric").set_index("metric")["label"].fillna("")
    return [(m, labels[m] or m) for m in labels.index]


def verdict(row: Mapping[str, Any]) -> tuple[str, str]:
    """(flag, tone) of one paired difference. Within noise is not 'equal': the interval holds 0."""
    if bool(row.get("too_few", False)):
        return "too few", "faint"
    noise = row.get("within_noise")
    if noise is None or pd.isna(noise):
        return "no verdict", "faint"
    if bool(noise):
        return "within noise", "faint"
    if row["direction"] not in ("higher", "lower"):
        return "beyond noise", ""
    better = (row["diff"] > 0) == (row["direction"] == "higher")
    return ("better", "good") if better else ("worse", "bad")


def diff_rows(diffs: pd.DataFrame) -> list[DiffRow]:
    """Headline metrics, each variant's difference from its baseline, with the verdict in words."""
    rows = []
    for metric, label in headline(diffs):
        mine = diffs[diffs["metric"] == metric].to_dict("records")
        places = _places(mine)
        for r in mine:
            cell = estimate_cell(r, places, "diff", sign="+")
            flag, tone = verdict(r)
            fallback = ""
            if isinstance(r.get("fallback_from"), str) and r["fallback_from"]:
                fallback = f"standing in for {r['fallback_from']}: {r.get('fallback_reason') or ''}"
            rows.append(DiffRow(metric, label, DIRECTION_WORDS.get(r["direction"], r["direction"]), r["variant"],
                                r["baseline"], Cell(cell.text, cell.n, flag, tone), fallback))
    return rows


def diff_panels(diffs: pd.DataFrame) -> list[Panel]:
    """Forest plot panels: per headline metric, each variant's difference and interval."""
    panels = []
    for metric, label in headline(diffs):
        points = []
        for r in diffs[diffs["metric"] == metric].to_dict("records"):
            flag, _ = verdict(r)
            colour = {"better": BETTER, "worse": WORSE}.get(flag, NEUTRAL)
            name = f"{r['variant']} − {r['baseline']} (n={int(r['n'])}{', too few' if r['too_few'] else ''})"
            points.append(Point(name, _float(r["diff"]), _float(r["ci_low"]), _float(r["ci_high"]), colour,
                                hollow=bool(r["too_few"])))
        direction = DIRECTION_WORDS.get(str(diffs.loc[diffs["metric"] == metric, "direction"].iloc[0]), "")
        panels.append(Panel(f"{label} ({direction})", points))
    return panels


def metric_panels(summary: pd.DataFrame, variants: Sequence[str]) -> list[Panel]:
    """Per headline metric, each variant's estimate and interval."""
    by = {(r["variant"], r["metric"]): r for r in summary.to_dict("records")}
    panels = []
    for metric, label in headline(summary):
        found = [(v, by[(v, metric)]) for v in variants if (v, metric) in by]
        points = [Point(f"{v} (n={int(r['n'])}{', too few' if r['too_few'] else ''})", _float(r["value"]),
                        _float(r["ci_low"]), _float(r["ci_high"]), hollow=bool(r["too_few"])) for v, r in found]
        direction = DIRECTION_WORDS.get(str(found[0][1]["direction"]), "") if found else ""
        panels.append(Panel(f"{label} ({direction})", points))
    return panels


def _float(x: Any) -> float:
    return float(x) if finite(x) else math.nan
