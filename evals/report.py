"""Summary -> what people read: a terminal comparison, a Markdown report and a plot."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from evals.aggregate import reply_stats

MOST_DIGITS = 6


def digits(intervals: Iterable[tuple[float, float]], least: int = 2) -> int:
    """Decimals for one row: the fewest (at least `least`) at which no interval of non-zero width
    prints as zero-width, so [0.026, 0.032] is not shown as [0.03, 0.03]; [1, 1] stays [1.00, 1.00]."""
    places = least
    for low, high in intervals:
        if not (_finite(low) and _finite(high)) or low == high:
            continue
        while places < MOST_DIGITS and f"{low:.{places}f}" == f"{high:.{places}f}":
            places += 1
    return places


def _finite(x: object) -> bool:
    return x is not None and not pd.isna(x) and math.isfinite(float(x))  # type: ignore[arg-type]


def fmt(value: float, low: float, high: float, places: int = 2, sign: str = "") -> str:
    """'0.73 [0.65, 0.80]'; 'n/a' without a value; the value alone without an interval."""
    if not _finite(value):
        return "n/a"
    ci = f" [{low:{sign}.{places}f}, {high:{sign}.{places}f}]" if _finite(low) and _finite(high) else ""
    return f"{value:{sign}.{places}f}{ci}"


def _cell(row: pd.Series, places: int, show_n: bool, sign: str = "", sep: str = " ") -> str:
    """One estimate as the table shows it: flagged when it rests on too few rows."""
    n = int(row.get("n", 0)) if _finite(row.get("n")) else 0
    if not _finite(row["value"]):
        return f"n/a (n={n})" if show_n or n == 0 else "n/a"
    value = f"{row['value']:{sign}.{places}f}"
    if bool(row.get("too_few", False)):
        return f"{value} too few (n={n})"
    if not _finite(row["ci_low"]):  # interval withheld: too many resamples without a denominator
        return f"{value} no CI (n={n})"
    text = fmt(row["value"], row["ci_low"], row["ci_high"], places, sign)
    return f"{text}{sep}n={n}" if show_n else text


def _metric_row(label: str, cells: Sequence[pd.Series], sign: str = "", sep: str = " ") -> list[str]:
    """Label and cells of one metric; n goes beside the label when every variant has the same n, else
    after each estimate (`sep` "\\n" puts it on its own line, so a terminal cell never wraps mid-interval)."""
    places = digits((c["ci_low"], c["ci_high"]) for c in cells if not bool(c.get("too_few", False)))
    counts = {int(c["n"]) for c in cells if "n" in c and _finite(c["n"])}
    shared_n = len(counts) == 1 and len(cells) > 1 and "n" in cells[0]
    if shared_n:
        label = f"{label} (n={counts.pop()})"
    return [label, *(_cell(c, places, show_n=not shared_n, sign=sign, sep=sep) for c in cells)]


def _headline(summary: pd.DataFrame) -> list[tuple[str, str]]:
    """(metric, label) of the metrics the scorers declare as headline (a `label`), in their order;
    without any, every mean."""
    if "label" in summary:
        labelled = summary[summary["label"].fillna("") != ""].drop_duplicates("metric")
        if not labelled.empty:
            return list(zip(labelled["metric"], labelled["label"]))
    present = list(dict.fromkeys(summary["metric"]))
    return [(m, m.removesuffix(".mean")) for m in present if m.endswith(".mean")]


def _rows(summary: pd.DataFrame, replies: pd.DataFrame, sep: str = " ",
          stats: pd.DataFrame | None = None) -> tuple[list[str], list[list[str]]]:
    """Metrics as rows and variants as columns, so many metrics fit a narrow terminal. `stats`: the
    variants' reply counts when `replies` are a sample (`aggregate.reply_stats` of every reply)."""
    variants = list(dict.fromkeys(summary["variant"]))
    by = summary.set_index(["variant", "metric"])
    rows = [_metric_row(label, [by.loc[(v, metric)] for v in variants], sep=sep)
            for metric, label in _headline(summary)]
    scorers = list(dict.fromkeys(summary["metric"].str.split(".").str[0]))
    unscored = summary.groupby(["variant", summary["metric"].str.split(".").str[0]])["unscored"].first()
    rows.append(["unscored", *(", ".join(f"{s} {unscored[(v, s)]}" for s in scorers if unscored[(v, s)])
                               or "0" for v in variants)])
    stats = (reply_stats(replies) if stats is None else stats).reindex(variants)
    rows.append(["errors", *(str(int(stats.loc[v, "errors"])) for v in variants)])
    if "language_mismatch" in stats:
        rows.append(["language mismatch", *(str(int(stats.loc[v, "language_mismatch"])) for v in variants)])
    rows.append(["latency p50", *(f"{stats.loc[v, 'latency_p50_s'] * 1000:.0f} ms" for v in variants)])
    if "cost_per_reply_usd" in stats and stats["cost_per_reply_usd"].notna().any():
        rows.append(["cost per reply", *(_usd(stats.loc[v, "cost_per_reply_usd"]) for v in variants)])
    if "cached" in stats and stats["cached"].any():
        rows.append(["from cache", *(str(int(stats.loc[v, "cached"])) for v in variants)])
    pii = [c for c in stats.columns if c.startswith("pii_")]
    if pii:
        rows.append(["PII redacted", *(str(int(stats.loc[v, pii].fillna(0).sum())) for v in variants)])
    return ["metric", *variants], rows


