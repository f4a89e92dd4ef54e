"""Metrics per slice of the decision points: by language, intent, channel or any column of replies.parquet.

Each slice's metrics are the run's own metric definitions (`EvalResult.metric_specs()`) recomputed on
that slice's scores with `evals.aggregate.summarise`: the same estimate, n and conversation-level CI as
the whole run has. A slice resting on fewer than `min_n` rows is flagged "too few" and not ranked; of the
others, the worst slice per variant and metric is named, by the metric's declared direction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evals.aggregate import DEFAULT_MIN_N, summarise
from evals.errors import UserError
from evals.results import EvalResult

MISSING = "(missing)"  # the slice of rows with no value in the column
MAX_SLICES = 50  # more distinct values than this is an identifier or a measurement, not a slice

SLICE_COLUMNS = ["by", "slice", "variant", "metric", "value", "ci_low", "ci_high", "n", "too_few", "unscored",
                 "undefined_share", "direction", "label", "rank", "worst"]


def slices(result: EvalResult, by: str, *, n_boot: int = 1000, confidence: float = 0.95, seed: int = 0,
           min_n: int = DEFAULT_MIN_N) -> pd.DataFrame:
    """One row per (slice, variant, metric) with value, CI and n (SLICE_COLUMNS).

    `rank` is 1 for the worst slice of a (variant, metric) among the slices with enough rows and a
    value (NA for the others and for metrics where neither direction is better; equal values share a
    rank); `worst` marks the rank-1 slices when another ranked slice did better."""
    replies = result.replies
    if by not in replies.columns:
        raise UserError(f"--by {by}: no column {by!r} in replies.parquet (columns: {', '.join(replies.columns)})")
    values = replies[by].astype(object).where(replies[by].notna(), MISSING).astype(str)
    if values.nunique() > MAX_SLICES:
        raise UserError(f"--by {by}: {values.nunique()} distinct values; slice by a column with at most "
                        f"{MAX_SLICES} (e.g. language, intent, channel)")
    keys = pd.DataFrame({"variant": replies["variant"], "case_id": replies["case_id"], "slice": values})
    scores = result.scores.merge(keys, on=["variant", "case_id"], how="left")
    scores["slice"] = scores["slice"].fillna(MISSING)
    specs = result.metric_specs()
    frames = [summarise(rows.drop(columns="slice"), specs, n_boot=n_boot, confidence=confidence, seed=seed,
                        min_n=min_n).assign(by=by, slice=value)
              for value, rows in scores.groupby("slice", sort=True)]
    if not frames:
        return pd.DataFrame(columns=SLICE_COLUMNS)
    table = pd.concat(frames, ignore_index=True)
    table["rank"] = _ranks(table)
    # Named only when it is worse than another ranked slice: among equals there is no worst.
    ranked = table["value"].where(table["rank"].notna())
    spread = ranked.groupby([table["variant"], table["metric"]]).transform("nunique")
    table["worst"] = (table["rank"] == 1).fillna(False).astype(bool) & (spread >= 2)
    return table[SLICE_COLUMNS]


def _ranks(table: pd.DataFrame) -> pd.Series:
    """1 = worst, per (variant, metric), over slices with enough rows and a value; NA for the rest."""
    worse_first = table["value"].where(table["direction"] == "higher", -table["value"])
    rankable = ~table["too_few"].astype(bool) & np.isfinite(table["value"]) & table["direction"].isin(
        ["higher", "lower"])
    ranks = worse_first.where(rankable).groupby([table["variant"], table["metric"]]).rank(method="min")
    return ranks.astype("Int64")


def worst_slices(table: pd.DataFrame) -> pd.DataFrame:
    """The named worst slice per (variant, metric) of a `slices` table."""
    return table[table["worst"]].reset_index(drop=True)
