"""Pair two evaluated variants (of one run or of two runs) on the decision points both answered.

Everything here reads results folders (`EvalResult`), never MLflow: the metrics are recomputed from
each run's scores table with the metric definitions its manifest keeps.
"""

from __future__ import annotations

import pandas as pd

from evals.aggregate import DEFAULT_MAX_UNDEFINED, DEFAULT_MIN_N, paired_differences
from evals.errors import UserError
from evals.results import EvalResult


def pair(baseline: EvalResult, baseline_variant: str, candidate: EvalResult, candidate_variant: str, *,
         baseline_label: str | None = None, candidate_label: str | None = None, n_boot: int = 1000,
         confidence: float = 0.95, seed: int = 0, min_n: int = DEFAULT_MIN_N,
         max_undefined: float = DEFAULT_MAX_UNDEFINED) -> pd.DataFrame:
    """Candidate minus baseline for every metric both runs define, with a paired bootstrap CI over the
    conversations both answered (`evals.aggregate.DIFF_COLUMNS`; `variant` and `baseline` hold the labels,
    by default the variant names, or `<name>@2` when both sides have one name).

    Decision points are matched by `case_id`; only cases present on both sides are compared, so two runs
    on different samples compare on their overlap (its size is each row's `n`)."""
    for result, variant in ((baseline, baseline_variant), (candidate, candidate_variant)):
        if variant not in result.variants:
            raise UserError(f"no variant {variant!r} in these results (variants: {', '.join(result.variants)})")
    base_label = baseline_label or baseline_variant
    cand_label = candidate_label or (candidate_variant if candidate_variant != base_label else f"{candidate_variant}@2")
    theirs = {m["name"]: m for m in baseline.metrics}
    specs = [s for s in candidate.metric_specs() if s.name in theirs and _same(theirs[s.name], s.name, candidate)]
    base = baseline.scores[baseline.scores["variant"] == baseline_variant]
    cand = candidate.scores[candidate.scores["variant"] == candidate_variant]
    shared = set(base["case_id"]) & set(cand["case_id"])
    if not shared:
        raise UserError(f"{cand_label} and {base_label} share no decision point (case_id): nothing to pair")
    scores = pd.concat([base[base["case_id"].isin(shared)].assign(variant=base_label),
                        cand[cand["case_id"].isin(shared)].assign(variant=cand_label)], ignore_index=True)
    return paired_differences(scores, specs, base_label, n_boot=n_boot, confidence=confidence, seed=seed,
                              min_n=min_n, max_undefined=max_undefined)


def _same(definition: dict, name: str, candidate: EvalResult) -> bool:
    """A metric is comparable when both runs define it the same way (kind and ratio weights)."""
    mine = next(m for m in candidate.metrics if m["name"] == name)
    keys = ("kind", "numerator", "denominator")
    return all(definition.get(k) == mine.get(k) for k in keys)