def _usd(value: float) -> str:
    return "n/a" if pd.isna(value) else f"${value:.5f}"


def _caption() -> str:
    return ("n: the rows a number rests on (scored replies; for hand-off rates the decision points in the "
            "rate's denominator); too few: n below aggregate.min_n, so no interval is given; no CI: too many "
            "resamples had nothing to divide by; ↓ lower is better (share of hand-offs missed / of "
            "non-hand-offs handed off); unscored: replies a scorer could not score (reasons in the per-reply "
            "table); errors: replies the variant failed to give (after retries); language mismatch: replies "
            "not in the language the dataset expects (scored in their own language)")


def print_comparison(summary: pd.DataFrame, replies: pd.DataFrame, console: Console,
                     stats: pd.DataFrame | None = None) -> None:
    columns, rows = _rows(summary, replies, sep="\n", stats=stats)
    table = Table(title="Variants compared: estimate [95% CI, resampling whole conversations]",
                  caption=_caption())
    for name in columns:
        table.add_column(name, justify="left" if name == "metric" else "right")
    for cells in rows:
        table.add_row(*cells)
    console.print(table)


def _diff_cell(row: pd.Series) -> pd.Series:
    return row.rename({"diff": "value"})


def _diff_rows(diffs: pd.DataFrame, sep: str = " ") -> tuple[list[str], list[list[str]]]:
    """Headline metrics as rows, each variant's difference from the baseline as a column."""
    variants = list(dict.fromkeys(diffs["variant"]))
    by = diffs.set_index(["variant", "metric"])
    rows = []
    for metric, label in _headline(diffs):
        cells = [_diff_cell(by.loc[(v, metric)]) for v in variants if (v, metric) in by.index]
        if len(cells) < len(variants):
            continue
        row = _metric_row(label, cells, sign="+", sep=sep)
        for i, c in enumerate(cells, start=1):
            if c["within_noise"] is not None and pd.notna(c["within_noise"]) and bool(c["within_noise"]):
                text, has_n, n = row[i].rpartition(sep + "n=") if sep + "n=" in row[i] else (row[i], "", "")
                row[i] = f"{text} noise{has_n}{n}"
        rows.append(row)
    return ["metric", *variants], rows


def baseline_warnings(diffs: pd.DataFrame) -> list[str]:
    """One line per metric compared with another variant than the baseline asked for, and why."""
    if diffs.empty or "fallback_from" not in diffs:
        return []
    moved = diffs[diffs["fallback_from"].notna()].drop_duplicates("metric")
    return [f"baseline {r.fallback_from}: {r.fallback_reason}, so {r.metric} is compared with {r.baseline} instead"
            for r in moved.itertuples()]


