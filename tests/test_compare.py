"""Comparing variants across runs: paired on the decision points both answered, from results alone."""

from __future__ import annotations

import pandas as pd
import pytest
from builders import conversation

from evals.api import Settings, evaluate
from evals.compare import pair
from evals.errors import UserError
from evals.scorers.escalation import EscalationScorer
from evals.types import Answer, Inquiry
from evals.variants.human import HumanVariant


class KeywordBot:
    """Hands off when the customer says 'human'."""

    def __init__(self, name: str = "rules") -> None:
        self.name = name

    def prepare(self, memory) -> None:
        pass

    async def respond(self, inquiry: Inquiry) -> Answer:
        wants = "human" in inquiry.history[-1].text
        return Answer(text="A colleague will take over." if wants else "It ships tomorrow.", escalated=wants)


def chats(n: int = 30) -> list:
    return [conversation(f"c{i}", turns=[("customer", "I want to speak to a human agent now" if i % 3 == 0
                                          else f"Where is my order {i}?"),
                                         ("agent", "Let me transfer you to a colleague." if i % 4 == 0
                                          else "It ships tomorrow.")], should_escalate=i % 3 == 0)
            for i in range(n)]


def test_pairing_within_one_run_reproduces_the_runs_own_differences() -> None:
    result = evaluate(chats(), [HumanVariant(name="human"), KeywordBot()], [EscalationScorer()],
                      Settings(bootstrap=300, seed=1))
    paired = pair(result, "human", result, "rules", n_boot=300, seed=1)
    own = result.differences[result.differences["variant"] == "rules"]
    pd.testing.assert_frame_equal(paired.reset_index(drop=True), own.reset_index(drop=True), check_dtype=False)


def test_two_runs_pair_on_their_shared_decision_points_only_and_name_both_sides() -> None:
    first = evaluate(chats(30), [KeywordBot()], [EscalationScorer()], Settings(bootstrap=100))
    second = evaluate(chats(30)[10:], [KeywordBot()], [EscalationScorer()], Settings(bootstrap=100))
    paired = pair(first, "rules", second, "rules", n_boot=100).set_index("metric")
    assert set(paired["variant"]) == {"rules@2"} and set(paired["baseline"]) == {"rules"}
    assert paired.loc["escalation.mean", "n"] == 20 and paired.loc["escalation.mean", "diff"] == 0
    with pytest.raises(UserError, match="no variant 'bot'"):
        pair(first, "bot", second, "rules")


# --- the whole comparison: p-values, correction, detectable difference, McNemar, reply level -----

import dataclasses  # noqa: E402
import zlib  # noqa: E402

import numpy as np  # noqa: E402
from builders import results_of  # noqa: E402

from evals.compare import (  # noqa: E402
    Side,
    bootstrap_p,
    compare,
    detectable,
    handoff_tests,
    holm,
    reply_changes,
    sides_of,
)
from evals.locate import Located  # noqa: E402
from evals.types import Score  # noqa: E402


def difficulty(case_id: str) -> float:
    """How well any bot can answer this case (shared by both sides: what pairing cancels out)."""
    return 0.3 + 0.4 * (zlib.crc32(case_id.encode()) % 1000) / 1000


class QualityBot(KeywordBot):
    """Replies with its own quality: the case's difficulty + `shift` + seeded noise (sd 0.1)."""

    def __init__(self, name: str, shift: float, seed: int) -> None:
        super().__init__(name)
        self.shift, self.seed = shift, seed

    async def respond(self, inquiry: Inquiry) -> Answer:
        noise = np.random.default_rng([self.seed, zlib.crc32(inquiry.case_id.encode())]).normal(0, 0.1)
        handoff = await super().respond(inquiry)
        return Answer(text=f"{difficulty(inquiry.case_id) + self.shift + noise:.5f}", escalated=handoff.escalated)


class QualityScorer:
    """The quality a QualityBot wrote in its reply: a per-reply score with a known true mean."""

    name, label, direction, ratios = "quality", "quality", "higher", {}

    def score(self, case, reply) -> Score:
        return Score(case.case_id, reply.variant, self.name, float(reply.text), None, "")


