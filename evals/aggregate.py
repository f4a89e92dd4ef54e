"""Score rows -> per-variant metrics with bootstrap confidence intervals.

Every metric is a ratio of sums (a mean is sum(value) / count(scored)), so one cluster
bootstrap serves them all. Decision points of one conversation are not independent, so the
bootstrap resamples whole conversations.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evals.conversation_sums import ConversationSums
from evals.types import Direction, Ratio, Scorer


@dataclass(frozen=True)
class MetricSpec:
    """A metric as scorers declare it: the report, the gate and the plots read these, not names."""

    name: str  # e.g. "escalation.recall"
    scorer: str
    ratio: Ratio | None  # None: the mean of the scored values
    direction: Direction = "higher"
    counts: str = "scored replies"  # what n counts
    label: str = ""  # the report's name for a headline metric; "" = in the full tables only


def metric_specs(scorers: Sequence[Scorer]) -> list[MetricSpec]:
    """Every metric of the run: each score's mean, then each scorer's ratios.

    A scorer's own mean takes its `label` and `direction` (a scorer of your own without them is a
    headline metric named after itself, higher is better); companion scores (sub-scores, a judge's
    self-agreement) are never headline. `label_note` (" (judge)") tells two scorers of one criterion apart.
    """
    specs = []
    for s in scorers:
        note = getattr(s, "label_note", "")
        own_label = getattr(s, "label", s.name)
        for name in getattr(s, "names", [s.name]):
            label = f"{own_label}{note}" if name == s.name and own_label else ""
            specs.append(MetricSpec(f"{name}.mean", name, None, getattr(s, "direction", "higher"), label=label))
        specs.extend(MetricSpec(f"{s.name}.{k}", s.name, r, r.direction, r.counts,
                                f"{r.label}{note}" if r.label else "") for k, r in s.ratios.items())
    return specs


def definitions(scorers: Sequence[Scorer]) -> list[dict[str, Any]]:
    """The metric declarations as plain records, for the results manifest: enough to recompute every
    metric from the scores table alone (a ratio's label weights included)."""
    return [{"name": s.name, "scorer": s.scorer, "kind": "mean" if s.ratio is None else "ratio",
             "direction": s.direction, "counts": s.counts, "label": s.label,
             **({"numerator": s.ratio.numerator, "denominator": s.ratio.denominator} if s.ratio else {})}
            for s in metric_specs(scorers)]


def specs_from(records: Sequence[Mapping[str, Any]]) -> list[MetricSpec]:
    """`definitions` read back (from a results manifest) as metric specs."""
    specs = []
    for r in records:
        ratio = None
        if r["kind"] == "ratio":
            if "numerator" not in r:
                raise ValueError(f"metric {r['name']}: no ratio definition (results written before they were kept)")
            ratio = Ratio(dict(r["numerator"]), dict(r["denominator"]), r["direction"], r["counts"], r["label"])
        specs.append(MetricSpec(r["name"], r["scorer"], ratio, r["direction"], r["counts"], r["label"]))
    return specs


def _specs(metrics: Sequence[Scorer] | Sequence[MetricSpec]) -> list[MetricSpec]:
    """Scorers' declared metrics, or metric specs as given (e.g. read back from a results folder)."""
    if all(isinstance(m, MetricSpec) for m in metrics):
        return list(metrics)  # type: ignore[arg-type]
    return metric_specs(metrics)  # type: ignore[arg-type]


# A ratio with fewer rows than this in its denominator gets no confident interval (aggregate.min_n).
DEFAULT_MIN_N = 10
# Share of bootstrap resamples allowed to leave a ratio undefined (no row in its denominator)
# before its interval is withheld (aggregate.max_undefined); see docs/metrics.md.
DEFAULT_MAX_UNDEFINED = 0.01


def summarise(
    scores: pd.DataFrame,
    scorers: Sequence[Scorer] | Sequence[MetricSpec],
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    min_n: int = DEFAULT_MIN_N,
    max_undefined: float = DEFAULT_MAX_UNDEFINED,
) -> pd.DataFrame:
    """One row per (variant, metric): estimate, CI, the count it rests on, and unscored rows.

    `scores` has columns case_id, conversation_id, variant, scorer, value, label. Besides the
    estimate: `n` (rows in the denominator), `too_few` (n < min_n: the point estimate stands, the
    interval is not to be trusted) and `undefined_share` (resamples in which the ratio had no
    denominator; above `max_undefined` the interval is withheld as NaN).
    """
    specs = _specs(scorers)
    sums = {str(v): ConversationSums.of(frame, specs) for v, frame in scores.groupby("variant", sort=False)}
    return summary_of(sums, specs, n_boot, confidence, seed, min_n, max_undefined)


def summary_of(sums: Mapping[str, ConversationSums], specs: Sequence[MetricSpec], n_boot: int = 1000,
               confidence: float = 0.95, seed: int = 0, min_n: int = DEFAULT_MIN_N,
               max_undefined: float = DEFAULT_MAX_UNDEFINED) -> pd.DataFrame:
    """`summarise` from each variant's per-conversation sums (what a streamed run keeps)."""
    rows = []
    for variant, mine in sums.items():
        estimate = _ratio(mine.num.sum(axis=0), mine.den.sum(axis=0))
        n = mine.count.sum(axis=0)
        low, high, undefined = _bootstrap(mine.num, mine.den, n_boot, confidence, seed, max_undefined)
        for j, spec in enumerate(specs):
            rows.append({
                "variant": variant,
                "metric": spec.name,
                "value": estimate[j],
                "ci_low": low[j],
                "ci_high": high[j],
                "n": int(n[j]),
                "unscored": int(mine.unscored.get(spec.scorer, 0)),
                "too_few": bool(n[j] < min_n),
                "undefined_share": undefined[j],
                "direction": spec.direction,
                "label": spec.label,
            })
    return pd.DataFrame(rows)


DIFF_COLUMNS = ["variant", "baseline", "metric", "diff", "ci_low", "ci_high", "within_noise", "n", "too_few",
                "undefined_share", "fallback_from", "fallback_reason", "direction", "label"]


def paired_differences(
    scores: pd.DataFrame,
    scorers: Sequence[Scorer] | Sequence[MetricSpec],
    baseline: str,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    min_n: int = DEFAULT_MIN_N,
    max_undefined: float = DEFAULT_MAX_UNDEFINED,
) -> pd.DataFrame:
    """Each variant minus the baseline, on the conversations both answered, with a paired CI.

    Both sides are resampled with the same conversations, so what they share (how hard those
    conversations are) cancels out; a difference whose CI contains 0 is within noise.
    `within_noise` is None (no verdict) when the difference rests on too few rows or its
    interval is withheld. When the baseline has no scorable reply for a metric, that metric is
    compared with the next variant that has one (`fallback_from` names the wanted baseline,
    `fallback_reason` says why), never left as a silent row of n/a.
    """
    specs = _specs(scorers)
    variants = list(dict.fromkeys(scores["variant"]))
    sums = {v: ConversationSums.of(scores[scores["variant"] == v], specs) for v in variants}
    return differences_of(sums, specs, baseline, n_boot, confidence, seed, min_n, max_undefined)


def differences_of(sums: Mapping[str, ConversationSums], specs: Sequence[MetricSpec], baseline: str,
                   n_boot: int = 1000, confidence: float = 0.95, seed: int = 0, min_n: int = DEFAULT_MIN_N,
                   max_undefined: float = DEFAULT_MAX_UNDEFINED) -> pd.DataFrame:
    """`paired_differences` from each variant's per-conversation sums (what a streamed run keeps)."""
    variants = list(sums)
    order = [baseline, *(v for v in variants if v != baseline)]
    against = [next((v for v in order if v in sums and sums[v].count[:, j].sum() > 0), baseline)
               for j in range(len(specs))]
    rows = []
    for base in dict.fromkeys(against):
        metrics = [j for j, b in enumerate(against) if b == base]
        for variant in variants:
            if variant == base:
                continue
            mine = sums[variant]
            theirs = sums.get(base) or ConversationSums.empty(len(specs))
            shared = mine.shared_with(theirs)
            v, b = mine.take(shared), theirs.take(shared)
            diff = _ratio(v.num.sum(axis=0), v.den.sum(axis=0)) - _ratio(b.num.sum(axis=0), b.den.sum(axis=0))
            n = np.minimum(v.count.sum(axis=0), b.count.sum(axis=0))
            low = high = undefined = np.full(len(specs), np.nan)
            if n_boot >= 1 and len(shared) >= 2:
                v_num, v_den, b_num, b_den = _resampled(n_boot, seed, v.num, v.den, b.num, b.den)
                stats = _ratio(v_num, v_den) - _ratio(b_num, b_den)
                low, high, undefined = _interval(stats, confidence, max_undefined)
            for j in metrics:
                spec = specs[j]
                too_few = bool(n[j] < min_n)
                verdict = None if too_few or not np.isfinite(low[j]) else bool(low[j] <= 0 <= high[j])
                rows.append({"variant": variant, "baseline": base, "metric": spec.name, "diff": diff[j],
                             "ci_low": low[j], "ci_high": high[j], "within_noise": verdict, "n": int(n[j]),
                             "too_few": too_few, "undefined_share": undefined[j],
                             "fallback_from": None if base == baseline else baseline,
                             "fallback_reason": None if base == baseline else _why_unscorable(
                                 sums.get(baseline), baseline, spec),
                             "direction": spec.direction, "label": spec.label})
    return pd.DataFrame(rows, columns=DIFF_COLUMNS)


def paired_draws(scores: pd.DataFrame, specs: Sequence[MetricSpec], baseline: str, variant: str,
                 n_boot: int, seed: int) -> np.ndarray:
    """`variant` minus `baseline` in each paired resample of the conversations both answered (B x M): the
    draws behind `paired_differences`' intervals (same seed, same draws), e.g. for a p-value. Empty (0 x M)
    without resamples or with fewer than two shared conversations."""
    mine = ConversationSums.of(scores[scores["variant"] == variant], specs)
    theirs = ConversationSums.of(scores[scores["variant"] == baseline], specs)
    shared = mine.shared_with(theirs)
    if n_boot < 1 or len(shared) < 2:
        return np.full((0, len(specs)), np.nan)
    v, b = mine.take(shared), theirs.take(shared)
    v_num, v_den, b_num, b_den = _resampled(n_boot, seed, v.num, v.den, b.num, b.den)
    return _ratio(v_num, v_den) - _ratio(b_num, b_den)


def _why_unscorable(sums: ConversationSums | None, variant: str, spec: MetricSpec) -> str:
    """Why `variant` has nothing in a metric's denominator, in words for the report."""
    if sums is None or not sums.rows:
        return f"{variant} has no replies"
    rows = sums.rows.get(spec.scorer, 0)
    if not rows:
        return f"{variant} has no {spec.scorer} scores"
    unscored = sums.unscored.get(spec.scorer, 0)
    if spec.ratio is None or unscored == rows:
        return f"{variant} has no scorable {spec.scorer} replies ({unscored} unscored)"
    return f"{variant} has no replies labelled {' / '.join(spec.ratio.denominator)}, which {spec.name} is over"


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _bootstrap(num: np.ndarray, den: np.ndarray, n_boot: int, confidence: float, seed: int,
               max_undefined: float = DEFAULT_MAX_UNDEFINED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Percentile CI from resampling conversations with replacement, and the undefined share."""
    n_conv, n_metrics = num.shape
    if n_boot < 1 or n_conv < 2:
        nan = np.full(n_metrics, np.nan)
        return nan, nan, nan
    num_b, den_b = _resampled(n_boot, seed, num, den)
    return _interval(_ratio(num_b, den_b), confidence, max_undefined)


# Resamples drawn at once: the B x C weight matrix would grow with the data (80 MB at 10,000
# conversations); in chunks of at most this many weights, memory stays flat and the draws are the same
# (one generator, in order: numpy's multinomial draws a block of resamples as it draws them one by one).
_CHUNK_WEIGHTS = 2_000_000


def _resampled(n_boot: int, seed: int, *sums: np.ndarray) -> list[np.ndarray]:
    """Each (C x M) array of per-conversation sums, summed over each of `n_boot` resamples of the
    conversations with replacement (B x M); every array is resampled with the same draws."""
    n_conv = sums[0].shape[0]
    rng = np.random.default_rng(seed)
    probabilities = np.full(n_conv, 1.0 / n_conv)
    out = [np.empty((n_boot, s.shape[1])) for s in sums]
    chunk = max(1, min(100, _CHUNK_WEIGHTS // max(n_conv, 1)))
    for start in range(0, n_boot, chunk):
        weights = rng.multinomial(n_conv, probabilities, size=min(chunk, n_boot - start))
        as_float = weights.astype(np.float64) if any(s.dtype != np.float64 for s in sums) else weights
        for total, s in zip(out, sums):
            if s.dtype == np.float64:
                total[start:start + len(weights)] = weights @ s
            else:  # compact whole numbers (a streamed run): one column at a time, exact as whole numbers are
                for j in range(s.shape[1]):
                    total[start:start + len(weights), j] = as_float @ s[:, j].astype(np.float64)
    return out


def _interval(stats: np.ndarray, confidence: float,
              max_undefined: float = DEFAULT_MAX_UNDEFINED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Percentile bounds over the resamples (B x M), and the share of resamples that were NaN.

    Quantiles over the defined resamples alone would describe the metric *given* that a
    denominator row was drawn, which is too narrow when that is often not so (one positive in 30
    conversations: [1, 1]). Above `max_undefined` the bounds are NaN: no interval, not a false one.
    """
    alpha = (1.0 - confidence) / 2.0
    undefined = np.isnan(stats).mean(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a metric with no data at all is NaN
        low, high = np.nanquantile(stats, [alpha, 1.0 - alpha], axis=0)
    withheld = undefined > max_undefined
    return np.where(withheld, np.nan, low), np.where(withheld, np.nan, high), undefined


def reply_stats(replies: pd.DataFrame) -> pd.DataFrame:
    """Per variant: replies, errors, hand-offs, cache hits, latency, tokens, cost, PII redacted, and
    replies written in another language than the dataset expects (`language_mismatch`).

    Token and cost sums are NaN when no reply reported them (unknown is not zero).
    """
    grouped = replies.groupby("variant", sort=False)
    stats = pd.DataFrame({
        "replies": grouped.size(),
        "errors": grouped["error"].apply(lambda e: int(e.notna().sum())),
        "handoffs": grouped["escalated"].sum().astype(int),
        "latency_p50_s": grouped["latency_s"].median(),
        "latency_p95_s": grouped["latency_s"].quantile(0.95),
        "latency_mean_s": grouped["latency_s"].mean(),
    })
    if "language_mismatch" in replies:
        stats["language_mismatch"] = grouped["language_mismatch"].apply(lambda m: int(m.fillna(False).sum()))
    if "cached" in replies:
        stats["cached"] = grouped["cached"].sum().astype(int)
    for column in ("prompt_tokens", "completion_tokens", "cost_usd"):
        if column in replies:
            stats[column] = grouped[column].apply(lambda v: v.sum() if v.notna().any() else float("nan"))
    if "cost_usd" in replies:
        stats["cost_per_reply_usd"] = stats["cost_usd"] / stats["replies"]
    for column in (c for c in replies.columns if c.startswith("pii_")):
        stats[column] = grouped[column].sum()
    return stats
