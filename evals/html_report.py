"""One self-contained HTML file per run or comparison, for people to drill into.

The file opens without a network: CSS inline, plots as inline SVG, no script at all. Every text from
the data (customer messages, bot replies, explanations, even variant names) is escaped by Jinja2's
autoescape; only markup this package builds (the SVG plots, and `Section.html` from other report
code) is inserted as is, by the template's `|safe` on exactly those two.

    from evals import html_report
    html_report.write(result, Path("report.html"), title="nightly: wmt24_chat")
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from evals.aggregate import DEFAULT_MIN_N
from evals.history import History, history_from_dataset
from evals.results import EvalResult

TEMPLATES = Path(__file__).parent / "templates"
WORST_PER_METRIC = 5
SLICE_COLUMNS = ("language", "intent")


@dataclass(frozen=True)
class Section:
    """A section other report code adds (the business view, the cost–quality frontier).

    `html` is inserted as is: it must be markup built by code, with every data text already escaped
    (`html.escape`, or a Jinja2 template with autoescape)."""

    title: str
    html: str


def write(result: EvalResult, path: Path, *, title: str, comparison: pd.DataFrame | None = None,
          extra_sections: Sequence[Section] = (), worst_per_metric: int = WORST_PER_METRIC,
          history: History | None = None, sample: str = "") -> Path:
    """Write the report to `path` (its folder created if needed) and return the path.

    comparison: paired differences across runs (`evals.compare.pair`), shown beside the run's own.
    history: the conversation so far for the worst examples (evals.history); by default read from the
    run's dataset. sample: what `result`'s rows are when they are a sample of a larger run (its summary
    and differences are still the whole run's; evals/sharding/examples.py)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(result, title=title, comparison=comparison, extra_sections=extra_sections,
                           worst_per_metric=worst_per_metric, history=history, sample=sample), encoding="utf-8")
    return path


def slice_table(result: EvalResult, column: str) -> pd.DataFrame | None:
    """`evals.slices.slices` by a replies column, with the run's own aggregation settings; None when the
    column is absent or holds fewer than two values (nothing to slice)."""
    from evals.slices import slices

    if column not in result.replies or result.replies[column].dropna().nunique() < 2:
        return None
    agg = result.manifest.get("aggregate", {})
    return slices(result, column, n_boot=agg.get("n_boot", 1000), confidence=agg.get("confidence", 0.95),
                  seed=agg.get("seed", 0), min_n=agg.get("min_n", DEFAULT_MIN_N))


def render(result: EvalResult, *, title: str, comparison: pd.DataFrame | None = None,
           extra_sections: Sequence[Section] = (), worst_per_metric: int = WORST_PER_METRIC,
           history: History | None = None, sample: str = "") -> str:
    """The report as one HTML string."""
    import jinja2

    from evals.html import cells, examples, plots

    variants = result.variants
    summary = result.summary
    metric_records = result.metrics
    headline = cells.headline(summary)

    def forest(diffs: pd.DataFrame) -> dict[str, Any] | None:
        if diffs is None or diffs.empty:
            return None
        panels = cells.diff_panels(diffs)
        return {"rows": cells.diff_rows(diffs), "svg": plots.interval_svg(panels, zero_line=True) if panels else None}

    specs = {s.name: s for s in _specs(result)}
    sliced = []
    for column in SLICE_COLUMNS:
        frame = slice_table(result, column) if specs else None
        if frame is None:
            continue
        groups = [(value, cells.metric_rows(part, variants, metric_records, headline))
                  for value, part in frame.groupby("slice", sort=True)]
        sliced.append({"column": column, "groups": groups})
    single_values = {c: sorted(result.replies[c].dropna().unique().tolist()) for c in SLICE_COLUMNS
                     if c in result.replies and result.replies[c].dropna().nunique() == 1}
    if history is None and worst_per_metric > 0 and headline:
        history = history_from_dataset(result)
    worst = [{"metric": m, "label": label, "direction": cells.DIRECTION_WORDS.get(specs[m].direction, ""),
              "examples": examples.worst_examples(result, specs[m], worst_per_metric, history)}
             for m, label in headline if m in specs]
    metric_svg = None
    if headline:
        metric_svg = plots.interval_svg(cells.metric_panels(summary, variants), zero_line=False)
    context = {
        "title": title,
        "sample": sample,
        "manifest": result.manifest,
        "dataset": result.manifest.get("dataset", {}),
        "variants": variants,
        "baseline": result.baseline,
        "problems": result.problems,
        "min_n": result.manifest.get("aggregate", {}).get("min_n", DEFAULT_MIN_N),
        "metrics": cells.metric_rows(summary, variants, metric_records),
        "all_metrics": cells.metric_rows(summary, variants, metric_records, cells.all_metrics(summary))
        if not summary.empty else [],
        "metric_svg": metric_svg,
        "differences": forest(result.differences),
        "comparison": forest(comparison) if comparison is not None else None,
        "slices": sliced,
        "single_values": single_values,
        "confusion": examples.confusion(result.replies, variants),
        "confusion_rows": examples.CONFUSION_ROWS,
        "confusion_columns": examples.CONFUSION_COLUMNS,
        "worst": worst,
        "extra": [{"title": s.title, "id": _anchor(s.title, i), "html": s.html}
                  for i, s in enumerate(extra_sections)],
    }
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html").render(**context)


def _specs(result: EvalResult) -> list[Any]:
    """The run's metric specs; none for results written before ratio definitions were kept."""
    try:
        return result.metric_specs()
    except ValueError:
        return []


def _anchor(title: str, index: int) -> str:
    return f"extra-{index}-" + (re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "section")
