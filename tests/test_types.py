"""The input records: tool calls and explicit hand-offs on turns."""

import pytest
from pydantic import ValidationError

from evals.load import build_cases
from evals.types import Conversation, ToolCall, Turn


def test_tool_calls_in_either_log_shape_with_object_or_json_string_arguments() -> None:
    flat = ToolCall.model_validate({"name": "transfer_to_human", "arguments": {"reason": "asked"}})
    openai = ToolCall.model_validate({"id": "call_1", "type": "function",
                                      "function": {"name": "transfer_to_human", "arguments": '{"reason": "asked"}'}})
    assert (openai.name, openai.id) == ("transfer_to_human", "call_1")
    assert flat.parsed_arguments() == openai.parsed_arguments() == {"reason": "asked"}
    assert ToolCall(name="escalate").parsed_arguments() == {}


@pytest.mark.parametrize(
    ("call", "message"),
    [({"name": "x", "arguments": "{not json"}, "not valid JSON"),
     ({"name": "x", "arguments": "[1, 2]"}, "must hold an object"),
     ({"name": ""}, "at least 1 character"),
     ({"type": "retrieval", "function": {"name": "x"}}, "only 'function' tool calls")],
)
def test_malformed_tool_calls(call: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ToolCall.model_validate(call)


def test_a_bot_or_agent_turn_may_be_only_a_tool_call_a_customer_turn_may_not() -> None:
    for role in ("bot", "agent"):
        turn = Turn.model_validate({"role": role, "tool_calls": [{"name": "handoff"}], "handoff": True})
        assert turn.text == "" and turn.handoff is True
    with pytest.raises(ValidationError, match="text: required, and not empty, unless"):
        Turn.model_validate({"role": "bot", "text": ""})
    with pytest.raises(ValidationError, match="tool_calls: a customer turn cannot call tools"):
        Turn.model_validate({"role": "customer", "text": "hi", "tool_calls": [{"name": "handoff"}]})
    with pytest.raises(ValidationError, match="handoff: a customer turn cannot hand off"):
        Turn.model_validate({"role": "customer", "text": "hi", "handoff": False})


def test_the_replayed_history_keeps_tool_calls_and_shows_translations() -> None:
    conv = Conversation.model_validate({
        "conversation_id": "c", "language": "de", "agent_language": "en",
        "turns": [{"role": "customer", "text": "Hallo", "translation": "Hello"},
                  {"role": "bot", "tool_calls": [{"name": "lookup"}]},
                  {"role": "customer", "text": "Und?", "translation": "And?"},
                  {"role": "agent", "text": "Done."}],
        "references": [{"turn": 2, "reply": "Done."}]})
    [case] = build_cases([conv])
    history = case.history()
    assert [t.text for t in history] == ["Hello", "", "And?"]
    assert history[1].tool_calls[0].name == "lookup" and history[0].translation is None
