"""The loopback server, exercised for real over HTTP on 127.0.0.1 with the harness's clients."""

from __future__ import annotations

import asyncio
import json
import queue
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx2
import openai
import pytest

from loopback.server import (
    HANDOFF_REASON,
    HANDOFF_TEXT,
    HANDOFF_TOOL,
    Faults,
    LoopbackServer,
    ServerConfig,
    bot_key,
    chat_key,
    main,
    planned_fault,
    request_key,
)

ROOT = Path(__file__).resolve().parents[2]

TRANSFER_TOOL = {
    "type": "function",
    "function": {
        "name": HANDOFF_TOOL,
        "description": "Hand the conversation over to a human colleague.",
        "parameters": {"type": "object", "properties": {"reason": {"type": "string"}},
                       "required": ["reason"]},
    },
}


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(ServerConfig()) as srv:
        yield srv


def client_for(srv: LoopbackServer, **kwargs) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=srv.openai_url, api_key="test-key", max_retries=0, **kwargs)


def chat(srv: LoopbackServer, text: str, **kwargs) -> openai.types.chat.ChatCompletion:
    async def go():
        async with client_for(srv) as client:
            return await client.chat.completions.create(
                model="gpt-test", messages=[{"role": "system", "content": "Be kind."},
                                            {"role": "user", "content": text}], **kwargs)
    return asyncio.run(go())


def bot_body(text: str, **overrides) -> dict:
    return {"conversation_id": "conv-1", "case_id": "case-1", "language": "en", "channel": "chat",
            "messages": [{"role": "customer", "text": text}], **overrides}


# -- chat completions -------------------------------------------------------------------------


def test_openai_client_parses_a_deterministic_completion(server: LoopbackServer) -> None:
    first = chat(server, "My parcel never arrived")
    again = chat(server, "My parcel never arrived")

    assert first.object == "chat.completion" and first.model == "gpt-test"
    choice = first.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    key = chat_key({"model": "gpt-test", "messages": [{"role": "system", "content": "Be kind."},
                                                      {"role": "user",
                                                       "content": "My parcel never arrived"}]})
    assert choice.message.content == f"Thanks for your message. (ref {key[:8]})"
    assert choice.message.tool_calls is None
    # 2 + 4 words in, 6 words out
    assert (first.usage.prompt_tokens, first.usage.completion_tokens,
            first.usage.total_tokens) == (6, 6, 12)
    assert again.choices[0].message.content == choice.message.content and again.id == first.id
    assert server.attempts == {key: 2}
    assert server.tokens_seen == {"test-key"}
    assert server.received[0]["messages"][1]["content"] == "My parcel never arrived"
    assert "test-key" not in json.dumps(server.received)


def test_asking_for_a_person_with_the_transfer_tool_gives_a_tool_call(
        server: LoopbackServer) -> None:
    out = chat(server, "Can I talk to a human please?", tools=[TRANSFER_TOOL], temperature=0,
               seed=7, max_tokens=50, tool_choice="auto")

    choice = out.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.type == "function" and call.function.name == HANDOFF_TOOL
    assert json.loads(call.function.arguments) == {"reason": HANDOFF_REASON}
    assert out.usage.completion_tokens == 1
    assert server.received[0]["tools"][0]["function"]["name"] == HANDOFF_TOOL


def test_asking_for_a_person_without_tools_gives_the_transfer_text(server: LoopbackServer) -> None:
    out = chat(server, "Get me your MANAGER now")
    assert out.choices[0].finish_reason == "stop"
    assert out.choices[0].message.content == HANDOFF_TEXT
    assert out.usage.completion_tokens == len(HANDOFF_TEXT.split())
    # tool_choice "none" also answers with text
    assert chat(server, "a person please", tools=[TRANSFER_TOOL],
                tool_choice="none").choices[0].message.content == HANDOFF_TEXT


