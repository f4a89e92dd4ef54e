"""Replies a bot actually gave, read from the dataset: score a production bot without calling it.

At each decision point the recorded reply is the first `bot` turn after the customer's turn
(before the next customer turn). Whether it handed off is read with the phrase detector.
"""

from __future__ import annotations

from collections.abc import Sequence

from evals.handoff import HandoffDetector
from evals.types import Answer, Case, Inquiry


class NoRecordedReply(LookupError):
    """The log has no bot reply to this customer turn."""


class RecordedBot:
    def __init__(self, name: str, handoff_patterns: Sequence[str] | None = None) -> None:
        self.name = name
        self.detector = HandoffDetector(tuple(handoff_patterns)) if handoff_patterns else HandoffDetector()
        self._replies: dict[str, str | None] = {}

    def prepare(self, cases: Sequence[Case]) -> None:
        self._replies = {c.case_id: _recorded_reply(c) for c in cases}

    async def respond(self, inquiry: Inquiry) -> Answer:
        text = self._replies.get(inquiry.case_id)
        if text is None:
            raise NoRecordedReply(f"no recorded bot reply after {inquiry.case_id}")
        return Answer(text, *self.detector.read(text))


def _recorded_reply(case: Case) -> str | None:
    translate = case.view == "customer"
    for turn in case.conversation.turns[case.turn_index + 1:]:
        if turn.role == "customer":
            return None
        if turn.role == "bot":
            return (turn.translation or turn.text) if translate else turn.text
    return None
