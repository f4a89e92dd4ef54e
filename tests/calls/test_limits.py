"""Bounded waits and sizes: Retry-After capped, big replies refused unread, one deadline per call."""

import os
import subprocess
import sys
import time
import tracemalloc

import pytest
from builders import case
from call_helpers import ask, http_bot, openai_bot
from tests_paths import ROOT

from evals.calls.failures import CallError, DeadlineExceeded, ReplyTooLarge
from evals.calls.limits import Limits
from evals.errors import UserError
from evals.memory import Memory
from evals.replay import replay_sync
from loopback.server import Faults, LoopbackServer, ServerConfig

TWENTY_MB = 20_000_000


def test_a_retry_after_above_the_cap_fails_the_call_at_once() -> None:
    faults = Faults(fail_rate=1.0, retry_after_s=86400)
    with LoopbackServer(ServerConfig(faults=faults)) as server:
        # the default case's key draws a 429 (the server picks 429 or 500 from the key's hash)
        bot = openai_bot(server.openai_url, limits={"max_retry_after_s": 2})
        bot.prepare(Memory.from_cases([case()]))
        start = time.monotonic()
        reply = replay_sync(bot, [case()])[0]
        assert time.monotonic() - start < 5 and server.total_requests == 1  # not slept on, not retried
    assert reply.error.startswith("CallError: HTTP 429") and "86400" in reply.error
    assert "max_retry_after_s" in reply.error


def test_a_retry_after_within_the_cap_is_waited() -> None:
    faults = Faults(fail_rate=1.0, retry_after_s=0.3)
    with LoopbackServer(ServerConfig(faults=faults)) as server:
        bot = openai_bot(server.openai_url)
        bot.prepare(Memory.from_cases([case()]))
        start = time.monotonic()
        answer = ask(bot, case())
        assert answer.text and time.monotonic() - start >= 0.3


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_20_mb_reply_is_refused_without_reading_it(chunked: bool) -> None:
    """The server runs as its own process, so the memory measured here is the client's alone."""
    args = ["--oversize-bytes", str(TWENTY_MB), "--no-record"] + (["--oversize-chunked"] if chunked else [])
    proc = subprocess.Popen([sys.executable, "-m", "loopback.server", "--port", "0", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        url = proc.stdout.readline().split()[1]
        bot = openai_bot(url + "/v1", limits={"max_reply_bytes": 1_000_000})
        bot.prepare(Memory.from_cases([case()]))
        tracemalloc.start()
        start = time.monotonic()
        with pytest.raises(ReplyTooLarge, match="max_reply_bytes") as caught:
            ask(bot, case())
        elapsed = time.monotonic() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert elapsed < 5 and peak < 8_000_000, (elapsed, peak)  # not 20 MB, not minutes
    assert ("Content-Length" in str(caught.value)) is not chunked
    assert bot.chat.endpoint.attempts == 1  # the same request would get the same body: not retried


def test_the_http_bot_has_the_same_cap(monkeypatch) -> None:
    monkeypatch.setenv("CALLS_BEARER", "Bearer team-token-123456")
    with LoopbackServer(ServerConfig(oversize_bytes=200_000, oversize_chunked=True)) as server:
        bot = http_bot(server.bot_url, limits={"max_reply_bytes": 50_000})
        bot.prepare(Memory())
        with pytest.raises(ReplyTooLarge):
            ask(bot, case())
        roomy = http_bot(server.bot_url, limits={"max_reply_bytes": 500_000})
        roomy.prepare(Memory())
        assert ask(roomy, case()).text  # under the cap, padding and all, it is an ordinary reply


def test_the_call_deadline_bounds_hangs_and_retries() -> None:
    faults = Faults(hang_rate=1.0, hang_s=30)
    with LoopbackServer(ServerConfig(faults=faults)) as server:
        bot = openai_bot(server.openai_url, limits={"timeout_s": 10, "deadline_s": 0.5})
        bot.prepare(Memory.from_cases([case()]))
        start = time.monotonic()
        with pytest.raises(CallError) as caught:
            ask(bot, case())
        assert time.monotonic() - start < 3
    assert isinstance(caught.value, DeadlineExceeded) and "limits.deadline_s" in str(caught.value)


def test_limits_are_checked_and_unknown_ones_named() -> None:
    assert Limits.from_config(None, "judge") == Limits()
    with pytest.raises(UserError, match="judge: limits.max_reply_byte is not a known limit"):
        Limits.from_config({"max_reply_byte": 10}, "judge")
    with pytest.raises(UserError, match="variant bot: limits.deadline_s must be a positive"):
        Limits.from_config({"deadline_s": 0}, "variant bot")
    with pytest.raises(UserError, match="max_retry_after_s"):
        Limits(max_retry_after_s=-1)
