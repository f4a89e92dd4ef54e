import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evals.aggregate import paired_differences, reply_stats, summarise
from evals.scorers.escalation import EscalationScorer

# A scorer whose only metric is the mean of its values (what these aggregation tests need).
MEAN = SimpleNamespace(name="accuracy", ratios={})


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
    acc = metric(summarise(frame(rows), [MEAN], n_boot=100), "accuracy.mean")
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
    ours = metric(summarise(frame(rows), [MEAN], n_boot=4000, seed=1), "accuracy.mean")
    ref = stats.bootstrap((values,), np.mean, n_resamples=4000, method="percentile", random_state=2).confidence_interval
    assert ours["value"] == pytest.approx(values.mean())
    assert ours["ci_low"] == pytest.approx(ref.low, abs=0.004)
    assert ours["ci_high"] == pytest.approx(ref.high, abs=0.004)


def test_resampling_whole_conversations_widens_the_ci_for_correlated_turns() -> None:
    rng = np.random.default_rng(0)
    per_conv = rng.random(40)
    rows = [(f"k{c}-{t}", f"c{c}", "accuracy", float(per_conv[c]), None) for c in range(40) for t in range(5)]
    clustered = metric(summarise(frame(rows), [MEAN], n_boot=2000), "accuracy.mean")
    flat_rows = [(k, k, s, v, lab) for k, _, s, v, lab in rows]  # pretend every turn is independent
    flat = metric(summarise(frame(flat_rows), [MEAN], n_boot=2000), "accuracy.mean")
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
    diffs = paired_differences(frame, [MEAN], "human", n_boot=2000)
    [row] = diffs[diffs["metric"] == "accuracy.mean"].to_dict("records")
    assert row["diff"] == pytest.approx(-0.03)
    assert row["ci_high"] < 0 and row["within_noise"] is False  # paired: clearly worse
    separate = summarise(frame, [MEAN], n_boot=2000)
    separate = separate[separate["metric"] == "accuracy.mean"].set_index("variant")
    assert separate.loc["bot", "ci_high"] > separate.loc["human", "ci_low"]  # unpaired CIs overlap


def test_paired_difference_of_equal_variants_is_within_noise() -> None:
    rng = np.random.default_rng(2)
    frame = paired_frame(list(rng.random(100)), list(rng.random(100)))
    [row] = paired_differences(frame, [MEAN], "human", n_boot=1000).to_dict("records")
    assert row["ci_low"] <= 0 <= row["ci_high"] and row["within_noise"] is True
    assert row["variant"] == "bot" and row["baseline"] == "human"


def escalation_frame(labels: dict[str, list[str]]) -> pd.DataFrame:
    """One case per conversation; `labels` maps a variant to its escalation label per conversation."""
    rows = [(f"k{i}", f"c{i}", "escalation", float(lab.startswith("correct")), lab, variant)
            for variant, labs in labels.items() for i, lab in enumerate(labs)]
    return pd.DataFrame(rows, columns=["case_id", "conversation_id", "scorer", "value", "label", "variant"])


def test_one_positive_in_30_conversations_gets_no_confident_interval() -> None:
    human = ["missed"] + ["correct_containment"] * 29  # the only positive, and it was missed
    bot = ["correct_handoff"] + ["correct_containment"] * 29
    scores = escalation_frame({"human": human, "bot": bot})
    missed = summarise(scores, [EscalationScorer()], n_boot=1000).set_index(["variant", "metric"])
    row = missed.loc[("human", "escalation.missed_rate")]
    assert row["value"] == 1.0 and row["n"] == 1 and row["too_few"]  # the estimate is kept, and flagged
    assert math.isnan(row["ci_low"]) and math.isnan(row["ci_high"])  # not [1.00, 1.00]
    assert row["undefined_share"] == pytest.approx((29 / 30) ** 30, abs=0.05)  # resamples with no positive
    diffs = paired_differences(scores, [EscalationScorer()], "human", n_boot=1000).set_index("metric")
    diff = diffs.loc["escalation.missed_rate"]
    assert diff["diff"] == -1.0 and diff["too_few"] and diff["within_noise"] is None  # not beyond noise


def test_undefined_resamples_withhold_the_interval_even_when_min_n_is_met() -> None:
    human = ["missed"] + ["correct_containment"] * 29
    scores = escalation_frame({"human": human, "bot": human})
    for min_n in (1, 0):
        summary = summarise(scores, [EscalationScorer()], n_boot=1000, min_n=min_n)
        row = summary.set_index(["variant", "metric"]).loc[("human", "escalation.missed_rate")]
        assert not row["too_few"] and math.isnan(row["ci_low"])
        [diff] = paired_differences(scores, [EscalationScorer()], "human", n_boot=1000, min_n=min_n).query(
            "metric == 'escalation.missed_rate'").to_dict("records")
        assert math.isnan(diff["ci_low"]) and diff["within_noise"] is None


