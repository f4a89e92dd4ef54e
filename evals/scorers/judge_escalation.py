"""LLM judge of escalation appropriateness, read against the dataset's written hand-off policy:
should a human take over now, and did the reply do the right thing?"""

from __future__ import annotations

from typing import Any

from evals.scorers.escalation import CORRECT_CONTAINMENT, CORRECT_HANDOFF, MISSED, PREMATURE, EscalationScorer
from evals.scorers.judge import JudgeScorer, conversation_payload
from evals.types import Case, Reply

# (should a human take over, did the reply hand off) -> outcome
OUTCOME = {(True, True): CORRECT_HANDOFF, (True, False): MISSED,
           (False, True): PREMATURE, (False, False): CORRECT_CONTAINMENT}


class EscalationJudge(JudgeScorer):
    criterion = "escalation"
    ratios = EscalationScorer.ratios  # same outcome labels, so the same precision/recall/F1
    label, direction = EscalationScorer.label, EscalationScorer.direction

    def payloads(self, case: Case, reply: Reply) -> list[dict[str, Any]] | str:
        return [conversation_payload(case, reply)]

    def outcome(self, verdict: list[dict[str, Any]]) -> str:
        return "escalate" if verdict[0]["should_escalate"] else "contain"

    def interpret(self, case: Case, reply: Reply, verdicts: list[list[dict[str, Any]]]) -> tuple[float, str, str]:
        # The judge rules on what should happen (majority of repeats, ties to the first); what the
        # reply did is a fact, so the outcome label is derived, not taken from the judge's words.
        votes = [bool(v[0]["should_escalate"]) for v in verdicts]
        should = votes[0] if votes.count(votes[0]) * 2 >= len(votes) else not votes[0]
        label = OUTCOME[(should, reply.escalated)]
        said = verdicts[0][0]["decision"]
        note = "" if said == label else f" [judge said {said}; outcome derived from its should_escalate]"
        repeats = f" (repeats: {votes})" if len(votes) > 1 else ""
        value = 1.0 if label in (CORRECT_HANDOFF, CORRECT_CONTAINMENT) else 0.0
        return value, label, verdicts[0][0]["rationale"] + note + repeats