def _diff_tables(diffs: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(title, rows) per baseline actually used: the asked-for one, then each fallback."""
    tables = []
    for base, frame in diffs.groupby("baseline", sort=False):
        wanted = frame["fallback_from"].dropna() if "fallback_from" in frame else pd.Series(dtype=object)
        title = f"Difference from {base} on the same conversations [paired 95% CI]"
        if not wanted.empty:
            title = (f"Difference from {base}, standing in for baseline {wanted.iloc[0]} (not scorable), "
                     "on the same conversations [paired 95% CI]")
        tables.append((title, frame))
    return tables


def print_differences(diffs: pd.DataFrame, console: Console) -> None:
    if diffs.empty:
        return
    for line in baseline_warnings(diffs):
        console.print(f"[yellow]warning[/] {line}", highlight=False)
    for title, frame in _diff_tables(diffs):
        columns, rows = _diff_rows(frame, sep="\n")
        if not rows:
            continue
        table = Table(title=title, caption="noise: the interval contains 0; too few: n below aggregate.min_n, "
                                           "no verdict; n: rows behind the smaller side")
        for name in columns:
            table.add_column(name, justify="left" if name == "metric" else "right")
        for cells in rows:
            table.add_row(*cells)
        console.print(table)


def _md_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns),
            *("| " + " | ".join(cells) + " |" for cells in rows)]


def markdown(summary: pd.DataFrame, replies: pd.DataFrame, title: str, skipped: Sequence[str],
             diffs: pd.DataFrame | None = None, stats: pd.DataFrame | None = None, sample: str = "") -> str:
    columns, rows = _rows(summary, replies, stats=stats)
    lines = [f"# {title}", "", *_md_table(columns, rows)]
    lines += ["", _caption() + ".", "",
              "Values are point estimates with 95% confidence intervals from resampling whole "
              "conversations (see docs/metrics.md). Unscored replies (NaN: no label, unsupported language, "
              "no reply) are counted per scorer and left out of that scorer's metrics only.", ""]
    if diffs is not None and not diffs.empty:
        warned = baseline_warnings(diffs)
        if warned:
            lines += ["> **Warning:** " + line + "." for line in warned] + [""]
        for table_title, frame in _diff_tables(diffs):
            columns, rows = _diff_rows(frame)
            if rows:
                lines += [f"## {table_title.replace(' [paired 95% CI]', ' (paired 95% CI)')}", "",
                          *_md_table(columns, rows), ""]
        lines += ["Both variants are resampled with the same conversations, so a gap can be "
                  "beyond noise even where their separate intervals overlap; *noise* marks an "
                  "interval that contains 0, *too few* a difference resting on fewer than "
                  "aggregate.min_n rows (no verdict).", ""]
    by_language = _language_slices(replies)
    if by_language is not None:
        lines += ["## By customer language" + (f" (a sample: {sample})" if sample else ""), "",
                  by_language.to_markdown(floatfmt=".2f"), ""]
    if skipped:
        lines += [f"## {len(skipped)} malformed rows skipped", ""] + [f"- {s}" for s in skipped] + [""]
    lines += ["## All metrics", "", summary.to_markdown(index=False, floatfmt=".4f"), ""]
    return "\n".join(lines)


def description(summary: pd.DataFrame, replies: pd.DataFrame, diffs: pd.DataFrame | None = None,
                stats: pd.DataFrame | None = None) -> str:
    """The headline table in Markdown, for the MLflow run's description: what a reader sees first."""
    columns, rows = _rows(summary, replies, stats=stats)
    lines = ["Estimates with 95% CIs (resampling whole conversations) and n.", "", *_md_table(columns, rows)]
    warned = baseline_warnings(diffs) if diffs is not None and not diffs.empty else []
    lines += [""] + [f"> **Warning:** {line}." for line in warned] if warned else []
    return "\n".join(lines + ["", "Full report: the `report/` artifacts; every table: `results/` (docs/results.md)."])


def _language_slices(replies: pd.DataFrame) -> pd.DataFrame | None:
    scored = [c for c in ("escalation", "accuracy", "empathy") if c in replies.columns]
    if not scored or replies["language"].nunique() < 2:
        return None
    return replies.pivot_table(index="language", columns="variant", values=scored, aggfunc="mean")


def plot(summary: pd.DataFrame, path: Path) -> Path:
    """Headline metrics per variant as points with CI whiskers, one panel per metric.

    Each variant's label carries its n; a too-few estimate is a hollow grey point without
    whiskers, labelled so, because its interval is not to be read."""
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt
    headline = _headline(summary)
    columns = min(len(headline), 5)
    rows = -(-len(headline) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.4 * columns, 3.0 * rows), squeeze=False)
    for ax in axes.flat[len(headline):]:
        ax.set_visible(False)
    variants = list(dict.fromkeys(summary["variant"]))
    for ax, (metric, label) in zip(axes.flat, headline):
        frame = summary[summary["metric"] == metric].set_index("variant").reindex(variants)
        few = frame["too_few"].fillna(True).astype(bool) if "too_few" in frame else pd.Series(False, frame.index)
        y = pd.Series(range(len(variants)), index=variants)
        sure = frame[~few]
        err = [(sure["value"] - sure["ci_low"]).clip(lower=0), (sure["ci_high"] - sure["value"]).clip(lower=0)]
        ax.errorbar(sure["value"], y[~few], xerr=err, fmt="o", capsize=4)
        ax.plot(frame.loc[few, "value"], y[few], "o", mfc="none", color="grey")
        ticks = [f"{v}\n(n={_n(frame.loc[v])}{', too few' if few[v] else ''})" for v in variants]
        ax.set_yticks(list(y), ticks, fontsize=8)
        ax.set_xlim(-0.02, 1.02)
        ax.invert_yaxis()  # first variant on top, as in the table
        ax.set_title(label + (" — too few marked" if few.any() else ""), fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle("Variants compared (95% CI; hollow grey: too few rows for an interval)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _n(row: pd.Series) -> str:
    return str(int(row["n"])) if "n" in row and _finite(row["n"]) else "?"


def write(summary: pd.DataFrame, replies: pd.DataFrame, out: Path, title: str,
          skipped: Sequence[str] = (), diffs: pd.DataFrame | None = None, stats: pd.DataFrame | None = None,
          sample: str = "") -> list[Path]:
    """report.md, metrics.csv and metrics.png in `out`. `stats` and `sample` as for a sampled run (see
    evals/sharding/examples.py): the counts of every reply, and what the sample is."""
    out.mkdir(parents=True, exist_ok=True)
    report = out / "report.md"
    report.write_text(markdown(summary, replies, title, skipped, diffs, stats, sample), encoding="utf-8")
    metrics = out / "metrics.csv"
    summary.to_csv(metrics, index=False)
    return [report, metrics, plot(summary, out / "metrics.png")]
