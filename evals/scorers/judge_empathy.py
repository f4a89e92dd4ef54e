"""LLM judge of empathy: recognises feeling and situation, responds in proportion, keeps dignity (1-5)."""

from __future__ import annotations

from typing import Any

from evals.scorers.judge import JudgeScorer, conversation_payload, ordinal
from evals.types import Case, Reply


class EmpathyJudge(JudgeScorer):
    label, direction = "empathy", "higher"
    criterion = "empathy"

    def payloads(self, case: Case, reply: Reply) -> list[dict[str, Any]] | str:
        if not reply.text.strip():
            return "empty reply"
        return [conversation_payload(case, reply)]

    def interpret(self, case: Case, reply: Reply, verdicts: list[list[dict[str, Any]]]) -> tuple[float, str, str]:
        score, all_scores = ordinal(verdicts)
        note = f" (repeats: {all_scores})" if len(all_scores) > 1 else ""
        return (score - 1) / 4, str(score), verdicts[0][0]["rationale"] + note
