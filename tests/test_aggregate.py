import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evals.aggregate import paired_differences, reply_stats, summarise
from evals.scorers.accuracy import AccuracyScorer
from evals.scorers.escalation import EscalationScorer


def frame(rows: list[tuple[str, str, str, float, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["case_id", "conversation_id", "scorer", "value", "label"]).assign(variant="bot")


def metric(summary: pd.DataFrame, name: str) -> pd.Series:
    return summary.set_index("metric").loc[name]


def test_escalation_rates_from_labels() -> None:
    labels = ["correct_handoff"] * 3 + ["missed"] + ["premature"] * 2 + ["correct_containment"] * 4
    rows = [(f"k{i}", f"c{i}", "escalation", float(lab.startswith("correct")), lab) for i, lab in enumerate(labels)]
    summary = summarise(frame(rows), [EscalationScorer()], n_boot=200)
    assert metric(summary, "escalation.precision")["value"] == pytest.approx(3 / 5)
    assert metric(summary, "escalation.recall")["value"] == pytest.approx(3 / 4)
    assert metric(summary, "escalation.f1")["value"] == pytest.approx(2 * 0.6 * 0.75 / 1.35)
    assert metric(summary, "escalation.missed_rate")["value"] == pytest.approx(1 / 4)
    assert metric(summary, "escalation.premature_rate")["value"] == pytest.approx(2 / 6)
    assert metric(summary, "escalation.recall")["n"] == 4  # positives behind the recall
    assert metric(summary, "escalation.mean")["value"] == pytest.approx(7 / 10)


def test_unscored_rows_are_counted_not_averaged() -> None:
    rows = [("k1", "c1", "accuracy", 1.0, None), ("k2", "c2", "accuracy", 0.0, None),
            ("k3", "c3", "accuracy", math.nan, None)]
    acc = metric(summarise(frame(rows), [AccuracyScorer()], n_boot=100), "accuracy.mean")
    assert acc["value"] == pytest.approx(0.5)
    assert (acc["n"], acc["unscored"]) == (2, 1)


def test_metric_without_data_is_nan_not_zero() -> None:
    rows = [("k1", "c1", "escalation", 1.0, "correct_containment"),
            ("k2", "c2", "escalation", 1.0, "correct_containment")]
    recall = metric(summarise(frame(rows), [EscalationScorer()], n_boot=50), "escalation.recall")
    assert math.isnan(recall["value"]) and math.isnan(recall["ci_low"])


def test_mean_ci_matches_scipy_percentile_bootstrap_when_conversations_are_single_cases() -> None:
    rng = np.random.default_rng(3)
    values = rng.beta(2, 5, size=300)
    rows = [(f"k{i}", f"c{i}", "accuracy", float(v), None) for i, v in enumerate(values)]
    ours = metric(summarise(frame(rows), [AccuracyScorer()], n_boot=4000, seed=1), "accuracy.mean")
    ref = stats.bootstrap((values,), np.mean, n_resamples=4000, method="percentile", random_state=2).confidence_interval
    assert ours["value"] == pytest.approx(values.mean())
    assert ours["ci_low"] == pytest.approx(ref.low, abs=0.004)
    assert ours["ci_high"] == pytest.approx(ref.high, abs=0.004)


def test_resampling_whole_conversations_widens_the_ci_for_correlated_turns() -> None:
    rng = np.random.default_rng(0)
    per_conv = rng.random(40)
    rows = [(f"k{c}-{t}", f"c{c}", "accuracy", float(per_conv[c]), None) for c in range(40) for t in range(5)]
    clustered = metric(summarise(frame(rows), [AccuracyScorer()], n_boot=2000), "accuracy.mean")
    flat_rows = [(k, k, s, v, lab) for k, _, s, v, lab in rows]  # pretend every turn is independent
    flat = metric(summarise(frame(flat_rows), [AccuracyScorer()], n_boot=2000), "accuracy.mean")
    assert (clustered["ci_high"] - clustered["ci_low"]) > 1.8 * (flat["ci_high"] - flat["ci_low"])


def test_reply_stats_counts_errors_and_handoffs() -> None:
    replies = pd.DataFrame({"variant": ["a", "a", "b"], "error": [None, "boom", None],
                            "escalated": [True, False, False], "latency_s": [0.1, 0.3, 0.2]})
    out = reply_stats(replies)
    assert out.loc["a", "errors"] == 1 and out.loc["a", "handoffs"] == 1 and out.loc["b", "replies"] == 1


def paired_frame(a: list[float], b: list[float]) -> pd.DataFrame:
    rows = [(f"k{i}", f"c{i}", "accuracy", v, None, name) for name, vals in (("human", a), ("bot", b))
            for i, v in enumerate(vals)]
    return pd.DataFrame(rows, columns=["case_id", "conversation_id", "scorer", "value", "label", "variant"])


def test_paired_difference_sees_a_small_consistent_gap_that_separate_cis_would_call_noise() -> None:
    rng = np.random.default_rng(1)
    difficulty = rng.random(200)  # conversations differ a lot; the bot is always 0.03 lower
    human, bot = difficulty, difficulty - 0.03
    frame = paired_frame(list(human), list(bot))
    [row] = paired_differences(frame, [AccuracyScorer()], "human", n_boot=2000).to_dict("records")
    assert row["diff"] == pytest.approx(-0.03)
    assert row["ci_high"] < 0 and row["within_noise"] is False  # paired: clearly worse
    separate = summarise(frame, [AccuracyScorer()], n_boot=2000).set_index("variant")
    assert separate.loc["bot", "ci_high"] > separate.loc["human", "ci_low"]  # unpaired CIs overlap


def test_paired_difference_of_equal_variants_is_within_noise() -> None:
    rng = np.random.default_rng(2)
    frame = paired_frame(list(rng.random(100)), list(rng.random(100)))
    [row] = paired_differences(frame, [AccuracyScorer()], "human", n_boot=1000).to_dict("records")
    assert row["ci_low"] <= 0 <= row["ci_high"] and row["within_noise"] is True
    assert row["variant"] == "bot" and row["baseline"] == "human"
