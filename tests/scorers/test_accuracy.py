import math

import pytest
from builders import case, conversation, reply

from evals.errors import UserError
from evals.scorers.accuracy import AccuracyScorer


def test_identical_reply_scores_one_and_unrelated_scores_low() -> None:
    c = case()
    scorer = AccuracyScorer()
    assert scorer.score(c, reply(c, "I'm sorry, let me check your order.")).value == pytest.approx(1.0)
    assert scorer.score(c, reply(c, "Our opening hours are 9 to 5.")).value < 0.3


def test_required_facts_are_blended_with_similarity() -> None:
    conv = conversation(turns=[("customer", "When is my refund due?"), ("agent", "Within 5 days.")],
                        facts=["5 days", "original card"])
    c = case(conv)
    half = AccuracyScorer(fact_weight=1.0).score(c, reply(c, "You get it in 5  DAYS."))
    assert half.value == pytest.approx(0.5)
    assert "missing: original card" in half.explanation
    both = AccuracyScorer(fact_weight=1.0).score(c, reply(c, "5 days, to the original card"))
    assert both.value == pytest.approx(1.0)


def test_unscored_without_reference_or_reply() -> None:
    conv = conversation().model_copy(update={"references": []})
    no_ref = case(conversation())
    no_ref = type(no_ref)(conv, 0, no_ref.reference.model_copy(update={"reply": None}))
    assert math.isnan(AccuracyScorer().score(no_ref, reply(no_ref)).value)
    c = case()
    failed = AccuracyScorer().score(c, reply(c, "", error="HTTPError: 500"))
    assert math.isnan(failed.value) and "HTTPError" in failed.explanation


def test_fact_weight_is_checked() -> None:
    with pytest.raises(UserError, match="fact_weight"):
        AccuracyScorer(fact_weight=2)
