"""Replies as MLflow traces with assessments: what MLflow 3's own evaluation view of a run lists.

MLflow's run page has an "Evaluations" tab that shows traces linked to the run, each with its inputs,
outputs, expectations and feedback (one per score). Writing a trace costs about 0.1 s and each
assessment 0.01 s on a local SQLite store, so the main job writes a sample (`tracking.traces`, the same
decision points for every variant, so they line up) and `tracking.traces=all` writes every reply.
Texts come from the results tables, so they are redacted exactly as the results folder is.
This module only chooses and shapes the records; evals/tracking.py writes them.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from evals.gate import JUDGE_VERSION
from evals.results import EvalResult

ALL = "all"


@dataclass(frozen=True)
class Feedback:
    name: str
    value: float | str | None  # None: unscored, `error` says why
    rationale: str | None
    judge: bool  # an LLM judge's verdict (source LLM_JUDGE) or an offline scorer's (CODE)
    source_id: str  # the scorer's version
    error: str | None = None


@dataclass(frozen=True)
class Expectation:
    name: str
    value: Any
    human: bool  # made by a person (the agent's reply, a reviewer's label) or derived (a policy, a phrase)
    source_id: str


@dataclass(frozen=True)
class ReplyTrace:
    variant: str
    case_id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    expectations: list[Expectation]
    feedback: list[Feedback] = field(default_factory=list)


def chosen_cases(replies: pd.DataFrame, limit: int | str, seed: int) -> list[str]:
    """The decision points to trace: all, or `limit` of them drawn with the seed (the same for every variant)."""
    cases = sorted(set(replies["case_id"]))
    if limit == ALL:
        return cases
    count = int(limit)
    return sorted(random.Random(seed).sample(cases, min(count, len(cases)))) if count > 0 else []


def reply_traces(result: EvalResult, variant: str, cases: list[str]) -> list[ReplyTrace]:
    """One trace record per reply of `variant` at the chosen decision points, its scores as feedback."""
    wanted = set(cases)
    replies, scores = result.replies, result.scores
    mine = replies[(replies["variant"] == variant) & replies["case_id"].isin(wanted)]
    versions = {name: result.version_of(name) for name in dict.fromkeys(scores["scorer"])}
    by_case: dict[str, list[Feedback]] = {}
    for row in scores[(scores["variant"] == variant) & scores["case_id"].isin(wanted)].itertuples(index=False):
        by_case.setdefault(row.case_id, []).append(_feedback(row, versions[row.scorer]))
    out = []
    for row in mine.sort_values("case_id").itertuples(index=False):
        expectations = []
        if _present(row.reference_reply):
            expectations.append(Expectation("expected_response", row.reference_reply, True, "human agent's reply"))
        if _present(row.should_escalate):
            source = str(row.escalation_source)
            expectations.append(Expectation("should_escalate", bool(row.should_escalate), source == "human_review",
                                            source))
        out.append(ReplyTrace(
            variant, row.case_id,
            inputs={"conversation_id": row.conversation_id, "turn": int(row.turn), "language": row.language,
                    "inquiry": row.inquiry},
            outputs={"reply": row.reply if _present(row.reply) else None, "escalated": bool(row.escalated),
                     "handoff_kind": row.handoff_kind, "error": row.error if _present(row.error) else None},
            expectations=expectations, feedback=by_case.get(row.case_id, [])))
    return out


def _feedback(row: Any, version: str) -> Feedback:
    judge = bool(JUDGE_VERSION.fullmatch(version))
    explanation = row.explanation if _present(row.explanation) else None
    value = row.value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Feedback(row.scorer, None, None, judge, version, error=explanation or "unscored")
    # The value stays a number, so that MLflow averages it and compares runs on it; a class label
    # (`missed`, `upset/warm`) leads the rationale.
    label = str(row.label) if _present(row.label) and not _numeric(row.label) else None
    rationale = f"{label}: {explanation}" if label and explanation else label or explanation
    return Feedback(row.scorer, float(value), rationale, judge, version)


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and value is not pd.NA


def _numeric(text: Any) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True
