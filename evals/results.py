"""An evaluation's results as one folder: Parquet tables and a small JSON manifest.

Every later step (`agree`, the release gate, the labelling page, the report) reads this format,
never MLflow column names. The folder is logged to MLflow as the `results/` artifact of the parent
run, and can be copied, shared or loaded with `EvalResult.load(folder)`:

    manifest.json        format, harness version, when, the config (secrets redacted), the dataset
                         (name, source, digest, counts, skipped rows), the variants and the baseline,
                         each scorer's version, each metric's definition (name, scorer, kind, direction,
                         what n counts, report label), the aggregation settings and the error budget
    replies.parquet      one row per (variant, decision point): the inquiry, the human reference and the
                         reply (texts redacted when `redacted_text` is true), what the reply did,
                         latency, tokens, cost, error
    scores.parquet       one row per (variant, decision point, score): value (NaN = unscored), label,
                         explanation, version
    summary.parquet      one row per (variant, metric): value, ci_low, ci_high, n, too_few, unscored,
                         undefined_share
    differences.parquet  one row per (variant, metric) against the baseline, paired by conversation

See docs/results.md for every column.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from evals.aggregate import MetricSpec, specs_from
from evals.errors import UserError

FORMAT = 1
TABLES = ("replies", "scores", "summary", "differences")
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class EvalResult:
    """What one evaluation found. Tables are pandas frames; `manifest` is plain JSON data."""

    replies: pd.DataFrame
    scores: pd.DataFrame
    summary: pd.DataFrame
    differences: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)

    # --- reading ------------------------------------------------------------------------------
    @property
    def variants(self) -> list[str]:
        return list(self.manifest.get("variants") or dict.fromkeys(self.replies["variant"]))

    @property
    def baseline(self) -> str | None:
        return self.manifest.get("baseline")

    @property
    def metrics(self) -> list[dict[str, Any]]:
        """Metric definitions: name, scorer, kind (mean/ratio), direction, counts, label; a ratio's
        `numerator` and `denominator` label weights."""
        return list(self.manifest.get("metrics", []))

    def metric_specs(self) -> list[MetricSpec]:
        """The metrics as `evals.aggregate` computes them, from the manifest alone: to recompute a
        summary or a paired difference on other rows (another run, a slice) without the scorers."""
        return specs_from(self.metrics)

    @property
    def scorer_versions(self) -> dict[str, str]:
        return dict(self.manifest.get("scorers", {}))

    def version_of(self, scorer: str) -> str:
        """A score's version: the manifest's (a companion score has its scorer's), else what its rows say."""
        found = version_in(scorer, self.scorer_versions)
        if found is None:
            found = ",".join(sorted({str(v) for v in self.scores_of(scorer)["version"].dropna()})) or None
        return found or "offline"

    @property
    def problems(self) -> list[str]:
        """What makes this run unfit to decide on (error budget exceeded), in words; [] if none."""
        return list(self.manifest.get("problems", []))

    def scores_of(self, scorer: str) -> pd.DataFrame:
        """One scorer's rows of `scores`, keyed by (case_id, variant)."""
        return self.scores[self.scores["scorer"] == scorer].reset_index(drop=True)

    def wide(self) -> pd.DataFrame:
        """`replies` with each score as columns NAME, NAME_label, NAME_explanation (NAME_version when the
        scorer has one): the per-reply table people browse in MLflow and in the report."""
        table = self.replies.copy()
        index = {key: i for i, key in enumerate(zip(table["variant"], table["case_id"]))}
        for scorer, rows in self.scores.groupby("scorer", sort=False):
            at = [index[k] for k in zip(rows["variant"], rows["case_id"])]
            table.loc[at, scorer] = rows["value"].to_numpy()
            table.loc[at, f"{scorer}_label"] = rows["label"].to_numpy()
            table.loc[at, f"{scorer}_explanation"] = rows["explanation"].to_numpy()
            if rows["version"].notna().any():
                table.loc[at, f"{scorer}_version"] = rows["version"].to_numpy()
        return table

    # --- the folder ---------------------------------------------------------------------------
    def save(self, folder: str | Path) -> list[Path]:
        """Write the folder (created if needed); returns the files written."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        files = []
        for name in TABLES:
            path = out / f"{name}.parquet"
            getattr(self, name).to_parquet(path, index=False)
            files.append(path)
        path = out / MANIFEST
        path.write_text(json.dumps({"format": FORMAT, **self.manifest}, indent=2, default=str) + "\n",
                        encoding="utf-8")
        files.append(path)
        return files

    @classmethod
    def load(cls, folder: str | Path, conversations: Collection[str] | None = None) -> EvalResult:
        """Read a results folder; a missing or foreign one is a one-line UserError. With `conversations`,
        only their replies and scores are read (filtered row group by row group, in the folder's order), so
        a sample of a large run fits in memory; the summary and differences are always the whole run's."""
        root = Path(folder)
        manifest_path = root / MANIFEST
        if not manifest_path.is_file():
            raise UserError(f"{root}: not a results folder (no {MANIFEST}; give the folder `chatbot-evals run` "
                            "wrote, or the run id)")
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(f"{manifest_path}: unreadable ({exc})") from None
        if manifest.get("format") != FORMAT:
            raise UserError(f"{manifest_path}: results format {manifest.get('format')!r}, this version reads "
                            f"format {FORMAT}")
        tables = {}
        for name in TABLES:
            path = root / f"{name}.parquet"
            if not path.is_file():
                raise UserError(f"{path}: missing from the results folder")
            tables[name] = pd.read_parquet(path, **_only(name, conversations, tables))
        manifest.pop("format")
        return cls(manifest=manifest, **tables)


def _only(table: str, conversations: Collection[str] | None, read: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
    """read_parquet's filter for one table of a sampled load: replies by conversation, scores by the cases read."""
    if conversations is None or table not in ("replies", "scores"):
        return {}
    if table == "replies":
        return {"filters": [("conversation_id", "in", list(conversations))]}
    return {"filters": [("case_id", "in", read["replies"]["case_id"].unique().tolist())]}


def version_in(scorer: str, versions: Mapping[str, str]) -> str | None:
    """A score's version in a manifest's `scorers`; a companion score (`judge_empathy_agreement`) has the
    version of the longest scorer name it extends; None when neither is there."""
    if scorer in versions:
        return versions[scorer]
    owner = max((name for name in versions if scorer.startswith(f"{name}_")), key=len, default=None)
    return versions[owner] if owner else None


def scores_frame(scores: Sequence[Any], conversation_of: Mapping[str, str]) -> pd.DataFrame:
    """`evals.types.Score` objects -> the long scores table."""
    return pd.DataFrame({
        "variant": pd.Series([s.variant for s in scores], dtype=object),
        "case_id": pd.Series([s.case_id for s in scores], dtype=object),
        "conversation_id": pd.Series([conversation_of[s.case_id] for s in scores], dtype=object),
        "scorer": pd.Series([s.scorer for s in scores], dtype=object),
        "value": pd.Series([s.value for s in scores], dtype=float),
        "label": pd.Series([s.label for s in scores], dtype=object),
        "explanation": pd.Series([s.explanation for s in scores], dtype=object),
        "version": pd.Series([s.version for s in scores], dtype=object),
    })