def quality_run(shift: float, seed: int, n: int = 90, name: str = "bot"):
    return evaluate(chats(n), [QualityBot(name, shift, seed)], [QualityScorer(), EscalationScorer()],
                    Settings(bootstrap=0))


def test_a_known_true_difference_is_significant_after_correction_and_direction_aware() -> None:
    base, better = quality_run(0.0, seed=1), quality_run(0.1, seed=2)
    found = compare(Side("base", base, "bot"), Side("new", better, "bot"), n_boot=2000).metrics.set_index("metric")
    quality = found.loc["quality.mean"]
    assert quality["ci_low"] < 0.1 < quality["ci_high"] and quality["ci_low"] > 0
    assert quality["p_holm"] <= 0.05 and quality["significant"] and quality["verdict"] == "better"
    # Both bots hand off alike: those metrics are in the family (Holm over every tested metric) but not different.
    assert found.loc["escalation.recall", "verdict"] == "no difference in any resample"
    assert quality["p_holm"] == pytest.approx(min(1.0, found["p_value"].notna().sum() * quality["p_value"]))
    backwards = compare(Side("new", better, "bot"), Side("base", base, "bot"), n_boot=2000).metrics
    assert backwards.set_index("metric").loc["quality.mean", "verdict"] == "worse"


def test_a_lower_is_better_metric_reads_better_when_it_drops() -> None:
    class NeverBot(KeywordBot):
        async def respond(self, inquiry: Inquiry) -> Answer:
            return Answer(text="It ships tomorrow.", escalated=False)

    result = evaluate(chats(60), [NeverBot("never"), KeywordBot()], [EscalationScorer()], Settings(bootstrap=0))
    found = compare(Side("never", result, "never"), Side("rules", result, "rules"), n_boot=1000).metrics
    missed = found.set_index("metric").loc["escalation.missed_rate"]
    assert missed["diff"] == -1.0 and missed["direction"] == "lower" and missed["verdict"] == "better"


def test_the_same_bot_with_another_seed_shows_no_significant_difference_and_says_what_was_detectable() -> None:
    first, second = quality_run(0.0, seed=1), quality_run(0.0, seed=7)
    found = compare(Side("first", first, "bot"), Side("second", second, "bot"), n_boot=2000).metrics
    assert not found["significant"].fillna(False).any()
    quality = found.set_index("metric").loc["quality.mean"]
    assert quality["verdict"] == "not significant"
    # sd 0.1 noise per side, 90 cases: SE of the paired mean ~ 0.1 * sqrt(2 / 90) = 0.015
    assert 0.01 < quality["se"] < 0.02
    assert quality["mdd"] == pytest.approx(detectable(quality["se"], 0.05, int(found["p_value"].notna().sum())))


def test_one_result_compared_with_itself_under_another_bootstrap_seed_is_no_difference() -> None:
    result = quality_run(0.0, seed=1)
    found = compare(Side("a", result, "bot"), Side("b", result, "bot"), n_boot=500, seed=9).metrics
    assert (found["diff"] == 0).all() and (found["p_value"] == 1).all()
    assert not found["significant"].any() and set(found["verdict"]) == {"no difference in any resample"}


def test_holm_bootstrap_p_and_detectable_on_hand_examples() -> None:
    # m = 3 tested: 0.01 * 3 = 0.03; 0.03 * 2 = 0.06; 0.04 * 1 = 0.04, raised to the earlier 0.06
    adjusted = holm([0.01, 0.04, 0.03, float("nan")])
    assert adjusted[:3] == pytest.approx([0.03, 0.06, 0.06]) and np.isnan(adjusted[3])
    assert bootstrap_p(np.full(999, 0.2)) == pytest.approx(2 / 1000)  # every resample above 0
    assert bootstrap_p(np.array([-1.0, 1.0] * 50)) == 1.0
    assert bootstrap_p(np.array([1.0, np.nan])) != bootstrap_p(np.array([1.0, np.nan]))  # NaN: one defined
    assert detectable(1.0, 0.05, 1) == pytest.approx(1.95996 + 0.84162, abs=1e-4)  # the usual 2.8 x SE
    assert detectable(1.0, 0.05, 5) == pytest.approx(2.57583 + 0.84162, abs=1e-4)  # z(0.995): 1 - 0.05 / (2 x 5)


