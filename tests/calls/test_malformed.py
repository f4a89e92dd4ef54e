"""Malformed 2xx replies are errors that quote what came, are never cached, and are retried where it helps:
a body that is not the API's (not JSON, HTML, no choices) is retried; an unusable answer (tool-call
arguments that are not JSON, empty content with no tool call) is not."""

from pathlib import Path

import pytest
from builders import case, conversation
from call_helpers import http_bot, openai_bot

from evals.cache import ReplyCache
from evals.memory import Memory
from evals.replay import replay_sync
from loopback.server import MALFORMED_HTML, LoopbackServer, ServerConfig

RETRIES = 2
EXPECTED = {  # kind -> (error type, words of the error, attempts made)
    "not-json": ("MalformedReply", "body is not JSON (text/plain): upstream answered", RETRIES + 1),
    "html": ("MalformedReply", "body is not JSON (text/html): <html><head><title>502 Bad Gateway", RETRIES + 1),
    "no-choices": ("MalformedReply", 'no choices: {"id": "chatcmpl-', RETRIES + 1),
    "bad-tool-args": ("InvalidAnswer", "arguments that are not a JSON object: {reason: not json", 1),
    "empty": ("InvalidAnswer", "empty content and no tool call", 1),
}


def handoff_case():  # asks for a person, so the server's answer is a tool call where one is expected
    return case(conversation(turns=[("customer", "I want a human"), ("agent", "ok")]))


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_each_malformed_reply_is_an_error_that_says_what_came(kind: str, tmp_path: Path) -> None:
    kind_of_error, words, attempts = EXPECTED[kind]
    cache = ReplyCache(tmp_path / "cache.sqlite")
    with LoopbackServer(ServerConfig(malformed=kind)) as server:
        bot = openai_bot(server.openai_url, limits={"max_retries": RETRIES})
        cases = [handoff_case()]
        bot.prepare(Memory.from_cases(cases))
        [reply] = replay_sync(bot, cases, cache=cache)
        assert server.total_requests == attempts
    assert reply.error.startswith(f"{kind_of_error}: ") and words in reply.error, reply.error
    assert len(reply.error) < 400  # what the server sent, shortened
    assert len(cache) == 0  # never cached as a real reply


def test_a_malformed_first_answer_is_retried_into_a_real_one(tmp_path: Path) -> None:
    cache = ReplyCache(tmp_path / "cache.sqlite")
    with LoopbackServer(ServerConfig(malformed="html", malformed_attempts=1)) as server:
        bot = openai_bot(server.openai_url)
        bot.prepare(Memory.from_cases([case()]))
        [reply] = replay_sync(bot, [case()], cache=cache)
        assert server.total_requests == 2
    assert reply.error is None and reply.text.startswith("Thanks for your message")
    assert len(cache) == 1


def test_the_html_page_is_quoted_shortened() -> None:
    assert len(MALFORMED_HTML) < 200  # the fixture fits; a long page is cut to ~200 characters:
    from evals.calls.failures import shorten

    assert len(shorten("<p>" * 500)) == 200


@pytest.mark.parametrize("kind", ["not-json", "html", "no-choices"])
def test_the_http_bot_treats_broken_bodies_alike(kind: str, monkeypatch) -> None:
    monkeypatch.setenv("CALLS_BEARER", "Bearer team-token-123456")
    with LoopbackServer(ServerConfig(malformed=kind)) as server:
        bot = http_bot(server.bot_url, limits={"max_retries": RETRIES})
        bot.prepare(Memory())
        [reply] = replay_sync(bot, [case()])
    expected = "ContractError: response field 'reply': Field required" if kind == "no-choices" else "MalformedReply"
    assert reply.error.startswith(expected), reply.error
