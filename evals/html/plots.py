"""Estimates with intervals as inline SVG: one panel per metric, one row per variant.

matplotlib writes text as paths (svg.fonttype "path"), so the SVG needs no font and no network; its
<metadata> block (links to licence vocabularies) is dropped. Labels are the project's own metric and
variant names, never customer text, and matplotlib escapes what it writes into the SVG anyway.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

# Colours readable by people with the commonest colour-vision deficiencies (Okabe-Ito).
BETTER, WORSE, NEUTRAL, FAINT = "#009E73", "#D55E00", "#0072B2", "#999999"


@dataclass(frozen=True)
class Point:
    """One row of a panel: an estimate, its interval (NaN: none to show) and how to draw it."""

    name: str  # the row's label: a variant, with its n
    value: float
    low: float
    high: float
    colour: str = NEUTRAL
    hollow: bool = False  # too few rows: the point stands, its interval is not to be read


@dataclass(frozen=True)
class Panel:
    title: str
    points: Sequence[Point]


def interval_svg(panels: Sequence[Panel], *, zero_line: bool) -> str:
    """The panels stacked, as one <svg> element to inline in a page (its legend is the page's caption)."""
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    heights = [0.5 + 0.35 * max(len(p.points), 1) for p in panels]
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "evals-report"}):
        fig, axes = plt.subplots(len(panels), 1, figsize=(7.0, sum(heights) + 0.3), squeeze=False,
                                 gridspec_kw={"height_ratios": heights})
        for ax, panel in zip(axes[:, 0], panels):
            _draw(ax, panel, zero_line)
        fig.tight_layout()
        out = io.StringIO()
        fig.savefig(out, format="svg")
        plt.close(fig)
    svg = out.getvalue()
    svg = svg[svg.index("<svg"):]  # no XML declaration or doctype inside an HTML page
    return re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)


def _draw(ax, panel: Panel, zero_line: bool) -> None:  # noqa: ANN001 (matplotlib Axes)
    rows = list(panel.points)
    for y, p in enumerate(rows):
        if not _finite(p.value):
            continue
        has_interval = not p.hollow and _finite(p.low) and _finite(p.high)
        if has_interval:
            ax.errorbar([p.value], [y], xerr=[[max(p.value - p.low, 0)], [max(p.high - p.value, 0)]], fmt="o",
                        color=p.colour, capsize=4)
        else:
            ax.plot([p.value], [y], "o", mfc="none", color=FAINT if p.hollow else p.colour)
    if zero_line:
        ax.axvline(0, color="#333333", linewidth=0.8, linestyle="--")
    ax.set_yticks(range(len(rows)), [p.name for p in rows], fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)  # first variant on top, as in the tables
    ax.set_title(panel.title, fontsize=9, loc="left")
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", alpha=0.3)


def _finite(x: float | None) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)
