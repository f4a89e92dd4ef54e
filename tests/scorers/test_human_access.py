"""Could the customer reach a person: per reply (human_access) and per conversation."""

import asyncio
import math
from dataclasses import replace

import pandas as pd
import pytest
from builders import case, conversation, reply
from fake_reader import FakeReader

from evals import handoff
from evals.aggregate import summarise
from evals.load import build_cases
from evals.scorers.human_access import HumanAccessConversationScorer, HumanAccessScorer


def answered(c, escalated: bool = False, kind: str = "none", error: str | None = None):
    return replace(reply(c, escalated=escalated, error=error), handoff_kind=kind)


ASKS = conversation(turns=[("customer", "[human please] now"), ("agent", "...")])


@pytest.mark.parametrize(
    ("escalated", "kind", "label", "value", "says"),
    [(True, "handoff", "honoured", 1.0, "the reply handed off"),
     (False, "offer", "honoured", 1.0, "the reply offered one"),
     (False, "redirect", "refused_human_request", 0.0, "pointed to another channel"),
     (False, "refusal", "refused_human_request", 0.0, "the reply refused"),
     (False, "none", "refused_human_request", 0.0, "neither handed off nor offered one")],
)
def test_a_request_for_a_person_is_honoured_by_a_handoff_or_an_offer(escalated, kind, label, value, says) -> None:
    c = case(ASKS)
    score = HumanAccessScorer(reader=FakeReader()).score(c, answered(c, escalated, kind))
    assert (score.label, score.value) == (label, value) and says in score.explanation
    assert "'[human please]'" in score.explanation


def test_no_request_and_failed_replies() -> None:
    c = case()
    score = HumanAccessScorer(reader=FakeReader()).score(c, answered(c))
    assert (score.label, score.value) == ("no_request", 1.0)
    failed = HumanAccessScorer(reader=FakeReader()).score(c, answered(c, error="TimeoutError"))
    assert failed.label is None and math.isnan(failed.value) and "TimeoutError" in failed.explanation


def test_the_customer_words_as_written_and_the_conversation_language_are_read(monkeypatch) -> None:
    seen = []
    monkeypatch.setattr(handoff, "asks_for_human", lambda text, language=None: seen.append((text, language)))
    conv = conversation(turns=[("customer", "Ich will einen Menschen"), ("agent", "...")], language="de")
    conv = conv.model_copy(update={"turns": [conv.turns[0].model_copy(update={"translation": "I want a human"}),
                                             conv.turns[1]], "agent_language": "en"})
    c = case(conv)
    assert c.inquiry().last_message == "I want a human"  # the agent view reads the translation
    HumanAccessScorer().score(c, answered(c))
    assert seen == [("Ich will einen Menschen", "de")]


def conversation_scores(turns, escalated_at: set[int], errors: set[int] = frozenset()):
    conv = conversation("talk", turns=turns)
    cases = build_cases([conv])
    replies = [answered(c, c.turn_index in escalated_at, "handoff" if c.turn_index in escalated_at else "none",
                        "boom" if c.turn_index in errors else None) for c in cases]
    scorer = HumanAccessConversationScorer(reader=FakeReader())
    return cases, asyncio.run(scorer.score_many(cases, replies))


THREE = [("customer", "hi"), ("agent", "a"), ("customer", "[human please]"), ("agent", "b"),
         ("customer", "hello?"), ("agent", "c")]


@pytest.mark.parametrize(
    ("escalated_at", "label", "value"),
    [({4}, "reached_after_asking", 1.0), ({0}, "reached_unasked", 1.0),
     (set(), "asked_not_reached", 0.0)],
)
def test_one_score_per_conversation_on_its_last_decision_point(escalated_at, label, value) -> None:
    cases, [score] = conversation_scores(THREE, escalated_at)
    assert (score.case_id, score.label, score.value) == (cases[-1].case_id, label, value)


def test_a_conversation_without_request_or_handoff_and_one_with_every_reply_failed() -> None:
    _, [score] = conversation_scores([("customer", "hi"), ("agent", "a")], set())
    assert score.label == "not_reached"
    _, [failed] = conversation_scores([("customer", "hi"), ("agent", "a")], set(), errors={0})
    assert failed.label is None and math.isnan(failed.value)


def test_ratios_flow_through_the_aggregate() -> None:
    convs = [conversation(f"c{i}", turns=[("customer", "[human please]" if i < 3 else "hi"), ("agent", "a")])
             for i in range(4)]
    cases = build_cases(convs)
    replies = [answered(c, escalated=c.conversation.conversation_id == "c0") for c in cases]
    per_reply, per_conversation = HumanAccessScorer(reader=FakeReader()), HumanAccessConversationScorer(
        reader=FakeReader())
    scores = [per_reply.score(c, r) for c, r in zip(cases, replies)]
    scores += asyncio.run(per_conversation.score_many(cases, replies))
    frame = pd.DataFrame({"case_id": [s.case_id for s in scores], "conversation_id": [s.case_id[:2] for s in scores],
                          "variant": "bot", "scorer": [s.scorer for s in scores], "value": [s.value for s in scores],
                          "label": [s.label for s in scores]})
    metrics = summarise(frame, [per_reply, per_conversation], n_boot=50).set_index("metric")
    assert metrics.loc["human_access.refused_rate", "value"] == pytest.approx(2 / 3)
    assert metrics.loc["human_access.refused_rate", "n"] == 3
    assert metrics.loc["human_access.request_rate", "value"] == pytest.approx(3 / 4)
    assert metrics.loc["human_access_conversation.reached_rate", "value"] == pytest.approx(1 / 4)
    assert metrics.loc["human_access_conversation.asked_first_rate", "value"] == pytest.approx(1.0)
    assert metrics.loc["human_access_conversation.unmet_request_rate", "value"] == pytest.approx(2 / 3)


def test_a_person_answering_honours_the_request_and_reaches_a_person() -> None:
    c = case(ASKS)
    by_agent = replace(answered(c), variant="human")
    score = HumanAccessScorer(reader=FakeReader()).score(c, by_agent)
    assert (score.label, score.value) == ("honoured", 1.0) and "a person answered" in score.explanation
    conversation_score = HumanAccessConversationScorer(reader=FakeReader()).score(c, by_agent)
    assert conversation_score.label == "reached_after_asking"
    # the same reply from a variant not listed in `people` refuses the request
    bot = HumanAccessScorer(reader=FakeReader(), people=[]).score(c, by_agent)
    assert bot.label == "refused_human_request"
