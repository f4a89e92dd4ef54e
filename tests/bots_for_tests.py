"""Python-callable bots the tests point `variant=[python]` at (importable: tests/ is on the path)."""

import asyncio

from evals.types import Answer, Inquiry


def echo(inquiry: Inquiry, prefix: str = "You said: ") -> str:
    return prefix + inquiry.last_message


async def async_handoff(inquiry: Inquiry) -> dict:
    await asyncio.sleep(0)
    return {"reply": "Passing you on.", "handoff": True, "reason": "always"}


def typed(inquiry: Inquiry) -> Answer:
    return Answer("typed", False, "from an Answer")


def broken(inquiry: Inquiry) -> int:
    return 42
