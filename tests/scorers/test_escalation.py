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


def kind_reply(c, escalated: bool, kind: str, note: str = "", text: str = "ok"):
    from dataclasses import replace

    return replace(reply(c, text=text, escalated=escalated), handoff_kind=kind, note=note)


@pytest.mark.parametrize(
    ("escalated", "kind", "note", "label", "says"),
    [(False, "offer", "offered a person: 'shall I?'; the customer declined", "correct_containment",
      "the reply offered a person: 'shall I?'; the customer declined; not a hand-off"),
     (True, "offer", "offered a person: 'shall I?'; the customer accepted", "premature",
      "the customer accepted; counted as a hand-off"),
     (False, "redirect", "pointed to another channel: 'call us' (redirect: never)", "correct_containment",
      "the reply pointed the customer to another channel (pointed to another channel: 'call us' (redirect: never));"
      " not a hand-off"),
     (True, "handoff", "tool call: transfer_to_human", "premature", "the reply handed off (tool call"),
     (False, "none", "", "correct_containment", "the reply kept the conversation")],
)
def test_the_explanation_names_what_the_reply_did(escalated, kind, note, label, says) -> None:
    c = case(conversation(should_escalate=False))
    score = EscalationScorer().score(c, kind_reply(c, escalated, kind, note))
    assert score.label == label and says in score.explanation


def test_a_tool_call_only_reply_is_scored_on_its_decision() -> None:
    c = case(conversation(should_escalate=True))
    score = EscalationScorer().score(c, kind_reply(c, True, "handoff", "tool call: escalate", text=""))
    assert score.label == "correct_handoff"
    assert score.explanation.endswith("the reply handed off (no text: tool call only; tool call: escalate)")


def test_no_offline_scorer_crashes_on_a_reply_without_text() -> None:
    from evals.scorers.accuracy import AccuracyScorer
    from evals.scorers.empathy import EmpathyScorer
    from evals.scorers.human_access import HumanAccessConversationScorer, HumanAccessScorer

    c = case(conversation(should_escalate=True, facts=["order"]))
    empty = kind_reply(c, True, "handoff", "tool call: escalate", text="")
    for scorer in (AccuracyScorer(), EmpathyScorer(), EscalationScorer(), HumanAccessScorer(),
                   HumanAccessConversationScorer()):
        score = scorer.score(c, empty)
        assert score.case_id == c.case_id and score.scorer == scorer.name
