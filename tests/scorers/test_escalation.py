import math

import pytest
from builders import case, conversation, reply

from evals.scorers.escalation import EscalationScorer


@pytest.mark.parametrize(
    ("should", "did", "label", "value"),
    [(True, True, "correct_handoff", 1.0), (True, False, "missed", 0.0),
     (False, True, "premature", 0.0), (False, False, "correct_containment", 1.0)],
)
def test_each_outcome(should: bool, did: bool, label: str, value: float) -> None:
    c = case(conversation(should_escalate=should))
    score = EscalationScorer().score(c, reply(c, escalated=did))
    assert (score.label, score.value) == (label, value)
    assert "human_review" in score.explanation


def test_unlabelled_and_failed_replies_are_unscored_with_a_reason() -> None:
    unlabelled = case(conversation(should_escalate=None))
    s = EscalationScorer().score(unlabelled, reply(unlabelled, escalated=True))
    assert math.isnan(s.value) and "no should_escalate label" in s.explanation
    c = case(conversation(should_escalate=True))
    s = EscalationScorer().score(c, reply(c, error="TimeoutError: slow"))
    assert math.isnan(s.value) and s.label is None and "TimeoutError" in s.explanation
