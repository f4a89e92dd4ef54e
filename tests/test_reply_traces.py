"""Which replies become MLflow traces, and how their scores and references become assessments."""

from __future__ import annotations

import math

import pandas as pd
from builders import results_of

from evals.reply_traces import chosen_cases, reply_traces

JUDGE = "empathy@abc123/gpt-4o-mini/0123abcd"


def result():
    rows = []
    for variant in ("human", "bot"):
        for i in range(6):
            rows.append({
                "variant": variant, "case_id": f"c{i}#0", "conversation_id": f"c{i}", "turn": 0, "language": "de",
                "inquiry": f"wo ist meine Karte {i}", "reference_reply": "Sie ist unterwegs" if i else None,
                "should_escalate": bool(i % 2) if i < 4 else None,
                "escalation_source": "human_review" if i == 1 else "intent_policy",
                "reply": None if (variant == "bot" and i == 5) else f"{variant} {i}", "escalated": i == 3,
                "handoff_kind": "none", "error": "timeout" if (variant == "bot" and i == 5) else None,
                "escalation": 0.0 if i == 3 else 1.0, "escalation_label": "missed" if i == 3 else "correct_containment",
                "escalation_explanation": "should hand off", "judge_empathy": math.nan if i == 5 else 4.0,
                "judge_empathy_label": None, "judge_empathy_explanation": "no reply" if i == 5 else "warm",
            })
    return results_of(pd.DataFrame(rows), {"judge_empathy": JUDGE, "escalation": "offline:1234"})


def test_every_variant_is_traced_on_the_same_seeded_decision_points():
    replies = result().replies
    chosen = chosen_cases(replies, 3, seed=7)
    assert len(chosen) == 3 and chosen == chosen_cases(replies, 3, seed=7)
    assert chosen_cases(replies, "all", seed=7) == [f"c{i}#0" for i in range(6)]
    assert chosen_cases(replies, 0, seed=7) == [] and len(chosen_cases(replies, 99, seed=7)) == 6
    traces = {v: [t.case_id for t in reply_traces(result(), v, chosen)] for v in ("human", "bot")}
    assert traces["human"] == traces["bot"] == chosen


def test_scores_become_feedback_with_their_source_and_references_expectations():
    traces = {t.case_id: t for t in reply_traces(result(), "bot", [f"c{i}#0" for i in range(6)])}
    missed = traces["c3#0"]
    assert missed.inputs == {"conversation_id": "c3", "turn": 0, "language": "de", "inquiry": "wo ist meine Karte 3"}
    assert missed.outputs["escalated"] is True and missed.outputs["reply"] == "bot 3"
    feedback = {f.name: f for f in missed.feedback}
    assert feedback["escalation"].value == 0.0 and feedback["escalation"].rationale == "missed: should hand off"
    assert not feedback["escalation"].judge and feedback["judge_empathy"].judge
    assert feedback["judge_empathy"].source_id == JUDGE
    expected = {e.name: e for e in missed.expectations}
    assert expected["should_escalate"].value is True and not expected["should_escalate"].human  # a policy's label
    assert expected["expected_response"].human
    assert {e.name: e.human for e in traces["c1#0"].expectations}["should_escalate"]  # a reviewer's label
    assert [e.name for e in traces["c0#0"].expectations] == ["should_escalate"]  # no reference reply
    unscored = {f.name: f for f in traces["c5#0"].feedback}["judge_empathy"]
    assert unscored.value is None and unscored.error == "no reply"
    assert traces["c5#0"].outputs == {"reply": None, "escalated": False, "handoff_kind": "none", "error": "timeout"}
