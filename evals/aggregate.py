"""Score rows -> per-variant metrics with bootstrap confidence intervals.

Every metric is a ratio of sums (a mean is sum(value) / count(scored)), so one cluster
bootstrap serves them all. Decision points of one conversation are not independent, so the
bootstrap resamples whole conversations.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evals.types import Ratio, Scorer


@dataclass(frozen=True)
class MetricSpec:
    name: str  # e.g. "escalation.recall"
    scorer: str
    ratio: Ratio | None  # None: the mean of the scored values


def metric_specs(scorers: Sequence[Scorer]) -> list[MetricSpec]:
    specs = []
    for s in scorers:
        # A scorer may emit companion scores (a judge's self-agreement across repeats).
        specs.extend(MetricSpec(f"{name}.mean", name, None) for name in getattr(s, "names", [s.name]))
        specs.extend(MetricSpec(f"{s.name}.{k}", s.name, r) for k, r in s.ratios.items())
    return specs


def summarise(
    scores: pd.DataFrame,
    scorers: Sequence[Scorer],
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per (variant, metric): estimate, CI, the count it rests on, and unscored rows.

    `scores` has columns case_id, conversation_id, variant, scorer, value, label.
    """
    specs = metric_specs(scorers)
    rows = []
    for variant, frame in scores.groupby("variant", sort=False):
        num, den = _per_conversation_sums(frame, specs)
        estimate = _ratio(num.sum(axis=0), den.sum(axis=0))
        low, high = _bootstrap(num, den, n_boot, confidence, seed)
        unscored = frame.groupby("scorer")["value"].apply(lambda v: int(v.isna().sum()))
        for j, spec in enumerate(specs):
            rows.append({
                "variant": variant,
                "metric": spec.name,
                "value": estimate[j],
                "ci_low": low[j],
                "ci_high": high[j],
                "n": int(den[:, j].sum()) if spec.ratio is None else int(_count(frame, spec)),
                "unscored": int(unscored.get(spec.scorer, 0)),
            })
    return pd.DataFrame(rows)


def _count(frame: pd.DataFrame, spec: MetricSpec) -> int:
    """Rows in a ratio's denominator (e.g. positives for recall)."""
    assert spec.ratio is not None
    labels = frame.loc[frame["scorer"] == spec.scorer, "label"]
    return int(labels.isin(list(spec.ratio.denominator)).sum())


def paired_differences(
    scores: pd.DataFrame,
    scorers: Sequence[Scorer],
    baseline: str,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Each variant minus the baseline, on the conversations both answered, with a paired CI.

    Both sides are resampled with the same conversations, so what they share (how hard those
    conversations are) cancels out; a difference whose CI contains 0 is within noise.
    """
    specs = metric_specs(scorers)
    base = scores[scores["variant"] == baseline]
    rows = []
    for variant, frame in scores.groupby("variant", sort=False):
        if variant == baseline:
            continue
        shared = pd.Index(sorted(set(frame["conversation_id"]) & set(base["conversation_id"])))
        nv, dv = _per_conversation_sums(frame, specs, shared)
        nb, db = _per_conversation_sums(base, specs, shared)
        diff = _ratio(nv.sum(axis=0), dv.sum(axis=0)) - _ratio(nb.sum(axis=0), db.sum(axis=0))
        low = high = np.full(len(specs), np.nan)
        if n_boot >= 1 and len(shared) >= 2:
            w = _weights(len(shared), n_boot, seed)
            low, high = _interval(_ratio(w @ nv, w @ dv) - _ratio(w @ nb, w @ db), confidence)
        for j, spec in enumerate(specs):
            rows.append({"variant": variant, "baseline": baseline, "metric": spec.name, "diff": diff[j],
                         "ci_low": low[j], "ci_high": high[j],
                         "within_noise": bool(low[j] <= 0 <= high[j]) if np.isfinite(low[j]) else None})
    return pd.DataFrame(rows, columns=["variant", "baseline", "metric", "diff", "ci_low", "ci_high",
                                       "within_noise"])


def _per_conversation_sums(frame: pd.DataFrame, specs: Sequence[MetricSpec],
                           conversations: pd.Index | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Numerator and denominator of every metric, summed per conversation (C x M).

    Rows of conversations outside `conversations` (when given) are left out."""
    if conversations is None:
        conversations = pd.Index(frame["conversation_id"].unique())
    else:
        frame = frame[frame["conversation_id"].isin(conversations)]
    num = np.zeros((len(conversations), len(specs)))
    den = np.zeros_like(num)
    for j, spec in enumerate(specs):
        rows = frame[frame["scorer"] == spec.scorer]
        at = conversations.get_indexer(rows["conversation_id"])
        if spec.ratio is None:
            scored = rows["value"].notna().to_numpy()
            np.add.at(num[:, j], at[scored], rows["value"].to_numpy()[scored])
            np.add.at(den[:, j], at[scored], 1.0)
        else:
            labels = rows["label"]
            np.add.at(num[:, j], at, labels.map(spec.ratio.numerator).fillna(0.0).to_numpy(float))
            np.add.at(den[:, j], at, labels.map(spec.ratio.denominator).fillna(0.0).to_numpy(float))
    return num, den


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _bootstrap(num: np.ndarray, den: np.ndarray, n_boot: int, confidence: float,
               seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Percentile CI from resampling conversations with replacement."""
    n_conv, n_metrics = num.shape
    if n_boot < 1 or n_conv < 2:
        nan = np.full(n_metrics, np.nan)
        return nan, nan
    weights = _weights(n_conv, n_boot, seed)
    return _interval(_ratio(weights @ num, weights @ den), confidence)


def _weights(n_conv: int, n_boot: int, seed: int) -> np.ndarray:
    """How often each conversation is drawn in each resample (B x C)."""
    return np.random.default_rng(seed).multinomial(n_conv, np.full(n_conv, 1.0 / n_conv), size=n_boot)


def _interval(stats: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = (1.0 - confidence) / 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a metric with no data at all is NaN
        low, high = np.nanquantile(stats, [alpha, 1.0 - alpha], axis=0)
    return low, high


def reply_stats(replies: pd.DataFrame) -> pd.DataFrame:
    """Per variant: replies, errors, hand-offs, cache hits, latency, tokens, cost, PII redacted.

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
