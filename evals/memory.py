"""What a bot may know before it answers: transcripts, never the answer key.

Baselines need a memory of past conversations (retrieval indexes their inquiries and the human
replies; the human and recorded variants replay what people and bots wrote and did). None of them
may see the labels the scorers grade against, so `Memory` carries each conversation's turns and
human reply texts with `should_escalate`, its source and the required facts taken out. A bot that
answers from memory must still leave out the conversation it is answering (retrieval does).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from evals.load import build_cases
from evals.types import Case, Conversation, Reference, View


def unlabelled(conversation: Conversation) -> Conversation:
    """The conversation with its references reduced to the texts people wrote."""
    refs = [Reference(turn=r.turn, reply=r.reply, reply_translation=r.reply_translation)
            for r in conversation.references]
    return conversation.model_copy(update={"references": refs})


@dataclass(frozen=True)
class Memory:
    conversations: tuple[Conversation, ...] = ()
    view: View = "agent"

    @classmethod
    def of(cls, conversations: Iterable[Conversation], view: View = "agent") -> Memory:
        return cls(tuple(unlabelled(c) for c in conversations), view)

    @classmethod
    def from_cases(cls, cases: Sequence[Case]) -> Memory:
        """The memory of the conversations these cases come from (each once), in their view."""
        unique = {c.conversation.conversation_id: c.conversation for c in cases}
        return cls.of(unique.values(), cases[0].view if cases else "agent")

    def cases(self) -> list[Case]:
        """Every decision point with a human reply, as a case whose reference holds no label."""
        return build_cases(self.conversations, "every", self.view)
