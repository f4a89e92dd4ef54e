"""An agreement result -> what is logged: metric names, tags, and the files (CSV, Markdown)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from evals.agreement import LEFT_OUT_REASONS, AgreementResult, Requirement
from evals.labels import LEVEL, Labels


def metrics_of(result: AgreementResult) -> dict[str, float]:
    """`<scorer>.<criterion>.<statistic>` with `_ci_low`/`_ci_high`, `.n` and `.left_out`."""
    metrics: dict[str, float] = {}
    for row in result.table.itertuples():
        name = f"{row.scorer}.{row.criterion}.{row.statistic}"
        metrics[name] = row.value
        metrics[f"{name}_ci_low"] = row.ci_low
        metrics[f"{name}_ci_high"] = row.ci_high
    for (scorer, criterion), table in result.confusion.items():
        metrics[f"{scorer}.{criterion}.n"] = float(table.to_numpy().sum())
    for (scorer, criterion), group in result.left_out.groupby(["scorer", "criterion"], sort=False):
        metrics[f"{scorer}.{criterion}.left_out"] = float(group.replies.sum())
    return {k: float(v) for k, v in metrics.items() if pd.notna(v)}


def tags_of(result: AgreementResult, labels: Labels, evaluated_run_id: str,
            requirements: Sequence[Requirement] = ()) -> dict[str, str]:
    tags = {"evaluated_run_id": evaluated_run_id, "labels.file": Path(labels.path).name,
            "labels.sha256": labels.sha256, "labels.rows": str(len(labels.frame)),
            "labels.reviewers": str(len(labels.reviewers)), "bootstrap": str(result.n_boot),
            "seed": str(result.seed)}
    for scorer, criterion in result.pairs.items():
        tags[f"map.{scorer}"] = criterion
        tags[f"scorer_version.{scorer}"] = result.versions[scorer]
        if scorer in result.sources:
            tags[f"scorer_source.{scorer}"] = result.sources[scorer]
    for req in requirements:
        tags[f"trusted.{req.scorer}"] = "true" if req.trusted else "false"
        tags[f"required_kappa.{req.scorer}"] = f"{req.minimum:g}"
    return tags


def write_files(result: AgreementResult, folder: Path, labels: Labels, evaluated_run_id: str,
                requirements: Sequence[Requirement] = ()) -> Path:
    """agreement.csv, confusion/<scorer>_<criterion>.csv and agreement.md under `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    result.table.to_csv(folder / "agreement.csv", index=False)
    (folder / "confusion").mkdir(exist_ok=True)
    for (scorer, criterion), table in result.confusion.items():
        table.to_csv(folder / "confusion" / f"{scorer}_{criterion}.csv")
    (folder / "agreement.md").write_text(markdown(result, labels, evaluated_run_id, requirements),
                                         encoding="utf-8")
    return folder


def _fmt(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.3f}"


STAT_TITLES = {
    "kappa": "Cohen's kappa vs consensus",
    "alpha": "Krippendorff's alpha, reviewers + scorer",
    "alpha_humans": "Krippendorff's alpha, reviewers alone",
    "spearman": "Spearman's rho vs consensus",
    "exact": "exact agreement with consensus",
    "within_one": "agreement within one point",
}


def markdown(result: AgreementResult, labels: Labels, evaluated_run_id: str,
             requirements: Sequence[Requirement] = ()) -> str:
    lines = [
        "# Agreement of scorers with human labels", "",
        f"Evaluated run `{evaluated_run_id}`; labels `{Path(labels.path).name}` "
        f"(sha256 `{labels.sha256[:16]}…`, {len(labels.frame)} rows, "
        f"{len(labels.reviewers)} reviewers). 95% percentile-bootstrap CIs from {result.n_boot} "
        f"resamples of replies (seed {result.seed}). "
        "Kappa is quadratic-weighted on the 1-5 criteria and unweighted on escalation; "
        "consensus is the reviewers' lower median (1-5) or majority (escalation). "
        "See docs/agreement.md for how to read these numbers.", "",
    ]
    for (scorer, criterion), table in result.confusion.items():
        source = result.sources.get(scorer, "")
        how = ("its own labels" if source == "label" else
               "value mapped to 1-5 as round(1 + 4 × value)") if LEVEL[criterion] == "ordinal" \
            else "its escalation labels"
        lines += [f"## {scorer} vs human {criterion}", "",
                  f"Scorer version: {result.versions[scorer]}; verdicts from {how}; "
                  f"{result.reviewers.get((scorer, criterion), 0)} reviewers on the compared "
                  "replies.", "",
                  "| statistic | value | 95% CI | n |", "|---|---|---|---|"]
        mine = result.table[(result.table.scorer == scorer) & (result.table.criterion == criterion)]
        for row in mine.itertuples():
            lines.append(f"| {STAT_TITLES[row.statistic]} | {_fmt(row.value)} | "
                         f"[{_fmt(row.ci_low)}, {_fmt(row.ci_high)}] | {row.n} |")
        gone = result.left_out[(result.left_out.scorer == scorer)
                               & (result.left_out.criterion == criterion)]
        labelled = result.labelled.get((scorer, criterion), 0)
        lines += ["", f"{labelled} replies have a human {criterion} label; left out: "
                  + ("; ".join(f"{r.replies} — {LEFT_OUT_REASONS[r.reason]}"
                               for r in gone.itertuples() if r.replies) or "none") + ".", "",
                  "Confusion (rows: scorer, columns: human consensus):", "",
                  "| scorer \\ consensus | " + " | ".join(table.columns) + " |",
                  "|---" * (len(table.columns) + 1) + "|"]
        for label, counts in table.iterrows():
            lines.append(f"| {label} | " + " | ".join(str(int(v)) for v in counts) + " |")
        lines.append("")
    if requirements:
        lines += ["## Required agreement", ""]
        lines += [f"- {'trusted' if r.trusted else 'NOT trusted'}: {r}" for r in requirements]
        lines.append("")
    if result.notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in result.notes] + [""]
    return "\n".join(lines)
