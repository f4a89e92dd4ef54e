"""The input records: tool calls and explicit hand-offs on turns."""

import math

import pytest
from pydantic import ValidationError

from evals.load import build_cases
from evals.types import ISO_639_1, MAX_NESTING, Conversation, Reference, ToolCall, Turn, nesting_depth


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


def chat(**fields: object) -> dict:
    return {"conversation_id": "c", "language": "en",
            "turns": [{"role": "customer", "text": "Hi"}, {"role": "agent", "text": "Hello"},
                      {"role": "customer", "text": "Refund?"}],
            "references": [{"turn": 0, "reply": "Hello"}], **fields}


@pytest.mark.parametrize(
    ("model", "record", "message"),
    [
        (Conversation, chat(references=[{"turn": 2}, {"turn": 0}, {"turn": 2, "reply": "No"}]),
         r"references.2.turn: turn 2 already has a reference \(references.0\)"),
        (Conversation, chat(outcome={"csat": math.nan}), "csat: nan is not a finite number"),
        (Conversation, chat(outcome={"csat": math.inf}), "csat: inf is not a finite number"),
        (Conversation, chat(language="english-ish??"), "'english-ish\\?\\?' is not an ISO 639-1 language code"),
        (Conversation, chat(language="e"), "at least 2 characters"),
        (Conversation, chat(agent_language="qq"), "'qq' is not an ISO 639-1"),
        (Conversation, chat(agent_language="en-"), "'en-' is not an ISO 639-1"),
        (Conversation, chat(language="en US"), "'en US' is not an ISO 639-1"),
        (Turn, {"role": "customer", "text": "\u00a0\n "}, "text: only whitespace"),
        (Turn, {"role": "customer", "text": "Hi", "translation": "\t"}, "empty or only whitespace"),
        (Turn, {"role": "customer", "text": "Hi", "timestamp": "2024-13-01T00:00:00"}, "not an ISO 8601"),
        (Turn, {"role": "customer", "text": "Hi", "timestamp": ""}, "not an ISO 8601"),
        (Reference, {"turn": 0, "reply": "\n"}, "empty or only whitespace"),
        (Reference, {"turn": 0, "required_facts": [""]}, "empty or only whitespace"),
        (ToolCall, {"name": "x", "arguments": {"a": float("nan")}}, "a: nan is not a finite number"),
        (ToolCall, {"name": "x", "arguments": '{"a": -Infinity}'}, "a: -inf is not a finite number"),
        (ToolCall, {"name": "x", "arguments": '{"a": ' + "[" * 30 + "]" * 30 + "}"}, "nested deeper than 20 levels"),
        (ToolCall, {"name": "x", "arguments": '{"a": ' + "[" * 100_000}, "nested deeper than 20 levels"),
    ],
)
def test_records_refuse_what_would_corrupt_the_results(model: type, record: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        model.model_validate(record)


def test_language_codes_are_iso_639_1_with_an_optional_region_in_any_case() -> None:
    assert len(ISO_639_1) == 185 and {"en", "pt", "zh", "sh", "bh"} <= ISO_639_1
    for code in ("en", "EN", "pt-BR", "pt_br", "en_US", "zh-Hant-TW", "es-419"):
        assert Conversation.model_validate(chat(language=code, agent_language=code)).language == code


def test_nesting_depth_is_measured_without_recursion() -> None:
    deep: list = []
    for _ in range(200_000):  # far past Python's recursion limit
        deep = [deep]
    depth, path = nesting_depth({"a": deep})
    assert depth == MAX_NESTING + 1 and path[:2] == ["a", "0"]
    assert nesting_depth({"a": [1, {"b": []}]}) == (4, ["a", "1", "b"])  # dict, list, dict, list
    assert nesting_depth("text") == (0, [])
