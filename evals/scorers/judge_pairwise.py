"""Pairwise LLM judge: the variant's reply against the human agent's reply at the same turn.

Each comparison is judged twice, with the two replies in both positions; only a preference that
survives the swap counts, so a judge that favours a position produces ties, not wins.
Value: 1 win, 0.5 tie, 0 loss for the variant.
"""

from __future__ import annotations

from typing import Any

from evals.scorers.judge import JudgeScorer, conversation_payload
from evals.types import Case, Reply


class PairwiseJudge(JudgeScorer):
    label, direction = "win rate vs human", "higher"
    criterion = "pairwise"

    def payloads(self, case: Case, reply: Reply) -> list[dict[str, Any]] | str:
        human = case.reference_reply
        if not human:
            return "no human reply to compare with"
        if reply.text.strip() == human.strip():
            return "the reply is the human reply"
        base = {k: v for k, v in conversation_payload(case, reply).items() if k != "reply"}
        return [{**base, "reply_a": reply.text, "reply_b": human},  # variant first
                {**base, "reply_a": human, "reply_b": reply.text}]  # human first

    def outcome(self, verdict: list[dict[str, Any]]) -> str:
        first, swapped = verdict[0]["winner"], verdict[1]["winner"]
        if first == "A" and swapped == "B":
            return "win"
        if first == "B" and swapped == "A":
            return "loss"
        return "tie"

    def interpret(self, case: Case, reply: Reply, verdicts: list[list[dict[str, Any]]]) -> tuple[float, str, str]:
        outcomes = [self.outcome(v) for v in verdicts]
        points = {"win": 1.0, "tie": 0.5, "loss": 0.0}
        value = sum(points[o] for o in outcomes) / len(outcomes)
        label = outcomes[0] if len(set(outcomes)) == 1 else "mixed"
        first = verdicts[0]
        explanation = (f"variant first: {first[0]['winner']} ({first[0]['rationale']}); "
                       f"human first: {first[1]['winner']} ({first[1]['rationale']})")
        return value, label, explanation
