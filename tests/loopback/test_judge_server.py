"""The loopback server as an LLM judge: JSON verdicts, triggers and JSON mode, over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml

from loopback.server import (
    HANDOFF_TOOL,
    JSON_SCHEMA_UNSUPPORTED,
    JUDGE_NOT_JSON,
    LoopbackServer,
    ServerConfig,
    build_parser,
    chat_key,
    config_from_args,
    judge_triggers,
)

try:  # the harness validates verdicts with jsonschema; use it here too when it is installed
    import jsonschema
except ImportError:  # pragma: no cover - depends on the venv
    jsonschema = None

ROOT = Path(__file__).resolve().parents[2]
# the rubrics live beside the judge scorers (formerly conf/rubrics)
RUBRIC_FILES = {p.stem: p for d in ("conf/rubrics", "evals/scorers/rubrics")
                for p in sorted((ROOT / d).glob("*.yaml"))}
RUBRICS = {name: yaml.safe_load(path.read_text(encoding="utf-8"))["output"]
           for name, path in RUBRIC_FILES.items()}
SYSTEM = "You are an evaluation judge. Answer with one JSON object only."
TRANSFER_TOOL = {"type": "function", "function": {
    "name": HANDOFF_TOOL, "parameters": {"type": "object", "properties": {}}}}


# -- a small validator for the JSON Schema subset of the rubrics (and jsonschema if present) -----


def schema_errors(instance: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    errors: list[str] = []
    kind = schema.get("type")
    checks = {"object": dict, "array": list, "string": str, "boolean": bool}
    if kind == "integer":
        if type(instance) is not int:
            return [f"{path}: not an integer"]
    elif kind == "number":
        if type(instance) not in (int, float):
            return [f"{path}: not a number"]
    elif kind in checks and not isinstance(instance, checks[kind]):
        return [f"{path}: not {kind}"]
    if "enum" in schema and instance not in schema["enum"]:
        errors.append(f"{path}: {instance!r} not in enum")
    if "minimum" in schema and instance < schema["minimum"]:
        errors.append(f"{path}: below minimum")
    if "maximum" in schema and instance > schema["maximum"]:
        errors.append(f"{path}: above maximum")
    if kind == "object":
        props = schema.get("properties", {})
        errors += [f"{path}: '{r}' missing" for r in schema.get("required", ())
                   if r not in instance]
        if schema.get("additionalProperties") is False:
            errors += [f"{path}: extra '{k}'" for k in instance if k not in props]
        for k, v in instance.items():
            if k in props:
                errors += schema_errors(v, props[k], f"{path}.{k}")
    if kind == "array" and "items" in schema:
        for i, item in enumerate(instance):
            errors += schema_errors(item, schema["items"], f"{path}[{i}]")
    return errors


def assert_valid(instance: Any, schema: dict[str, Any]) -> None:
    assert schema_errors(instance, schema) == []
    if jsonschema is not None:
        jsonschema.validate(instance, schema)


def assert_invalid(instance: Any, schema: dict[str, Any]) -> None:
    assert schema_errors(instance, schema) != []
    if jsonschema is not None:
        assert not jsonschema.Draft202012Validator(schema).is_valid(instance)


# -- helpers -------------------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(ServerConfig()) as srv:
        yield srv


def schema_format(schema: dict[str, Any], name: str = "verdict") -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


def data_message(payload: dict[str, Any]) -> str:
    """A user message the way a harness sends it: a header, then the payload as JSON."""
    return "DATA\n" + json.dumps(payload, ensure_ascii=False, sort_keys=True)


def body(user: str, response_format: dict[str, Any] | None, system: str = SYSTEM,
         **extra: Any) -> dict[str, Any]:
    out = {"model": "judge-test", "messages": [{"role": "system", "content": system},
                                               {"role": "user", "content": user}],
           "temperature": 0, "seed": 7, **extra}
    if response_format is not None:
        out["response_format"] = response_format
    return out


async def _post_all(srv: LoopbackServer, bodies: list[dict[str, Any]]) -> list[Any]:
    async with openai.AsyncOpenAI(base_url=srv.openai_url, api_key="k", max_retries=0) as client:
        return [await client.chat.completions.create(**b) for b in bodies]


def complete(srv: LoopbackServer, *bodies: dict[str, Any]) -> list[Any]:
    """Post the bodies one after the other (so attempts are in order) with the openai client."""
    return asyncio.run(_post_all(srv, list(bodies)))


def verdict_of(srv: LoopbackServer, user: str, schema: dict[str, Any]) -> dict[str, Any]:
    (out,) = complete(srv, body(user, schema_format(schema)))
    return json.loads(out.choices[0].message.content)


def pairwise(reply_a: str, reply_b: str, note: str) -> str:
    return data_message({"conversation": [{"role": "customer", "text": "My parcel is late."}],
                         "note": note, "reply_a": reply_a, "reply_b": reply_b})


# -- valid verdicts ------------------------------------------------------------------------------


def test_the_rubrics_were_found() -> None:
    assert {"accuracy", "empathy", "escalation", "pairwise"} <= set(RUBRICS)


@pytest.mark.parametrize("rubric", sorted(RUBRICS))
def test_a_verdict_is_valid_against_each_rubric_schema(server: LoopbackServer, rubric: str) -> None:
    schema = RUBRICS[rubric]
    requests = [body(data_message({"reply": f"Answer number {i}"}), schema_format(schema))
                for i in range(12)]
    answers = complete(server, *requests)
    verdicts = []
    for out in answers:
        choice = out.choices[0]
        assert choice.finish_reason == "stop" and choice.message.tool_calls is None
        assert out.usage.completion_tokens > 0
        assert out.usage.total_tokens == out.usage.prompt_tokens + out.usage.completion_tokens
        verdict = json.loads(choice.message.content)
        assert_valid(verdict, schema)
        assert verdict["rationale"].startswith("Deterministic verdict ")
        verdicts.append(verdict)
    # values depend on the key: twelve requests do not all get the same verdict
    assert len({json.dumps({k: v for k, v in x.items() if k != "rationale"}, sort_keys=True)
                for x in verdicts}) > 1


def test_same_request_same_verdict_also_on_another_server(server: LoopbackServer) -> None:
    request = body(data_message({"reply": "We refund within 14 days."}),
                   schema_format(RUBRICS["accuracy"]))
    first, again = complete(server, request, request)
    with LoopbackServer() as other:
        (elsewhere,) = complete(other, request)
    assert first.choices[0].message.content == again.choices[0].message.content \
        == elsewhere.choices[0].message.content


def test_the_harness_settings_are_recorded(server: LoopbackServer) -> None:
    complete(server, body("DATA\n{}", schema_format(RUBRICS["empathy"])))
    (received,) = server.received
    assert received["temperature"] == 0 and received["seed"] == 7
    assert received["response_format"]["json_schema"]["strict"] is True


def test_a_judge_never_calls_a_tool_even_when_the_data_asks_for_a_person(
        server: LoopbackServer) -> None:
    user = data_message({"reply": "I want to talk to a human"})
    judged, plain = complete(server, body(user, schema_format(RUBRICS["empathy"]),
                                          tools=[TRANSFER_TOOL]),
                             body(user, {"type": "text"}, tools=[TRANSFER_TOOL]))
    assert_valid(json.loads(judged.choices[0].message.content), RUBRICS["empathy"])
    assert plain.choices[0].message.tool_calls[0].function.name == HANDOFF_TOOL


def test_nested_schemas_with_refs_and_optional_fields(server: LoopbackServer) -> None:
    schema = {
        "type": "object",
        "$defs": {"Claim": {"type": "object", "properties": {
            "quote": {"type": "string", "maxLength": 12}, "severe": {"type": "boolean"}},
            "required": ["quote", "severe"], "additionalProperties": False}},
        "properties": {
            "claims": {"type": "array", "items": {"$ref": "#/$defs/Claim"}, "minItems": 1},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "note": {"anyOf": [{"type": "null"}, {"type": "string"}]},
            "label": {"type": "string", "enum": ["ok", "bad"]},
        },
        "required": ["claims", "confidence", "note", "label"],
        "additionalProperties": False,
    }
    verdict = verdict_of(server, "DATA {}", schema)
    assert len(verdict["claims"]) == 1 and len(verdict["claims"][0]["quote"]) <= 12
    assert isinstance(verdict["claims"][0]["severe"], bool)
    assert 0 <= verdict["confidence"] <= 1 and isinstance(verdict["note"], str)
    assert verdict["label"] in ("ok", "bad")


# -- triggers ------------------------------------------------------------------------------------


def test_trigger_parsing() -> None:
    assert judge_triggers("no triggers") == {}
    assert judge_triggers('"x [[judge:score=4]] [[judge:flaky]] [[judge:prefer=a b]]"') == {
        "score": 4, "flaky": True, "prefer": "a b"}
    assert judge_triggers("[[judge:score=four]]") == {}


@pytest.mark.parametrize("rubric", sorted(RUBRICS))
def test_invalid_json_trigger(server: LoopbackServer, rubric: str) -> None:
    (out,) = complete(server, body(data_message({"reply": "x [[judge:invalid-json]]"}),
                                   schema_format(RUBRICS[rubric])))
    content = out.choices[0].message.content
    assert content == JUDGE_NOT_JSON == "I think the score is 4"
    assert out.choices[0].finish_reason == "stop"
    with pytest.raises(ValueError):
        json.loads(content)


@pytest.mark.parametrize("rubric,field,bad", [("accuracy", "score", 6), ("empathy", "score", 6),
                                               ("escalation", "decision", "not_a_valid_choice"),
                                               ("pairwise", "winner", "not_a_valid_choice")])
def test_bad_schema_trigger(server: LoopbackServer, rubric: str, field: str, bad: Any) -> None:
    verdict = verdict_of(server, data_message({"reply": "[[judge:bad-schema]]"}), RUBRICS[rubric])
    assert verdict[field] == bad
    assert_invalid(verdict, RUBRICS[rubric])


def test_bad_schema_leaves_out_a_required_field_when_nothing_is_bounded(
        server: LoopbackServer) -> None:
    schema = {"type": "object", "properties": {"rationale": {"type": "string"},
                                               "ok": {"type": "boolean"}},
              "required": ["rationale", "ok"], "additionalProperties": False}
    verdict = verdict_of(server, "[[judge:bad-schema]]", schema)
    assert verdict == {"ok": verdict["ok"]}
    assert_invalid(verdict, schema)


def test_flaky_trigger_fails_the_first_attempt_only(server: LoopbackServer) -> None:
    request = body(data_message({"reply": "[[judge:flaky]] [[judge:score=2]]"}),
                   schema_format(RUBRICS["empathy"]))
    first, second, third = complete(server, request, request, request)
    assert first.choices[0].message.content == JUDGE_NOT_JSON
    for later in (second, third):
        assert json.loads(later.choices[0].message.content)["score"] == 2
    assert server.attempts[chat_key(request)] == 3
    # a retry with another seed is the same key: the harness's retry gets the valid verdict
    server.reset()
    (retry_first,) = complete(server, {**request, "seed": 1007})
    assert retry_first.choices[0].message.content == JUDGE_NOT_JSON


@pytest.mark.parametrize("n", [1, 3, 5])
def test_score_trigger(server: LoopbackServer, n: int) -> None:
    for rubric in ("accuracy", "empathy"):
        verdict = verdict_of(server, data_message({"reply": f"ok [[judge:score={n}]]"}),
                             RUBRICS[rubric])
        assert verdict["score"] == n
        assert_valid(verdict, RUBRICS[rubric])


def test_an_out_of_range_score_trigger_is_ignored(server: LoopbackServer) -> None:
    verdict = verdict_of(server, "[[judge:score=9]]", RUBRICS["empathy"])
    assert_valid(verdict, RUBRICS["empathy"])


@pytest.mark.parametrize("winner", ["A", "B", "tie"])
def test_winner_trigger(server: LoopbackServer, winner: str) -> None:
    verdict = verdict_of(server, pairwise("one", "two", f"[[judge:winner={winner}]]"),
                         RUBRICS["pairwise"])
    assert verdict["winner"] == winner
    assert_valid(verdict, RUBRICS["pairwise"])


def test_position_bias_always_picks_a(server: LoopbackServer) -> None:
    for a, b in (("good reply", "bad reply"), ("bad reply", "good reply")):
        for note in ("[[judge:position-bias]]",
                     "[[judge:position-bias]] [[judge:winner=B]] [[judge:prefer=good]]"):
            assert verdict_of(server, pairwise(a, b, note), RUBRICS["pairwise"])["winner"] == "A"


@pytest.mark.parametrize("reply_a,reply_b,winner", [
    ("We refund you today.", "Please wait.", "A"),
    ("Please wait.", "We refund you today.", "B"),
    ("We refund you.", "Refund is on its way, we refund you.", "tie"),
    ("Please wait.", "Hold on.", "tie"),
    # the trigger itself inside a reply does not count as that reply containing TEXT
    ("Please wait. [[judge:prefer=refund]]", "We refund you today.", "B"),
    ("Wir erstatten den Betrag – Rückerstattung läuft.", "Bitte warten.", "A"),
])
def test_prefer_trigger_follows_the_reply_with_the_text(
        server: LoopbackServer, reply_a: str, reply_b: str, winner: str) -> None:
    text = "Rückerstattung" if "Rück" in reply_a else "refund"
    note = f"[[judge:prefer={text}]]"
    if "[[judge:" in reply_a:
        note = ""
    verdict = verdict_of(server, pairwise(reply_a, reply_b, note), RUBRICS["pairwise"])
    assert verdict["winner"] == winner


def test_prefer_is_consistent_under_position_swap(server: LoopbackServer) -> None:
    good, bad = "Your refund was sent.", "Read the FAQ."
    note = "[[judge:prefer=refund was sent]]"
    first = verdict_of(server, pairwise(good, bad, note), RUBRICS["pairwise"])
    swapped = verdict_of(server, pairwise(bad, good, note), RUBRICS["pairwise"])
    assert (first["winner"], swapped["winner"]) == ("A", "B")


def test_prefer_without_parsable_json_is_a_tie(server: LoopbackServer) -> None:
    verdict = verdict_of(server, "reply_a: refund {broken reply_b: no [[judge:prefer=refund]]",
                         RUBRICS["pairwise"])
    assert verdict["winner"] == "tie"


def test_max_tokens_cuts_a_verdict_into_broken_json(server: LoopbackServer) -> None:
    (out,) = complete(server, body("DATA {}", schema_format(RUBRICS["accuracy"]), max_tokens=2))
    assert out.choices[0].finish_reason == "length" and out.usage.completion_tokens == 2
    with pytest.raises(ValueError):
        json.loads(out.choices[0].message.content)


# -- JSON mode -----------------------------------------------------------------------------------


@pytest.mark.parametrize("rubric", sorted(RUBRICS))
def test_json_object_mode_uses_the_schema_embedded_in_the_system_message(
        server: LoopbackServer, rubric: str) -> None:
    schema = RUBRICS[rubric]
    system = (f"{SYSTEM}\nAnswer valid against this schema:\n"
              f"<output_schema>\n{json.dumps(schema, sort_keys=True)}\n</output_schema>")
    (out,) = complete(server, body(data_message({"reply": "hi"}), {"type": "json_object"},
                                   system=system))
    assert_valid(json.loads(out.choices[0].message.content), schema)


def test_json_object_mode_without_a_schema_answers_rationale_and_score(
        server: LoopbackServer) -> None:
    plain, scored, bad, broken = complete(
        server, body("DATA {}", {"type": "json_object"}),
        body("DATA [[judge:score=5]]", {"type": "json_object"}),
        body("DATA [[judge:bad-schema]]", {"type": "json_object"}),
        body("DATA [[judge:invalid-json]]", {"type": "json_object"}))
    verdict = json.loads(plain.choices[0].message.content)
    assert set(verdict) == {"rationale", "score"} and verdict["score"] == 3
    assert verdict["rationale"].startswith("Deterministic verdict ")
    assert json.loads(scored.choices[0].message.content)["score"] == 5
    assert json.loads(bad.choices[0].message.content)["score"] == 6
    assert broken.choices[0].message.content == JUDGE_NOT_JSON


def test_json_object_mode_with_unparsable_markers_falls_back(server: LoopbackServer) -> None:
    system = "<output_schema>not json</output_schema>"
    (out,) = complete(server, body("DATA {}", {"type": "json_object"}, system=system))
    assert set(json.loads(out.choices[0].message.content)) == {"rationale", "score"}


# -- servers without JSON schemas, and bad requests ----------------------------------------------


def test_json_schema_unsupported_is_a_400_but_json_object_works() -> None:
    with LoopbackServer(ServerConfig(json_schema_support=False)) as srv:
        with pytest.raises(openai.BadRequestError) as exc_info:
            complete(srv, body("DATA {}", schema_format(RUBRICS["empathy"])))
        assert exc_info.value.status_code == 400
        assert exc_info.value.body == {"message": JSON_SCHEMA_UNSUPPORTED,
                                       "type": "invalid_request_error",
                                       "param": "response_format"}
        assert "response_format" in str(exc_info.value)
        assert srv.attempts == {}  # rejected before it counts as an attempt
        fallback, plain = complete(srv, body("DATA {}", {"type": "json_object"}),
                                   body("hello", None))
        assert json.loads(fallback.choices[0].message.content)["score"] == 3
        assert plain.choices[0].message.content.startswith("Thanks for your message.")


def test_no_json_schema_cli_flag() -> None:
    assert config_from_args(build_parser().parse_args([])).json_schema_support is True
    args = build_parser().parse_args(["--no-json-schema"])
    assert config_from_args(args).json_schema_support is False
    assert "--no-json-schema" in build_parser().format_help()


@pytest.mark.parametrize("response_format", [
    "json", {"type": "yaml"}, {"type": "json_schema"},
    {"type": "json_schema", "json_schema": {"schema": {}}},
    {"type": "json_schema", "json_schema": {"name": "v", "schema": []}},
])
def test_a_malformed_response_format_is_a_400(server: LoopbackServer, response_format) -> None:
    with pytest.raises(openai.BadRequestError) as exc_info:
        complete(server, body("DATA {}", response_format))
    assert exc_info.value.body["param"] == "response_format"
