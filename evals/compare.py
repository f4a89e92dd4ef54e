"""Pair two evaluated variants (of one run or of two runs) on the decision points both answered.

Everything here reads results folders (`EvalResult`), never MLflow: the metrics are recomputed from
each run's scores table with the metric definitions its manifest keeps.

`pair` gives the paired differences with their CIs; `compare` adds what a decision needs
(docs/compare.md): a p-value per metric from the same paired bootstrap, Holm's correction across
the metrics compared at once, the smallest difference the sample could have detected, McNemar's
exact test on the hand-off decisions, the replies that got better and worse, and scorer versions
that changed between the runs (a changed scorer is not a changed bot).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# p-values and standard errors come from the very resamples behind `paired_differences`' intervals.
from evals.aggregate import DEFAULT_MAX_UNDEFINED, DEFAULT_MIN_N, MetricSpec, paired_differences, paired_draws
from evals.errors import UserError
from evals.results import EvalResult
from evals.scorers.escalation import CORRECT_CONTAINMENT, CORRECT_HANDOFF, MISSED, PREMATURE

HANDOFF_RIGHT = frozenset({CORRECT_HANDOFF, CORRECT_CONTAINMENT})
HANDOFF_WRONG = frozenset({MISSED, PREMATURE})
POWER = 0.8  # the minimum detectable difference is the one found this often at the corrected alpha


def pair(baseline: EvalResult, baseline_variant: str, candidate: EvalResult, candidate_variant: str, *,
         baseline_label: str | None = None, candidate_label: str | None = None, n_boot: int = 1000,
         confidence: float = 0.95, seed: int = 0, min_n: int = DEFAULT_MIN_N,
         max_undefined: float = DEFAULT_MAX_UNDEFINED) -> pd.DataFrame:
    """Candidate minus baseline for every metric both runs define, with a paired bootstrap CI over the
    conversations both answered (`evals.aggregate.DIFF_COLUMNS`; `variant` and `baseline` hold the labels,
    by default the variant names, or `<name>@2` when both sides have one name).

    Decision points are matched by `case_id`; only cases present on both sides are compared, so two runs
    on different samples compare on their overlap (its size is each row's `n`)."""
    scores, specs, base_label, _ = _paired_scores(baseline, baseline_variant, candidate, candidate_variant,
                                                  baseline_label, candidate_label)
    return paired_differences(scores, specs, base_label, n_boot=n_boot, confidence=confidence, seed=seed,
                              min_n=min_n, max_undefined=max_undefined)


def _paired_scores(baseline: EvalResult, baseline_variant: str, candidate: EvalResult, candidate_variant: str,
                   baseline_label: str | None, candidate_label: str | None
                   ) -> tuple[pd.DataFrame, list[MetricSpec], str, str]:
    """Both sides' score rows on their shared decision points (variant = the side's label), and the
    metrics both define the same way."""
    for result, variant in ((baseline, baseline_variant), (candidate, candidate_variant)):
        if variant not in result.variants:
            raise UserError(f"no variant {variant!r} in these results (variants: {', '.join(result.variants)})")
    base_label = baseline_label or baseline_variant
    cand_label = candidate_label or (candidate_variant if candidate_variant != base_label else f"{candidate_variant}@2")
    if cand_label == base_label:
        raise UserError(f"both sides are labelled {base_label!r}: give them different labels")
    theirs = {m["name"]: m for m in baseline.metrics}
    try:
        mine = candidate.metric_specs()
    except ValueError as exc:  # results written before the metric definitions were kept
        raise UserError(f"{cand_label}: {exc}") from None
    specs = [s for s in mine if s.name in theirs and _same(theirs[s.name], s.name, candidate)]
    base = baseline.scores[baseline.scores["variant"] == baseline_variant]
    cand = candidate.scores[candidate.scores["variant"] == candidate_variant]
    shared = set(base["case_id"]) & set(cand["case_id"])
    if not shared:
        raise UserError(f"{cand_label} and {base_label} share no decision point (case_id): nothing to pair")
    scores = pd.concat([base[base["case_id"].isin(shared)].assign(variant=base_label),
                        cand[cand["case_id"].isin(shared)].assign(variant=cand_label)], ignore_index=True)
    return scores, specs, base_label, cand_label


def _same(definition: dict, name: str, candidate: EvalResult) -> bool:
    """A metric is comparable when both runs define it the same way (kind and ratio weights)."""
    mine = next(m for m in candidate.metrics if m["name"] == name)
    keys = ("kind", "numerator", "denominator")
    return all(definition.get(k) == mine.get(k) for k in keys)


# --- the whole comparison -----------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One variant of one evaluated run, as compared: `label` names it in tables (unique per comparison)."""

    label: str
    result: EvalResult
    variant: str
    reference: str = ""  # what the user typed, for the legend
    run_id: str | None = None


@dataclass(frozen=True)
class HandoffTest:
    """McNemar's exact test on one hand-off scorer's decisions, paired by decision point (case_id).

    b: right for the baseline, wrong for the candidate; c: wrong for the baseline, right for the
    candidate. p: two-sided exact binomial test of b against b + c at 1/2 (1.0 when b + c = 0)."""

    scorer: str
    n: int  # decision points with a hand-off label on both sides
    both_right: int
    b: int
    c: int
    both_wrong: int
    p_value: float


COMPARISON_COLUMNS = [
    "baseline", "candidate", "metric", "label", "direction", "diff", "ci_low", "ci_high", "n", "too_few",
    "se", "p_value", "p_holm", "significant", "mdd", "verdict", "scorer", "scorer_changed",
    "baseline_version", "candidate_version", "note"]

CHANGE_COLUMNS = ["baseline", "candidate", "scorer", "outcome", "case_id", "conversation_id", "baseline_value",
                  "candidate_value", "change", "baseline_label", "candidate_label"]


@dataclass(frozen=True)
class PairComparison:
    """Candidate against baseline. `metrics`: COMPARISON_COLUMNS, one row per metric both define;
    `changes`: the replies that got most better and worse per score (CHANGE_COLUMNS); `counts`: per
    score, how many replies got better, worse, stayed, were changed (direction "neither")."""

    baseline: Side
    candidate: Side
    metrics: pd.DataFrame
    handoff: list[HandoffTest]
    changes: pd.DataFrame
    counts: pd.DataFrame
    family: int  # metrics in the Holm correction
    notes: list[str] = field(default_factory=list)  # what to keep in mind reading it (scorers, data)


def compare(baseline: Side, candidate: Side, *, n_boot: int = 1000, confidence: float = 0.95, seed: int = 0,
            min_n: int = DEFAULT_MIN_N, max_undefined: float = DEFAULT_MAX_UNDEFINED, alpha: float = 0.05,
            metrics: Sequence[str] | None = None, top: int = 5) -> PairComparison:
    """Everything `chatbot-evals compare` reports on one pair (see the module docstring).

    `metrics` limits the comparison (the correction's family, the hand-off test and the reply level) to
    these metric names and their scorers."""
    scores, specs, base, cand = _paired_scores(baseline.result, baseline.variant, candidate.result,
                                               candidate.variant, baseline.label, candidate.label)
    if metrics:
        unknown = sorted(set(metrics) - {s.name for s in specs})
        if unknown:
            raise UserError(f"--metric {unknown[0]}: not a metric both sides define "
                            f"(metrics: {', '.join(s.name for s in specs)})")
        specs = [s for s in specs if s.name in set(metrics)]
    if not specs:
        raise UserError(f"{cand} and {base} define no metric the same way: nothing to compare")
    diffs = paired_differences(scores, specs, base, n_boot=n_boot, confidence=confidence, seed=seed,
                               min_n=min_n, max_undefined=max_undefined)
    stats = paired_draws(scores, specs, base, cand, n_boot, seed)
    table = _tested(diffs, specs, stats, base, cand, alpha)
    versions_b, versions_c = baseline.result.scorer_versions, candidate.result.scorer_versions
    table["baseline_version"] = table["scorer"].map(versions_b)
    table["candidate_version"] = table["scorer"].map(versions_c)
    table["scorer_changed"] = [bool(pd.notna(b) and pd.notna(c) and b != c)
                               for b, c in zip(table["baseline_version"], table["candidate_version"])]
    if metrics:  # the hand-off test and the reply level too: only the chosen metrics' scorers
        scores = scores[scores["scorer"].isin({s.scorer for s in specs})]
    base_rows, cand_rows = scores[scores["variant"] == base], scores[scores["variant"] == cand]
    changes, counts = reply_changes(base_rows, cand_rows, _directions(specs, scores), top)
    family = int(table["p_value"].notna().sum())
    return PairComparison(baseline, candidate, table[COMPARISON_COLUMNS], handoff_tests(base_rows, cand_rows),
                          changes.assign(baseline=base, candidate=cand)[CHANGE_COLUMNS],
                          counts.assign(baseline=base, candidate=cand), family,
                          _notes(baseline, candidate, table, scores, n_boot, alpha, family))


def compare_all(sides: Sequence[Side], **options) -> list[PairComparison]:
    """Every side after the first against the first (the baseline); options as in `compare`."""
    if len(sides) < 2:
        raise UserError("compare needs two or more variants: give two results, or one with several variants")
    return [compare(sides[0], side, **options) for side in sides[1:]]


def sides_of(located: Sequence) -> list[Side]:
    """`evals.locate.Located` references -> the sides to compare, the baseline first.

    A reference with `#variant` is that variant; without, every variant of its results, the run's
    own baseline first (so one run with several variants compares them all with its baseline).
    Labels are variant names, with `@<position of the reference>` when two sides share a name."""
    chosen = []
    for position, where in enumerate(located, start=1):
        variants = where.variants()
        if where.variant is None and where.result.baseline in variants:
            variants = [where.result.baseline, *(v for v in variants if v != where.result.baseline)]
        chosen += [(position, where, v) for v in variants]
    names = [v for _, _, v in chosen]
    sides = []
    for position, where, variant in chosen:
        label = variant if names.count(variant) == 1 else f"{variant}@{position}"
        sides.append(Side(label, where.result, variant, where.reference, where.run_id))
    return sides


def bootstrap_p(stats: np.ndarray) -> float:
    """Two-sided p-value of "no difference" from a bootstrap distribution of a difference: twice the
    smaller share of resamples on either side of 0 (ties count on both sides), with the +1 that keeps
    it above 0: p = min(1, 2 (1 + min(#≤0, #≥0)) / (1 + B)). The smallest p is 2 / (1 + B)."""
    defined = stats[np.isfinite(stats)]
    if len(defined) < 2:
        return float("nan")
    below, above = int((defined <= 0).sum()), int((defined >= 0).sum())
    return min(1.0, 2.0 * (1 + min(below, above)) / (1 + len(defined)))


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (NaN stays NaN and is not counted in the family)."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(len(p), np.nan)
    tested = np.flatnonzero(np.isfinite(p))
    m = len(tested)
    running = 0.0
    for rank, i in enumerate(tested[np.argsort(p[tested], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[i]))  # monotone: never below an earlier one
        adjusted[i] = running
    return adjusted


def detectable(se: float, alpha: float, family: int, power: float = POWER) -> float:
    """The smallest true difference found with probability `power` by a two-sided test at the Bonferroni
    level alpha / family (the strictest level Holm applies): (z[1 - alpha / 2m] + z[power]) x SE;
    2.80 x SE for one metric at alpha 0.05."""
    from scipy.stats import norm

    if not np.isfinite(se):
        return float("nan")
    return float((norm.ppf(1 - alpha / (2 * max(family, 1))) + norm.ppf(power)) * se)


def _tested(diffs: pd.DataFrame, specs: Sequence[MetricSpec], stats: np.ndarray, base: str, cand: str,
            alpha: float) -> pd.DataFrame:
    """The paired differences with p, Holm's p, the significance after correction, MDD and a verdict."""
    rows = []
    for j, spec in enumerate(specs):
        found = diffs[(diffs["metric"] == spec.name) & (diffs["variant"] == cand) & (diffs["baseline"] == base)]
        row = found.iloc[0].to_dict() if not found.empty else {
            "diff": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n": 0, "too_few": True}
        comparable = not found.empty
        column = stats[:, j] if stats.size else np.array([])
        usable = comparable and not bool(row["too_few"]) and np.isfinite(row["ci_low"])
        se = float(np.nanstd(column, ddof=1)) if usable and np.isfinite(column).sum() > 1 else np.nan
        note = "" if comparable else _fallback_note(diffs, spec.name, base)
        rows.append({"baseline": base, "candidate": cand, "metric": spec.name, "label": spec.label,
                     "direction": spec.direction, "diff": row["diff"], "ci_low": row["ci_low"],
                     "ci_high": row["ci_high"], "n": int(row["n"]), "too_few": bool(row["too_few"]), "se": se,
                     "p_value": bootstrap_p(column) if usable else np.nan, "scorer": spec.scorer, "note": note})
    table = pd.DataFrame(rows)
    table["p_holm"] = holm(table["p_value"].to_numpy(float))
    family = int(table["p_value"].notna().sum())
    table["significant"] = [bool(p <= alpha) if np.isfinite(p) else None for p in table["p_holm"]]
    table["significant"] = table["significant"].astype(object)
    # With no spread at all (both sides alike on every resampled conversation) there is no MDD to give.
    table["mdd"] = [detectable(se, alpha, family) if se > 0 else np.nan for se in table["se"]]
    table["verdict"] = [_verdict(r) for r in table.itertuples()]
    return table


def _fallback_note(diffs: pd.DataFrame, metric: str, base: str) -> str:
    moved = diffs[(diffs["metric"] == metric) & diffs["fallback_reason"].notna()]
    reason = moved["fallback_reason"].iloc[0] if not moved.empty else f"{base} has nothing to compare on"
    return str(reason)


def _verdict(row) -> str:
    """better / worse (or higher / lower when neither way is better), not significant, or why none."""
    if row.note:
        return "not comparable"
    if row.too_few:
        return "too few"
    if not np.isfinite(row.p_value):
        return "no interval"
    if row.se == 0 and row.diff == 0:
        return "no difference in any resample"
    if not row.significant:
        return "not significant"
    if row.direction == "neither":
        return "higher" if row.diff > 0 else "lower"
    return "better" if (row.diff > 0) == (row.direction == "higher") else "worse"


def _notes(baseline: Side, candidate: Side, table: pd.DataFrame, scores: pd.DataFrame, n_boot: int,
           alpha: float, family: int) -> list[str]:
    notes = []
    for scorer, group in table[table["scorer_changed"]].groupby("scorer", sort=False):
        notes.append(f"scorer {scorer} changed version ({group['baseline_version'].iloc[0]} -> "
                     f"{group['candidate_version'].iloc[0]}): differences in {', '.join(group['metric'])} may "
                     "come from the scorer, not the bot")
    digests = [s.result.manifest.get("dataset", {}).get("digest") for s in (baseline, candidate)]
    if digests[0] and digests[1] and digests[0] != digests[1]:
        shared = scores["case_id"].nunique()
        notes.append(f"the two runs evaluated different data (dataset digests differ): compared on the {shared} "
                     "decision points both answered")
    for side in (baseline, candidate):
        for problem in side.result.problems:
            notes.append(f"{side.label}: {problem} (error budget exceeded: not a run to decide on)")
    if family and 2 * family / (1 + n_boot) > alpha:
        notes.append(f"{n_boot} resamples cannot give a p-value below {2 / (1 + n_boot):.3f}, too coarse for "
                     f"{family} metrics at alpha {alpha} after correction: use --bootstrap "
                     f"{int(np.ceil(2 * family / alpha))} or more")
    return notes


# --- hand-off decisions -------------------------------------------------------------------------


def handoff_tests(baseline_scores: pd.DataFrame, candidate_scores: pd.DataFrame) -> list[HandoffTest]:
    """McNemar's exact test per hand-off scorer (scores labelled correct_handoff, correct_containment,
    missed, premature), on the decision points both sides labelled. Decision points of one conversation
    are not independent; the conversation-level bootstrap of the metrics is the check that allows for it."""
    from scipy.stats import binomtest

    known = HANDOFF_RIGHT | HANDOFF_WRONG
    tests = []
    for scorer in dict.fromkeys(baseline_scores["scorer"]):
        mine = _labels(baseline_scores, scorer)
        theirs = _labels(candidate_scores, scorer)
        if mine.empty or theirs.empty or not (set(mine) | set(theirs)) <= known:
            continue
        both = pd.concat([mine.rename("baseline"), theirs.rename("candidate")], axis=1, join="inner")
        right_b, right_c = both["baseline"].isin(HANDOFF_RIGHT), both["candidate"].isin(HANDOFF_RIGHT)
        b, c = int((right_b & ~right_c).sum()), int((~right_b & right_c).sum())
        p = binomtest(b, b + c, 0.5).pvalue if b + c else 1.0
        tests.append(HandoffTest(scorer, len(both), int((right_b & right_c).sum()), b, c,
                                 int((~right_b & ~right_c).sum()), float(p)))
    return tests


def _labels(scores: pd.DataFrame, scorer: str) -> pd.Series:
    rows = scores[(scores["scorer"] == scorer) & scores["label"].notna()]
    return rows.set_index("case_id")["label"]


# --- reply level --------------------------------------------------------------------------------


def _directions(specs: Sequence[MetricSpec], scores: pd.DataFrame) -> dict[str, str]:
    """Which way each score is better: its mean's declared direction; a hand-off scorer's value is 1
    for a right decision and 0 for a wrong one, so higher is better whatever its mean declares."""
    directions = {s.scorer: s.direction for s in specs if s.ratio is None}
    for scorer, rows in scores.groupby("scorer"):
        labels = set(rows["label"].dropna())
        if labels and labels <= HANDOFF_RIGHT | HANDOFF_WRONG:
            directions[scorer] = "higher"
    return directions


def reply_changes(baseline_scores: pd.DataFrame, candidate_scores: pd.DataFrame, directions: dict[str, str],
                  top: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per score with a value on both sides of a decision point: the `top` replies that got most better
    and most worse (direction "neither": most changed, either way), and how many did each."""
    key = ["case_id", "scorer"]
    keep = ["case_id", "conversation_id", "scorer", "value", "label"]
    both = baseline_scores[keep].merge(candidate_scores[keep], on=key, suffixes=("_b", "_c"))
    both = both[both["value_b"].notna() & both["value_c"].notna() & both["scorer"].isin(list(directions))]
    if both.empty:
        empty = pd.DataFrame(columns=["scorer", "better", "worse", "same", "changed"])
        return pd.DataFrame(columns=[c for c in CHANGE_COLUMNS if c not in ("baseline", "candidate")]), empty
    change = both["value_c"] - both["value_b"]
    sign = both["scorer"].map({s: {"higher": 1.0, "lower": -1.0}.get(d, 0.0) for s, d in directions.items()})
    gain = change * sign
    outcome = np.where(change == 0, "same", np.where(sign == 0, "changed", np.where(gain > 0, "better", "worse")))
    table = pd.DataFrame({
        "scorer": both["scorer"], "outcome": outcome, "case_id": both["case_id"],
        "conversation_id": both["conversation_id_b"], "baseline_value": both["value_b"],
        "candidate_value": both["value_c"], "change": change, "baseline_label": both["label_b"],
        "candidate_label": both["label_c"], "_size": np.where(sign == 0, change.abs(), gain.abs())})
    counts = (table.groupby(["scorer", "outcome"]).size().unstack(fill_value=0)
              .reindex(columns=["better", "worse", "same", "changed"], fill_value=0).reset_index())
    counts.columns.name = None
    shown = table[table["outcome"] != "same"].sort_values(["scorer", "outcome", "_size", "case_id"],
                                                          ascending=[True, True, False, True], kind="stable")
    shown = shown.groupby(["scorer", "outcome"], sort=False).head(top)
    order = {"better": 0, "worse": 1, "changed": 2}
    shown = shown.sort_values(["scorer", "outcome"], key=lambda c: c.map(order) if c.name == "outcome" else c,
                              kind="stable")
    return shown.drop(columns="_size").reset_index(drop=True), counts
