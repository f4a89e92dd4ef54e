"""The shared hand-off rule: explicit flag, then a hand-off tool, then the text's reading."""

import pytest
from builders import conversation
from fake_reader import FakeReader

from evals.errors import UserError
from evals.handoff import HandoffReading
from evals.types import Conversation, ToolCall
from evals.variants.handoff_policy import DefaultReader, HandoffPolicy, make_reader, reply_turns

READER = FakeReader()
POLICY = HandoffPolicy()


def test_an_explicit_flag_wins_over_tools_and_words() -> None:
    transfer = [ToolCall(name="transfer_to_human")]
    no = POLICY.decide("[transfer] now", READER, explicit=False, tool_calls=transfer)
    assert (no.escalated, no.kind) == (False, "handoff") and no.note.startswith("explicit handoff: false")
    yes = POLICY.decide("Anything else?", READER, explicit=True)
    assert (yes.escalated, yes.kind, yes.note) == (True, "handoff", "explicit handoff: true")


def test_a_handoff_tool_call_is_a_handoff_without_words() -> None:
    decision = POLICY.decide("", READER, tool_calls=[ToolCall(name="lookup_order"),
                                                      ToolCall(name="escalate", arguments='{"reason": "angry"}')])
    assert (decision.escalated, decision.kind, decision.note) == (True, "handoff", "tool call: escalate (angry)")
    other = POLICY.decide("", READER, tool_calls=[ToolCall(name="lookup_order")])
    assert (other.escalated, other.kind) == (False, "none")


def test_handoff_tool_names_are_configurable() -> None:
    mine = HandoffPolicy.configured("bot", handoff_tools=["page_supervisor"])
    assert mine.decide("", READER, tool_calls=[ToolCall(name="page_supervisor")]).escalated
    assert not mine.decide("", READER, tool_calls=[ToolCall(name="transfer_to_human")]).escalated


@pytest.mark.parametrize(
    ("offer", "reaction", "escalated", "says"),
    [("accepted", "accepted", True, "the customer accepted"),
     ("accepted", "declined", False, "the customer declined"),
     ("accepted", "silent", False, "did not take it up"),
     ("accepted", "unseen", True, "counted as a hand-off attempt"),
     ("always", "declined", True, "offer: always"),
     ("never", "accepted", False, "offer: never")],
)
def test_an_offer_counts_by_the_rule_and_the_customer_reaction(offer, reaction, escalated, says) -> None:
    asked = []
    decision = HandoffPolicy(offer=offer).decide("[offer] a colleague?", READER,
                                                 reaction=lambda: asked.append(1) or reaction)
    assert (decision.escalated, decision.kind) == (escalated, "offer") and says in decision.note
    assert len(asked) == (offer == "accepted")  # the next turn is read only when it matters


def test_redirects_refusals_and_plain_replies() -> None:
    assert not POLICY.decide("[hotline] 0800", READER).escalated
    assert HandoffPolicy(redirect="always").decide("[hotline] 0800", READER).escalated
    refusal = POLICY.decide("[refuse] no agents", READER)
    assert (refusal.escalated, refusal.kind) == (False, "refusal")
    assert POLICY.decide("Your order ships today.", READER) == POLICY.read(HandoffReading("none"))


def test_bad_policy_keys_are_one_line_errors_naming_the_key() -> None:
    with pytest.raises(UserError, match=r"variant.recorded.offer: must be accepted, always, never; got 'maybe'"):
        HandoffPolicy.configured("recorded", offer="maybe")
    with pytest.raises(UserError, match=r"variant.recorded.redirect: must be never, always"):
        HandoffPolicy.configured("recorded", redirect="sometimes")


def test_a_reader_by_name_must_read_both_sides() -> None:
    assert isinstance(make_reader("fake_reader:FakeReader"), FakeReader)
    assert isinstance(make_reader(None), DefaultReader)
    with pytest.raises(UserError, match="has no classify, asks_for_human, answers_offer"):
        make_reader("builders:conversation")
    with pytest.raises(UserError, match="cannot be made without arguments"):
        make_reader("builders:Case")


def test_the_reply_is_the_first_turns_of_its_side_before_the_next_customer_turn() -> None:
    conv = Conversation.model_validate({
        "conversation_id": "c", "language": "en", "turns": [
            {"role": "customer", "text": "hi"}, {"role": "agent", "text": "queue note"},
            {"role": "bot", "text": "One moment."}, {"role": "bot", "tool_calls": [{"name": "handoff"}]},
            {"role": "agent", "text": "Hello, Sam here"}, {"role": "bot", "text": "late"},
            {"role": "customer", "text": "thanks"}]})
    turns, answer = reply_turns(conv, 0, "bot")
    assert [t.text for t in turns] == ["One moment.", ""] and answer is not None and answer.text == "thanks"
    assert reply_turns(conversation(), 0, "bot") == ([], None)
