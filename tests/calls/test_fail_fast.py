"""An endpoint that cannot answer at all stops the run in seconds, naming the URL and never the key."""

import asyncio
import socket
import time

import pytest
from builders import case, conversation
from call_helpers import KEY, http_bot, judge, judge_pairs, openai_bot

from evals.calls.failures import Refused
from evals.errors import EndpointUnusable
from evals.memory import Memory
from loopback.server import LoopbackServer, ServerConfig


def closed_port_url() -> str:
    with socket.socket() as s:  # bound then closed: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def many(n: int = 20):
    return [case(conversation(f"c{i}", turns=[("customer", f"Question {i}"), ("agent", "ok")])) for i in range(n)]


def ask_all(variant, cases) -> list:
    """Every inquiry at once, as the replay's workers would; outcomes or exceptions."""
    async def go():
        try:
            return await asyncio.gather(*(variant.respond(c.inquiry()) for c in cases), return_exceptions=True)
        finally:
            await variant.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("url", [closed_port_url(), "http://no-such-host.invalid/v1"], ids=["refused", "dns"])
def test_an_unreachable_bot_is_unusable_at_once(url: str) -> None:
    bot = openai_bot(url, limits={"max_retries": 5, "backoff_s": 1.0})
    cases = many()
    bot.prepare(Memory.from_cases(cases))
    start = time.monotonic()
    outcomes = ask_all(bot, cases)
    assert time.monotonic() - start < 5  # no 1 + 2 + 4 + 8 + 16 s of backoff per inquiry
    assert all(isinstance(o, EndpointUnusable) for o in outcomes)
    message = str(outcomes[0])
    assert url.split("/v1")[0] in message and "variant bot" in message and KEY not in message
    assert bot.chat.endpoint.attempts <= bot.limits.concurrency  # the rest were never tried


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_on_the_first_calls_make_the_endpoint_unusable(status: int) -> None:
    with LoopbackServer(ServerConfig(reject_status=status)) as server:
        bot = openai_bot(server.openai_url, limits={"concurrency": 2})
        cases = many()
        bot.prepare(Memory.from_cases(cases))
        outcomes = ask_all(bot, cases)
        assert server.total_requests <= 2  # one per slot, then nothing more is sent
    assert all(isinstance(o, EndpointUnusable) for o in outcomes)
    assert server.openai_url in str(outcomes[0]) and f"HTTP {status}" in str(outcomes[0])
    assert KEY not in str(outcomes[0])  # the server echoed it; the error does not


def test_the_http_bot_and_judges_fail_fast_too(monkeypatch) -> None:
    monkeypatch.setenv("CALLS_BEARER", "Bearer team-token-123456")
    url = closed_port_url()
    bot = http_bot(url.replace("/v1", "/bot"))
    bot.prepare(Memory())
    assert all(isinstance(o, EndpointUnusable) for o in ask_all(bot, many(3)))
    c = many(1)[0]
    from builders import reply

    with pytest.raises(EndpointUnusable, match="judge: the endpoint http://127.0.0.1"):
        judge_pairs(judge("judge_empathy", url), [(c, reply(c, "Sorry about that."))])


def test_after_a_success_a_refusal_is_that_calls_error_only() -> None:
    from evals.calls.limits import Limits
    from evals.calls.retry import Endpoint

    endpoint = Endpoint(Limits(), "http://127.0.0.1:1/v1", "variant bot")
    answers = iter(["ok"])

    async def attempt() -> str:
        try:
            return next(answers)
        except StopIteration:
            raise Refused("HTTP 401: token expired", status=401) from None

    assert asyncio.run(endpoint.call(attempt)) == "ok"
    with pytest.raises(Refused):
        asyncio.run(endpoint.call(attempt))
    with pytest.raises(Refused):  # still usable: not an EndpointUnusable
        asyncio.run(endpoint.call(attempt))
