"""Escalation appropriateness: did the bot hand off to a human exactly when it should?

Each reply is one of four outcomes against `should_escalate`; a missed hand-off scores 0 like a
premature one, and the per-variant rates keep the two apart.

Whether the reply handed off is `reply.escalated`, as its variant decided it by the shared policy
(explicit flag, hand-off tool call, then the text's reading; offers count when accepted, redirects
never, by default: see docs/escalation.md). The explanation names what the reply did
(`reply.handoff_kind`) and why it counted or not (`reply.note`).
"""

from __future__ import annotations

from evals.types import Case, Ratio, Reply, Score

CORRECT_HANDOFF = "correct_handoff"
CORRECT_CONTAINMENT = "correct_containment"
MISSED = "missed"
PREMATURE = "premature"


class EscalationScorer:
    name = "escalation"
    ratios = {
        "precision": Ratio({CORRECT_HANDOFF: 1}, {CORRECT_HANDOFF: 1, PREMATURE: 1},
                           counts="replies that handed off"),
        "recall": Ratio({CORRECT_HANDOFF: 1}, {CORRECT_HANDOFF: 1, MISSED: 1},
                        counts="decision points that should hand off"),
        # F1 = 2TP / (2TP + FP + FN): a ratio of sums, so it bootstraps like the others.
        "f1": Ratio({CORRECT_HANDOFF: 2}, {CORRECT_HANDOFF: 2, PREMATURE: 1, MISSED: 1},
                    counts="decision points that should hand off or were handed off", label="hand-off F1"),
        "missed_rate": Ratio({MISSED: 1}, {CORRECT_HANDOFF: 1, MISSED: 1}, direction="lower",
                             counts="decision points that should hand off", label="missed ↓"),
        "premature_rate": Ratio({PREMATURE: 1}, {PREMATURE: 1, CORRECT_CONTAINMENT: 1}, direction="lower",
                                counts="decision points that should not hand off", label="premature ↓"),
    }

    label = ""  # no mean: its labels are outcomes, summarised by the ratios
    direction = "neither"

    def __init__(self, name: str = "escalation") -> None:
        self.name = name

    def score(self, case: Case, reply: Reply) -> Score:
        ref = case.reference
        if reply.error:
            return Score(case.case_id, reply.variant, self.name, float("nan"), None,
                         f"no reply to score ({reply.error})")
        if ref.should_escalate is None:
            return Score(case.case_id, reply.variant, self.name, float("nan"), None,
                         "no should_escalate label for this decision point")
        if ref.should_escalate:
            label = CORRECT_HANDOFF if reply.escalated else MISSED
        else:
            label = PREMATURE if reply.escalated else CORRECT_CONTAINMENT
        should = "should hand off" if ref.should_escalate else "should not hand off"
        did = describe(reply)
        value = 1.0 if label in (CORRECT_HANDOFF, CORRECT_CONTAINMENT) else 0.0
        return Score(case.case_id, reply.variant, self.name, value, label,
                     f"{should} (label from {ref.escalation_source}); the reply {did}")


_DID: dict[str, str] = {
    "handoff": "handed off",
    "offer": "offered a person",
    "redirect": "pointed the customer to another channel",
    "refusal": "refused a person",
}


def describe(reply: Reply) -> str:
    """What the reply did about a person, and whether that counts as a hand-off, in words.

    e.g. "offered a person: 'shall I connect you?'; the customer declined; not a hand-off"."""
    note = reply.note.strip()
    if not reply.text.strip():
        note = f"no text: tool call only{'; ' + note if note else ''}"
    kind = reply.handoff_kind
    if kind in _DID and kind != "handoff":
        said = note if note.startswith(_DID[kind]) else f"{_DID[kind]}{' (' + note + ')' if note else ''}"
        return f"{said}; {'counted as a hand-off' if reply.escalated else 'not a hand-off'}"
    if kind == "handoff" and not reply.escalated:
        did = "reads as a hand-off, not counted as one"
    else:
        did = "handed off" if reply.escalated else "kept the conversation"
    return f"{did} ({note})" if note else did
