"""The human agents as a variant: their historic reply at each decision point.

It makes the people who really answered a baseline every bot and every judge is measured
against. Whether a reply hands off is read from its text with the same detector that derives
`agent_phrase` labels, so on such labels this variant agrees with itself by construction.
"""

from __future__ import annotations

from collections.abc import Sequence

from evals.handoff import HandoffDetector
from evals.types import Answer, Case, Inquiry


class NoHumanReply(LookupError):
    """The dataset has no human reply for this decision point."""


class HumanVariant:
    def __init__(self, name: str = "human", detector: HandoffDetector | None = None) -> None:
        self.name = name
        self.detector = detector or HandoffDetector()
        self._replies: dict[str, tuple[str | None, str | None]] = {}

    def prepare(self, cases: Sequence[Case]) -> None:
        # (text as the replayed side read it, text as the agent wrote it)
        self._replies = {c.case_id: (c.reference_reply, c.reference.reply) for c in cases}

    async def respond(self, inquiry: Inquiry) -> Answer:
        shown, written = self._replies.get(inquiry.case_id, (None, None))
        if not shown:
            raise NoHumanReply(f"no human reply recorded for {inquiry.case_id}")
        return Answer(shown, *self.detector.read(written or shown))
