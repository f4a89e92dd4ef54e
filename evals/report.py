"""Summary -> what people read: a terminal comparison, a Markdown report and a plot."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from evals.aggregate import reply_stats  # noqa: E402

# The headline metrics, in the order people ask about them; higher is better unless noted.
HEADLINE = [
    ("escalation.f1", "hand-off F1"),
    ("escalation.missed_rate", "missed ↓"),
    ("escalation.premature_rate", "premature ↓"),
    ("accuracy.mean", "accuracy"),
    ("empathy.mean", "empathy"),
    ("judge_escalation.f1", "hand-off F1 (judge)"),
    ("judge_accuracy.mean", "accuracy (judge)"),
    ("judge_empathy.mean", "empathy (judge)"),
    ("judge_pairwise.mean", "win rate vs human (judge)"),
]


def fmt(value: float, low: float, high: float) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    ci = "" if math.isnan(low) else f" [{low:.2f}, {high:.2f}]"
    return f"{value:.2f}{ci}"


def _headline(summary: pd.DataFrame) -> list[tuple[str, str]]:
    """The known headline metrics present, else every scorer's mean (a scorer of your own)."""
    present = list(dict.fromkeys(summary["metric"]))
    known = [(m, label) for m, label in HEADLINE if m in present]
    return known or [(m, m.removesuffix(".mean")) for m in present if m.endswith(".mean")]


def _rows(summary: pd.DataFrame, replies: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Metrics as rows and variants as columns, so many metrics fit a narrow terminal."""
    variants = list(dict.fromkeys(summary["variant"]))
    by = summary.set_index(["variant", "metric"])
    rows = [[label, *(fmt(*by.loc[(v, metric), ["value", "ci_low", "ci_high"]]) for v in variants)]
            for metric, label in _headline(summary)]
    scorers = list(dict.fromkeys(summary["metric"].str.split(".").str[0]))
    unscored = summary.groupby(["variant", summary["metric"].str.split(".").str[0]])["unscored"].first()
    rows.append(["unscored", *(", ".join(f"{s} {unscored[(v, s)]}" for s in scorers if unscored[(v, s)])
                               or "0" for v in variants)])
    stats = reply_stats(replies).reindex(variants)
    rows.append(["errors", *(str(int(stats.loc[v, "errors"])) for v in variants)])
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
    return ("↓ lower is better (share of hand-offs missed / of non-hand-offs handed off); "
            "unscored: replies a scorer could not score (reasons in the per-reply table); "
            "errors: replies the variant failed to give (after retries)")


def print_comparison(summary: pd.DataFrame, replies: pd.DataFrame, console: Console) -> None:
    columns, rows = _rows(summary, replies)
    table = Table(title="Variants compared: estimate [95% CI, resampling whole conversations]",
                  caption=_caption())
    for name in columns:
        table.add_column(name, justify="left" if name == "metric" else "right")
    for cells in rows:
        table.add_row(*cells)
    console.print(table)


def _diff_rows(diffs: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Headline metrics as rows, each variant's difference from the baseline as a column."""
    variants = list(dict.fromkeys(diffs["variant"]))
    by = diffs.set_index(["variant", "metric"])
    present = set(diffs["metric"])
    rows = []
    for metric, label in HEADLINE:
        if metric not in present:
            continue
        cells = []
        for v in variants:
            r = by.loc[(v, metric)]
            text = "n/a" if pd.isna(r["diff"]) else f"{r['diff']:+.2f} [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}]"
            noise = r["within_noise"]
            cells.append(text + (" noise" if pd.notna(noise) and bool(noise) else ""))
        rows.append([label, *cells])
    return ["metric", *variants], rows


def print_differences(diffs: pd.DataFrame, console: Console) -> None:
    if diffs.empty:
        return
    columns, rows = _diff_rows(diffs)
    table = Table(title=f"Difference from {diffs['baseline'].iloc[0]} on the same conversations "
                        "[paired 95% CI]", caption="noise: the interval contains 0")
    for name in columns:
        table.add_column(name, justify="left" if name == "metric" else "right")
    for cells in rows:
        table.add_row(*cells)
    console.print(table)


def markdown(summary: pd.DataFrame, replies: pd.DataFrame, title: str, skipped: Sequence[str],
             diffs: pd.DataFrame | None = None) -> str:
    columns, rows = _rows(summary, replies)
    lines = [f"# {title}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    lines += ["", _caption() + ".", "",
              "Values are point estimates with 95% confidence intervals from resampling whole "
              "conversations. Unscored replies (NaN: no label, unsupported language, no reply) are "
              "counted per scorer and left out of that scorer's metrics only.", ""]
    if diffs is not None and not diffs.empty:
        columns, rows = _diff_rows(diffs)
        lines += [f"## Difference from {diffs['baseline'].iloc[0]} (paired, same conversations)", "",
                  "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(cells) + " |" for cells in rows]
        lines += ["", "Both variants are resampled with the same conversations, so a gap can be "
                  "beyond noise even where their separate intervals overlap; *noise* marks an "
                  "interval that contains 0.", ""]
    by_language = _language_slices(replies)
    if by_language is not None:
        lines += ["## By customer language", "", by_language.to_markdown(floatfmt=".2f"), ""]
    if skipped:
        lines += [f"## {len(skipped)} malformed rows skipped", ""] + [f"- {s}" for s in skipped] + [""]
    lines += ["## All metrics", "", summary.to_markdown(index=False, floatfmt=".3f"), ""]
    return "\n".join(lines)


def _language_slices(replies: pd.DataFrame) -> pd.DataFrame | None:
    scored = [c for c in ("escalation", "accuracy", "empathy") if c in replies.columns]
    if not scored or replies["language"].nunique() < 2:
        return None
    return replies.pivot_table(index="language", columns="variant", values=scored, aggfunc="mean")


def plot(summary: pd.DataFrame, path: Path) -> Path:
    """Headline metrics per variant as points with CI whiskers, one panel per metric."""
    headline = _headline(summary)
    columns = min(len(headline), 5)
    rows = -(-len(headline) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.0 * rows), squeeze=False)
    for ax in axes.flat[len(headline):]:
        ax.set_visible(False)
    variants = list(dict.fromkeys(summary["variant"]))
    for ax, (metric, label) in zip(axes.flat, headline):
        frame = summary[summary["metric"] == metric].set_index("variant").reindex(variants)
        y = range(len(variants))
        err = [(frame["value"] - frame["ci_low"]).clip(lower=0), (frame["ci_high"] - frame["value"]).clip(lower=0)]
        ax.errorbar(frame["value"], y, xerr=err, fmt="o", capsize=4)
        ax.set_yticks(list(y), variants)
        ax.set_xlim(-0.02, 1.02)
        ax.invert_yaxis()  # first variant on top, as in the table
        ax.set_title(label, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle("Variants compared (95% CI)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write(summary: pd.DataFrame, replies: pd.DataFrame, out: Path, title: str,
          skipped: Sequence[str] = (), diffs: pd.DataFrame | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    report = out / "report.md"
    report.write_text(markdown(summary, replies, title, skipped, diffs), encoding="utf-8")
    metrics = out / "metrics.csv"
    summary.to_csv(metrics, index=False)
    return [report, metrics, plot(summary, out / "metrics.png")]