def handoff_result(pairs: list[tuple[str, str | None]]) -> object:
    """Two variants' escalation labels on the same decision points, one conversation each."""
    rows = []
    for i, labels in enumerate(pairs):
        for variant, label in zip(("base", "cand"), labels):
            value = float("nan") if label is None else float(label.startswith("correct"))
            rows.append({"variant": variant, "case_id": f"c{i}#0", "escalation": value, "escalation_label": label,
                         "escalation_explanation": ""})
    return results_of(pd.DataFrame(rows))


def test_mcnemar_counts_discordant_decisions_and_gives_the_exact_p() -> None:
    result = handoff_result(
        [("correct_handoff", "correct_handoff"), ("correct_containment", "correct_containment")] * 2  # both right
        + [("correct_handoff", "missed")]  # b: right for the baseline only
        + [("missed", "correct_handoff"), ("premature", "correct_containment")] * 3  # c = 6
        + [("missed", "premature")]  # both wrong
        + [("missed", None)])  # not labelled on one side: left out
    scores = result.scores
    (test,) = handoff_tests(scores[scores["variant"] == "base"], scores[scores["variant"] == "cand"])
    assert (test.n, test.both_right, test.b, test.c, test.both_wrong) == (12, 4, 1, 6, 1)
    # exact two-sided: 2 * P(X <= 1 | Bin(7, 1/2)) = 2 * (1 + 7) / 2**7 = 0.125
    assert test.p_value == pytest.approx(0.125)
    (same,) = handoff_tests(scores[scores["variant"] == "base"], scores[scores["variant"] == "base"])
    assert (same.b, same.c, same.p_value) == (0, 0, 1.0)


def test_reply_changes_follow_each_scores_direction_and_keep_the_top_n() -> None:
    def rows(values: list[float]) -> pd.DataFrame:
        return pd.DataFrame({"case_id": [f"k{i}" for i in range(len(values))], "conversation_id": "c",
                             "scorer": "wait", "value": values, "label": None})

    changes, counts = reply_changes(rows([5, 5, 5, 5, 5]), rows([1, 4, 5, 9, 6]), {"wait": "lower"}, top=1)
    assert counts.iloc[0][["better", "worse", "same"]].tolist() == [2, 2, 1]
    assert changes[["outcome", "case_id"]].values.tolist() == [["better", "k0"], ["worse", "k3"]]  # largest each
    changes, counts = reply_changes(rows([5, 5]), rows([1, 6]), {"wait": "neither"}, top=5)
    assert set(changes["outcome"]) == {"changed"} and counts.iloc[0]["changed"] == 2


def test_a_changed_scorer_version_is_named_per_metric() -> None:
    old, new = quality_run(0.0, seed=1), quality_run(0.0, seed=1)
    new = dataclasses.replace(new, manifest={**new.manifest, "scorers": {**new.scorer_versions, "quality": "v2"}})
    found = compare(Side("old", old, "bot"), Side("new", new, "bot"), n_boot=100)
    changed = found.metrics.set_index("metric")["scorer_changed"]
    assert changed["quality.mean"] and not changed["escalation.recall"]
    assert any("scorer quality changed version" in note and "not the bot" in note for note in found.notes)


def test_sides_put_the_baseline_first_and_label_repeated_variant_names_by_reference() -> None:
    both = evaluate(chats(12), [HumanVariant(name="human"), KeywordBot()], [EscalationScorer()],
                    Settings(bootstrap=0, baseline="rules"))
    other = evaluate(chats(12), [KeywordBot()], [EscalationScorer()], Settings(bootstrap=0))
    sides = sides_of([Located(both, None, None, "a"), Located(other, None, None, "b")])
    assert [(s.label, s.variant) for s in sides] == [("rules@1", "rules"), ("human", "human"), ("rules@2", "rules")]
    one = sides_of([Located(both, "human", None, "a#human"), Located(other, None, None, "b")])
    assert [s.label for s in one] == ["human", "rules"]
    twice = sides_of([Located(other, None, None, "b"), Located(other, None, None, "b")])
    assert [s.label for s in twice] == ["rules@1", "rules@2"]
