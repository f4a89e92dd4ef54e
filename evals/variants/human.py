"""The human agents as a variant: their historic reply at each decision point.

It makes the people who really answered a baseline every bot and every judge is measured
against. Whether a reply hands off is decided by the shared hand-off policy (see
evals.variants.handoff_policy) from what the agent did: an explicit `handoff` flag or a hand-off
tool call on the agent's turns, else the reading of the reply text, with the same detector that
derives `agent_phrase` labels (so on such labels this variant agrees with itself by
construction). The `should_escalate` label itself is never read.
"""

from __future__ import annotations

from collections.abc import Sequence

from evals.errors import NoReplyInData
from evals.handoff import HandoffDetector
from evals.memory import Memory
from evals.types import Answer, Case, Inquiry
from evals.variants.handoff_policy import (
    DefaultReader,
    HandoffPolicy,
    Reader,
    explicit_flag,
    make_reader,
    reaction_to,
    reply_turns,
)


class NoHumanReply(NoReplyInData):
    """The dataset has no human reply for this decision point."""


class HumanVariant:
    def __init__(self, name: str = "human", detector: HandoffDetector | None = None,
                 handoff_tools: Sequence[str] | None = None, offer: str = "accepted", redirect: str = "never",
                 reader: str | Reader | None = None) -> None:
        self.name = name
        self.reader = DefaultReader(detector) if detector is not None else make_reader(reader)
        self.policy = HandoffPolicy.configured(name, handoff_tools, offer, redirect)
        self._answers: dict[str, Answer | None] = {}

    def prepare(self, memory: Memory) -> None:
        self._answers = {c.case_id: self._human_answer(c) for c in memory.cases()}

    async def respond(self, inquiry: Inquiry) -> Answer:
        answer = self._answers.get(inquiry.case_id)
        if answer is None:
            raise NoHumanReply(f"no human reply recorded for {inquiry.case_id}")
        return answer

    def _human_answer(self, case: Case) -> Answer | None:
        shown, written = case.reference_reply, case.reference.reply
        conv = case.conversation
        turns, next_customer = reply_turns(conv, case.turn_index, "agent")
        calls = [call for t in turns for call in t.tool_calls]
        if not shown and not calls:
            return None
        decision = self.policy.decide(
            written or shown or "", self.reader, conv.agent_language or conv.language, explicit_flag(turns), calls,
            lambda: reaction_to(next_customer, self.reader, conv.language))
        return Answer(shown or "", decision.escalated, decision.note, handoff_kind=decision.kind)
