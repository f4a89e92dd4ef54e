"""LLM judge of accuracy: correct and complete against the human reference and required facts,
inventing no policy or promise (1-5, with the unsupported claims it found)."""

from __future__ import annotations

from typing import Any

from evals.scorers.judge import JudgeScorer, conversation_payload, ordinal
from evals.types import Case, Reply


class AccuracyJudge(JudgeScorer):
    label, direction = "accuracy", "higher"
    criterion = "accuracy"

    def payloads(self, case: Case, reply: Reply) -> list[dict[str, Any]] | str:
        reference = case.reference_reply
        facts = case.reference.required_facts
        if not reference and not facts:
            return "no human reference reply and no required facts"
        return [{**conversation_payload(case, reply), "reference_reply": reference or "",
                 "required_facts": list(facts)}]

    def interpret(self, case: Case, reply: Reply, verdicts: list[list[dict[str, Any]]]) -> tuple[float, str, str]:
        score, all_scores = ordinal(verdicts)
        first = verdicts[0][0]
        claims = first["unsupported_claims"]
        note = f"; unsupported: {'; '.join(claims)}" if claims else ""
        repeats = f" (repeats: {all_scores})" if len(all_scores) > 1 else ""
        return (score - 1) / 4, str(score), first["rationale"] + note + repeats