def test_rare_undefined_resamples_keep_the_interval_and_are_counted() -> None:
    # 20 positives in 40 conversations: a resample without one is practically impossible.
    labels = ["correct_handoff", "missed"] * 10 + ["correct_containment"] * 20
    row = summarise(escalation_frame({"bot": labels}), [EscalationScorer()], n_boot=500).set_index("metric").loc[
        "escalation.recall"]
    assert row["n"] == 20 and not row["too_few"] and row["undefined_share"] == 0.0
    assert row["ci_low"] < 0.5 < row["ci_high"]


def test_metric_rows_below_min_n_are_flagged_and_min_n_is_configurable() -> None:
    rows = [(f"k{i}", f"c{i}", "accuracy", v, None) for i, v in enumerate([0.2, 0.4, 0.9])]
    assert metric(summarise(frame(rows), [MEAN], n_boot=100), "accuracy.mean")["too_few"]
    assert not metric(summarise(frame(rows), [MEAN], n_boot=100, min_n=3), "accuracy.mean")["too_few"]


def test_paired_difference_counts_n_on_the_shared_conversations() -> None:
    rng = np.random.default_rng(4)
    scores = paired_frame(list(rng.random(30)), list(rng.random(30)))
    scores = scores[~((scores["variant"] == "bot") & scores["conversation_id"].isin(["c0", "c1"]))]
    [row] = paired_differences(scores, [MEAN], "human", n_boot=200).to_dict("records")
    assert row["n"] == 28 and not row["too_few"] and row["fallback_from"] is None


def test_baseline_without_scorable_replies_falls_back_to_the_next_variant_and_says_why() -> None:
    rng = np.random.default_rng(5)
    rows = [(f"k{i}", f"c{i}", "accuracy", v, None, name)
            for name, vals in (("human", [math.nan] * 20), ("retrieval", rng.random(20)), ("rules", rng.random(20)))
            for i, v in enumerate(vals)]
    scores = pd.DataFrame(rows, columns=["case_id", "conversation_id", "scorer", "value", "label", "variant"])
    diffs = paired_differences(scores, [MEAN], "human", n_boot=200).set_index("variant")
    assert set(diffs["baseline"]) == {"retrieval"} and set(diffs["fallback_from"]) == {"human"}
    assert diffs.loc["rules", "fallback_reason"] == "human has no scorable accuracy replies (20 unscored)"
    assert pd.notna(diffs.loc["rules", "diff"]) and diffs.loc["rules", "n"] == 20
    assert diffs.loc["human", "n"] == 0 and diffs.loc["human", "too_few"]  # the empty baseline, shown as such


def test_baseline_with_no_replies_at_all_falls_back() -> None:
    rng = np.random.default_rng(6)
    scores = paired_frame(list(rng.random(15)), list(rng.random(15)))
    scores["variant"] = scores["variant"].replace({"human": "retrieval"})
    [row] = paired_differences(scores, [MEAN], "human", n_boot=100).to_dict("records")
    assert (row["variant"], row["baseline"], row["fallback_from"]) == ("bot", "retrieval", "human")
    assert row["fallback_reason"] == "human has no replies"


def test_baseline_that_never_hands_off_falls_back_for_precision_only() -> None:
    human = ["missed", "correct_containment"] * 10  # precision = TP / (TP + FP) has no denominator
    bot = ["correct_handoff", "premature"] * 10
    rules = ["correct_handoff", "correct_containment"] * 10
    diffs = paired_differences(escalation_frame({"human": human, "bot": bot, "rules": rules}), [EscalationScorer()],
                               "human", n_boot=100).set_index(["variant", "metric"])
    assert diffs.loc[("rules", "escalation.recall"), "baseline"] == "human"
    assert diffs.loc[("rules", "escalation.precision"), "baseline"] == "bot"
    assert "correct_handoff / premature" in diffs.loc[("rules", "escalation.precision"), "fallback_reason"]


def test_reply_stats_counts_language_mismatches() -> None:
    replies = pd.DataFrame({"variant": ["a", "a", "b"], "error": [None, None, None], "escalated": [False] * 3,
                            "latency_s": [0.1] * 3, "language_mismatch": [True, False, None]})
    assert reply_stats(replies)["language_mismatch"].to_dict() == {"a": 1, "b": 0}


def test_metrics_recomputed_from_their_written_definitions_equal_the_scorers_own() -> None:
    """The manifest's definitions (through JSON, as a results folder keeps them) are enough to recompute
    every metric and paired difference without the scorer objects."""
    import json

    from evals.aggregate import definitions, specs_from

    rng = np.random.default_rng(3)
    labels = ["correct_handoff", "missed", "premature", "correct_containment"]
    scores = escalation_frame({v: list(rng.choice(labels, 40)) for v in ("human", "bot")})
    scorers = [EscalationScorer()]
    specs = specs_from(json.loads(json.dumps(definitions(scorers))))
    pd.testing.assert_frame_equal(summarise(scores, specs, n_boot=200), summarise(scores, scorers, n_boot=200))
    pd.testing.assert_frame_equal(paired_differences(scores, specs, "human", n_boot=200),
                                  paired_differences(scores, scorers, "human", n_boot=200))
