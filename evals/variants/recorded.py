"""Replies a bot actually gave, read from the dataset: score a production bot without calling it.

At each decision point the recorded reply is the first `bot` turn after the customer's turn and
the bot turns right after it (a text, then a tool call), before the next customer turn. Whether
it handed off is decided by the shared hand-off policy (evals.variants.handoff_policy): the
turn's explicit `handoff` flag, then a hand-off tool call, then the text's reading, where an offer
counts only if the customer's next turn accepts it (by default).
"""

from __future__ import annotations

from collections.abc import Sequence

from evals.errors import NoReplyInData
from evals.memory import Memory
from evals.types import Answer, Case, Conversation, Inquiry, Reference
from evals.variants.handoff_policy import (
    HandoffPolicy,
    Reader,
    explicit_flag,
    make_reader,
    reaction_to,
    reply_turns,
)


class NoRecordedReply(NoReplyInData):
    """The log has no bot reply to this customer turn."""


class RecordedBot:
    def __init__(self, name: str, handoff_patterns: Sequence[str] | None = None,
                 handoff_tools: Sequence[str] | None = None, offer: str = "accepted", redirect: str = "never",
                 reader: str | Reader | None = None) -> None:
        """`reader`: 'package.module:Class' reading hand-off language instead of evals.handoff."""
        self.name = name
        self.reader = make_reader(reader, handoff_patterns)
        self.policy = HandoffPolicy.configured(name, handoff_tools, offer, redirect)
        self._memory = Memory()
        self._conversations: dict[str, Conversation] = {}

    def prepare(self, memory: Memory) -> None:
        self._memory = memory
        self._conversations = {c.conversation_id: c for c in memory.conversations}

    async def respond(self, inquiry: Inquiry) -> Answer:
        conv = self._conversations.get(inquiry.conversation_id)
        turn = len(inquiry.history) - 1  # the customer turn being answered
        answer = None
        if conv is not None:
            answer = self._recorded_answer(Case(conv, turn, Reference(turn=turn), self._memory.view))
        if answer is None:
            raise NoRecordedReply(f"no recorded bot reply after {inquiry.case_id}")
        return answer

    def _recorded_answer(self, case: Case) -> Answer | None:
        conv = case.conversation
        turns, next_customer = reply_turns(conv, case.turn_index, "bot")
        if not turns:
            return None
        written = "\n".join(t.text for t in turns if t.text)
        shown = written
        if case.view == "customer":
            shown = "\n".join(t.translation or t.text for t in turns if t.text)
        decision = self.policy.decide(
            written, self.reader, conv.agent_language or conv.language, explicit_flag(turns),
            [call for t in turns for call in t.tool_calls],
            lambda: reaction_to(next_customer, self.reader, conv.language))
        return Answer(shown, decision.escalated, decision.note, handoff_kind=decision.kind)
