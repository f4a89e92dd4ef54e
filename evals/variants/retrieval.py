"""A retrieval bot: answers with the human reply to the most similar past inquiry.

Past inquiries come from a separate history file; without one, from the evaluated data itself
with the inquiry's own conversation left out, so no bot ever sees the answer it is scored on.
It hands off when the retrieved human reply does (read by the shared hand-off policy from what
that agent wrote and did: flag, tool call, text), or when nothing similar enough is found. It
never reads `should_escalate`: that is the answer key the escalation scorer grades against. A
retrieved offer was never seen by this customer, so under `offer: accepted` it counts as a
hand-off attempt (see docs/escalation.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from evals.errors import UserError
from evals.load import load_conversations
from evals.memory import Memory
from evals.types import Answer, Case, Inquiry
from evals.variants.handoff_policy import Decision, HandoffPolicy, Reader, explicit_flag, make_reader, reply_turns


@dataclass(frozen=True)
class _Memory:
    case_id: str
    conversation_id: str
    reply: str
    decision: Decision


class RetrievalBot:
    def __init__(
        self,
        name: str,
        handoff_reply: str,
        history_path: str | None = None,
        min_similarity: float = 0.2,
        handoff_tools: Sequence[str] | None = None,
        offer: str = "accepted",
        redirect: str = "never",
        reader: str | Reader | None = None,
    ) -> None:
        self.name = name
        self.reader = make_reader(reader)
        self.policy = HandoffPolicy.configured(name, handoff_tools, offer, redirect)
        self.history_path = history_path
        self.min_similarity = min_similarity
        self.handoff_reply = handoff_reply
        # Character n-grams work across the customers' languages without a tokenizer per language.
        self._vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5),
                                           sublinear_tf=True, min_df=2)
        self._memory: list[_Memory] = []
        self._matrix = None
        self._conversation_ids = np.array([], dtype=str)

    def prepare(self, memory: Memory) -> None:
        source = memory
        if self.history_path:
            source = Memory.of(load_conversations(self.history_path).conversations, memory.view)
        past = source.cases()
        past = [c for c in past if c.reference_reply]
        if not past:
            raise UserError("the retrieval bot has no past inquiry with a human reply to learn from")
        self._memory = [
            _Memory(c.case_id, c.conversation.conversation_id, c.reference_reply or "", self._decide(c))
            for c in past
        ]
        self._conversation_ids = np.array([m.conversation_id for m in self._memory])
        # by column: a query touches only the columns of its own n-grams (a third of the time of a full product)
        self._matrix = self._vectorizer.fit_transform([c.inquiry().last_message for c in past]).tocsc()

    async def respond(self, inquiry: Inquiry) -> Answer:
        if self._matrix is None:
            raise RuntimeError("prepare() was not called")
        query = self._vectorizer.transform([inquiry.last_message])
        similarity = self._matrix[:, query.indices] @ query.data
        similarity[self._conversation_ids == inquiry.conversation_id] = -1.0  # never its own
        best = int(np.argmax(similarity))
        found = self._memory[best]
        score = float(similarity[best])
        if score < self.min_similarity:
            return Answer(self.handoff_reply, True,
                          f"nothing similar (best {score:.2f} < {self.min_similarity})", handoff_kind="handoff")
        why = f"; {found.decision.note}" if found.decision.note else ""
        return Answer(found.reply, found.decision.escalated, f"retrieved {found.case_id} (similarity {score:.2f}){why}",
                      handoff_kind=found.decision.kind)

    def _decide(self, past: Case) -> Decision:
        """What the past agent's reply does about a person, from its words and tool calls only.

        Its offers are unseen by the customer now asking, so no reaction is passed."""
        conv = past.conversation
        turns, _ = reply_turns(conv, past.turn_index, "agent")
        return self.policy.decide(past.reference.reply or past.reference_reply or "", self.reader,
                                  conv.agent_language or conv.language, explicit_flag(turns),
                                  [call for t in turns for call in t.tool_calls])
