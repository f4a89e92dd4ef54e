"""HTTP request lines are DEBUG: absent from an INFO log, present when DEBUG is asked for that logger."""

import logging

import pytest
from builders import case
from call_helpers import ask, openai_bot

from evals.memory import Memory
from loopback.server import LoopbackServer, ServerConfig


def request_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "HTTP Request" in r.getMessage()]


def test_request_lines_are_debug_not_info(caplog: pytest.LogCaptureFixture) -> None:
    with LoopbackServer(ServerConfig()) as server:
        bot = openai_bot(server.openai_url)
        bot.prepare(Memory.from_cases([case()]))
        caplog.set_level(logging.INFO)
        ask(bot, case())
        assert request_lines(caplog) == []
        caplog.set_level(logging.DEBUG, logger="httpx2")
        ask(bot, case())
    lines = request_lines(caplog)
    assert lines and all(r.levelno == logging.DEBUG for r in lines)
