"""The recorded bot: what the production bot did at each decision point, read from the log."""

import asyncio

import pytest
from fake_reader import FakeReader

from evals.load import build_cases
from evals.memory import Memory
from evals.types import Conversation
from evals.variants.recorded import NoRecordedReply, RecordedBot


def log(*turns: dict, language: str = "en") -> Conversation:
    """A logged chat; each customer turn the bot answers next is a decision point."""
    return Conversation.model_validate({
        "conversation_id": "log", "language": language, "turns": list(turns),
        "references": [{"turn": i} for i, t in enumerate(turns[:-1])
                       if t["role"] == "customer" and turns[i + 1]["role"] == "bot"]})


def customer(text: str) -> dict:
    return {"role": "customer", "text": text}


def bot(text: str = "", **extra) -> dict:
    return {"role": "bot", "text": text, **extra}


def answers(conv: Conversation, **config):
    recorded = RecordedBot("recorded", reader=FakeReader(), **config)
    cases = build_cases([conv])
    recorded.prepare(Memory.from_cases(cases))
    return [asyncio.run(recorded.respond(c.inquiry())) for c in cases]


def test_a_transfer_that_is_only_a_tool_call_is_a_handoff_with_no_text() -> None:
    [answer] = answers(log(customer("My card was stolen"),
                           bot(tool_calls=[{"name": "transfer_to_human_agents", "arguments": '{"reason": "fraud"}'}])))
    assert (answer.text, answer.escalated, answer.handoff_kind) == ("", True, "handoff")
    assert answer.note == "tool call: transfer_to_human_agents (fraud)"


def test_text_then_a_tool_call_is_one_reply() -> None:
    [answer] = answers(log(customer("My card was stolen"), bot("Let me get a colleague."),
                           bot(tool_calls=[{"name": "escalate"}]), customer("ok")))
    assert (answer.text, answer.escalated, answer.note) == ("Let me get a colleague.", True, "tool call: escalate")


def test_the_explicit_flag_wins_both_ways() -> None:
    first, second = answers(log(customer("hi"), bot("[transfer] now", handoff=False),
                                customer("and?"), bot("Anything else?", handoff=True)))
    assert (first.escalated, first.handoff_kind) == (False, "handoff") and first.note.startswith("explicit")
    assert (second.escalated, second.handoff_kind, second.note) == (True, "handoff", "explicit handoff: true")


@pytest.mark.parametrize(
    ("answer_turn", "escalated", "says"),
    [("[yes] please", True, "the customer accepted"), ("[no] thanks, just tell me", False, "the customer declined"),
     ("What is the fee?", False, "did not take it up"), (None, False, "did not take it up")],
)
def test_an_offer_counts_only_when_the_customer_accepts_it(answer_turn, escalated, says) -> None:
    turns = [customer("I need help"), bot("[offer] Shall I connect you with a colleague?")]
    turns += [customer(answer_turn)] if answer_turn else []
    answer = answers(log(*turns))[0]
    assert (answer.escalated, answer.handoff_kind) == (escalated, "offer") and says in answer.note


def test_offer_and_redirect_rules_are_configurable() -> None:
    conv = log(customer("I need help"), bot("[offer] Shall I connect you?"), customer("[no]"),
               bot("[hotline] Call 0800 123"), customer("ok"))
    offer, redirect = answers(conv)
    assert not offer.escalated and not redirect.escalated and redirect.handoff_kind == "redirect"
    offer, redirect = answers(conv, offer="always", redirect="always")
    assert offer.escalated and redirect.escalated
    assert not answers(log(customer("x"), bot("[offer] ?"), customer("[yes]")), offer="never")[0].escalated


def test_configured_tool_names_and_the_text_reading() -> None:
    conv = log(customer("hi"), bot("One moment", tool_calls=[{"name": "page_team"}]), customer("?"),
               bot("I [transfer] you now"))
    tool, text = answers(conv, handoff_tools=["page_team"])
    assert tool.escalated and text.escalated and text.note == "hand-off phrase: '[transfer]'"
    assert not answers(conv)[0].escalated  # page_team is not a default hand-off tool


def test_customer_view_shows_the_translation_but_reads_the_written_text() -> None:
    conv = Conversation.model_validate({
        "conversation_id": "log", "language": "de", "agent_language": "en",
        "turns": [customer("Hilfe"), bot("I [transfer] you", translation="Ich verbinde Sie")],
        "references": [{"turn": 0}]})
    recorded = RecordedBot("recorded", reader=FakeReader())
    [c] = build_cases([conv], view="customer")
    recorded.prepare(Memory.from_cases([c]))
    answer = asyncio.run(recorded.respond(c.inquiry()))
    assert (answer.text, answer.escalated) == ("Ich verbinde Sie", True)


def test_no_bot_turn_before_the_next_customer_turn_is_no_reply() -> None:
    recorded = RecordedBot("recorded")
    conv = Conversation.model_validate({
        "conversation_id": "log", "language": "en", "references": [{"turn": 0}],
        "turns": [customer("hi"), customer("hello?"), {"role": "agent", "text": "Hi"}, bot("late")]})
    cases = build_cases([conv])
    recorded.prepare(Memory.from_cases(cases))
    with pytest.raises(NoRecordedReply):
        asyncio.run(recorded.respond(cases[0].inquiry()))
