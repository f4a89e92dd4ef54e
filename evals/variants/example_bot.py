"""A minimal Python bot, the starting point for `variant=[python]` (see conf/variant/python.yaml)."""

from __future__ import annotations

import re

from evals.types import Inquiry

_PERSON = re.compile(r"\b(human|person|agent|manager|someone)\b", re.IGNORECASE)


def answer(inquiry: Inquiry) -> dict[str, object]:
    """Acknowledge, ask for details, and hand off when the customer asks for a person."""
    if _PERSON.search(inquiry.last_message):
        return {"reply": "Of course. I'm passing your conversation to a colleague now.",
                "handoff": True, "reason": "customer asked for a person"}
    return {"reply": "Thank you for your message. Could you tell me a little more, so I can help?",
            "handoff": False}