def test_after_the_transfer_tool_answered_the_model_replies_with_text(
        server: LoopbackServer) -> None:
    async def go():
        async with client_for(server) as client:
            return await client.chat.completions.create(model="gpt-test", tools=[TRANSFER_TOOL],
                                                        messages=messages)
    messages = [
        {"role": "user", "content": "I want a human"},
        {"role": "assistant", "content": None, "tool_calls": [{
            "id": "call_1", "type": "function",
            "function": {"name": HANDOFF_TOOL, "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "transferred"},
    ]
    out = asyncio.run(go())
    assert out.choices[0].message.tool_calls is None
    assert out.choices[0].message.content == HANDOFF_TEXT


def test_max_tokens_cuts_the_answer_with_finish_reason_length(server: LoopbackServer) -> None:
    out = chat(server, "hello", max_tokens=2)
    assert out.choices[0].finish_reason == "length"
    assert out.choices[0].message.content == "Thanks for"
    assert out.usage.completion_tokens == 2


def test_a_missing_or_empty_key_is_a_401(server: LoopbackServer) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    url = server.openai_url + "/chat/completions"
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}):
        r = httpx2.post(url, json=body, headers=headers)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "invalid_api_key"
    assert server.tokens_seen == set() and server.attempts == {} and server.received == []
    assert server.total_requests == 3


def test_a_malformed_chat_request_is_a_400(server: LoopbackServer) -> None:
    async def go():
        async with client_for(server) as client:
            await client.chat.completions.create(
                model="m", messages=[{"role": "wizard", "content": "hi"}])
    with pytest.raises(openai.BadRequestError, match="role"):
        asyncio.run(go())


# -- the team bot -------------------------------------------------------------------------------


def test_bot_route_replies_and_hands_off(server: LoopbackServer) -> None:
    with httpx2.Client(timeout=5) as http:
        plain = http.post(server.bot_url, json=bot_body("Where is my refund?"))
        person = http.post(server.bot_url, json=bot_body("Let me speak to an agent", channel=None))
    assert plain.status_code == 200
    key = bot_key(bot_body("Where is my refund?"))
    assert plain.json() == {"reply": f"Thank you for contacting us. (ref {key[:8]})",
                            "handoff": False, "reason": None}
    assert person.json() == {"reply": HANDOFF_TEXT, "handoff": True, "reason": HANDOFF_REASON}
    assert [b["case_id"] for b in server.received] == ["case-1", "case-1"]
    assert server.attempts[key] == 1


def test_bot_looks_at_the_last_customer_message(server: LoopbackServer) -> None:
    body = bot_body("I want a person", messages=[
        {"role": "customer", "text": "I want a person"},
        {"role": "agent", "text": "Sure, hold on"},
        {"role": "customer", "text": "Never mind, it works now"},
        {"role": "bot", "text": "Glad to hear it, human!"},
    ])
    assert httpx2.post(server.bot_url, json=body).json()["handoff"] is False


@pytest.mark.parametrize("body", [
    {k: v for k, v in bot_body("hi").items() if k != "case_id"},
    bot_body("hi", messages=[{"role": "robot", "text": "hi"}]),
    bot_body("hi", messages=[{"role": "customer", "text": 3}]),
    bot_body("hi", channel=5),
    ["not", "an", "object"],
])
def test_a_body_off_the_bot_contract_is_a_400(server: LoopbackServer, body) -> None:
    r = httpx2.post(server.bot_url, json=body)
    assert r.status_code == 400 and r.json()["error"]["message"]


def test_invalid_json_is_a_400(server: LoopbackServer) -> None:
    r = httpx2.post(server.bot_url, content=b"{nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "JSON" in r.json()["error"]["message"]


# -- faults -----------------------------------------------------------------------------------


def test_planned_faults_cover_the_configured_shares() -> None:
    faults = Faults(fail_rate=0.2, hang_rate=0.1)
    keys = [request_key({"i": i}) for i in range(4000)]
    first = Counter(planned_fault(k, 1, faults) for k in keys)
    assert abs(first["429"] + first["500"] - 800) < 100 and abs(first["429"] - first["500"]) < 120
    assert abs(first["hang"] - 400) < 80
    assert all(planned_fault(k, 2, faults) is None for k in keys)
    with pytest.raises(ValueError):
        Faults(fail_rate=0.7, hang_rate=0.5)


def test_fail_rate_fails_about_half_the_first_attempts_and_every_retry_succeeds() -> None:
    config = ServerConfig(faults=Faults(fail_rate=0.5, retry_after_s=0.05))
    messages = [[{"role": "user", "content": f"question number {i}"}] for i in range(40)]

    async def one(client, msgs):
        try:
            await client.chat.completions.create(model="gpt-test", messages=msgs)
            return 200, None
        except (openai.RateLimitError, openai.InternalServerError) as exc:
            return exc.status_code, exc.response.headers.get("retry-after")

    async def go(srv):
        async with client_for(srv) as client:
            first = await asyncio.gather(*(one(client, m) for m in messages))
            second = await asyncio.gather(*(one(client, m) for m in messages))
        return first, second

    with LoopbackServer(config) as srv:
        first, second = asyncio.run(go(srv))
        statuses = Counter(status for status, _ in first)
        assert 12 <= statuses[429] + statuses[500] <= 28
        assert statuses[429] > 0 and statuses[500] > 0
        assert {ra for status, ra in first if status == 429} == {"0.05"}
        assert all(ra is None for status, ra in first if status != 429)
        assert [status for status, _ in second] == [200] * 40
        assert srv.total_requests == 80 and set(srv.attempts.values()) == {2}

        stats = httpx2.get(srv.base_url + "/stats").json()
        assert stats["requests"] == 80 and len(stats["by_key"]) == 40
        assert httpx2.post(srv.base_url + "/reset").status_code == 200
        assert srv.total_requests == 0 and srv.attempts == {} and srv.received == []
        assert httpx2.get(srv.base_url + "/stats").json() == {"requests": 0, "by_key": {}}


def test_bot_route_fails_first_attempts_too() -> None:
    with LoopbackServer(ServerConfig(faults=Faults(fail_rate=1.0))) as srv, \
            httpx2.Client(timeout=5) as http:
        codes = [http.post(srv.bot_url, json=bot_body(f"case {i}")).status_code for i in range(8)]
        assert set(codes) <= {429, 500} and len(codes) == 8
        assert [http.post(srv.bot_url, json=bot_body(f"case {i}")).status_code
                for i in range(8)] == [200] * 8


def test_a_hanging_first_attempt_exceeds_a_short_timeout_and_shutdown_does_not_wait() -> None:
    config = ServerConfig(faults=Faults(hang_rate=1.0, hang_s=5.0))

    async def go(srv):
        async with client_for(srv, timeout=0.3) as client:
            msgs = [{"role": "user", "content": "hello?"}]
            started = time.monotonic()
            with pytest.raises(openai.APITimeoutError):
                await client.chat.completions.create(model="m", messages=msgs)
            assert time.monotonic() - started < 2
            out = await client.chat.completions.create(model="m", messages=msgs)
            assert out.choices[0].finish_reason == "stop"

    srv = LoopbackServer(config).start()
    try:
        asyncio.run(go(srv))
        assert list(srv.attempts.values()) == [2]
    finally:
        started = time.monotonic()
        srv.stop()
    assert time.monotonic() - started < 2.5


def test_latency_is_added_to_answers() -> None:
    with LoopbackServer(ServerConfig(latency_s=0.15)) as srv:
        started = time.monotonic()
        assert httpx2.post(srv.bot_url, json=bot_body("hi")).status_code == 200
        assert time.monotonic() - started >= 0.15


def test_stopping_leaves_no_thread_behind() -> None:
    before = set(threading.enumerate())
    with LoopbackServer() as srv:
        assert httpx2.post(srv.bot_url, json=bot_body("hi")).status_code == 200
    assert set(threading.enumerate()) <= before
    with pytest.raises(httpx2.ConnectError):
        httpx2.post(srv.bot_url, json=bot_body("hi"))


# -- command line -------------------------------------------------------------------------------


def test_help_explains_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for expected in ("--latency", "--fail-rate", "--hang-rate", "--retry-after", "--no-record",
                     "READY"):
        assert expected in out


def test_cli_prints_ready_answers_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "loopback.server", "--latency", "0.01", "--fail-rate", "0",
         "--no-record", "--port", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(proc.stdout.readline()), daemon=True).start()
    try:
        ready = lines.get(timeout=20)
        assert ready.startswith("READY http://127.0.0.1:") and ready.endswith("\n")
        base_url = ready.split()[1]
        reply = httpx2.post(base_url + "/bot", json=bot_body("I need a manager"), timeout=5)
        assert reply.json()["handoff"] is True
        completion = httpx2.post(base_url + "/v1/chat/completions",
                                 headers={"Authorization": "Bearer k"},
                                 json={"model": "m", "messages": [{"role": "user",
                                                                   "content": "hi"}]}, timeout=5)
        assert completion.json()["choices"][0]["message"]["content"].startswith("Thanks")
        assert httpx2.get(base_url + "/stats").json()["requests"] == 2
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert out == "" and err == ""
