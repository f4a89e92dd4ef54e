"""The decision points to read first: the worst per headline metric, and the hand-off confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evals.aggregate import MetricSpec
from evals.history import History
from evals.results import EvalResult


@dataclass(frozen=True)
class VariantReply:
    variant: str
    reply: str
    handed_off: bool
    problem: str  # the error, or that the data has no reply here; "" when it answered
    value: str  # the score as text ("n/a" when unscored, "—" when the scorer has no row here)
    label: str
    explanation: str
    worst: bool  # this reply is (one of) the worst at this decision point


@dataclass(frozen=True)
class Example:
    case_id: str
    conversation_id: str
    turn: int
    language: str
    intent: str
    should_escalate: str
    inquiry: str
    reference_reply: str
    replies: list[VariantReply]
    earlier: list[dict[str, str]] = field(default_factory=list)  # the turns before the inquiry
    history_note: str = ""  # why only the inquiry is shown, when it is


def badness(spec: MetricSpec, rows: pd.DataFrame) -> pd.Series:
    """How much each score row pulls the metric the wrong way; NaN for rows the metric does not count.

    A mean counts each scored value; a ratio counts a row by its label's numerator / denominator
    weights (a missed hand-off is 1 in the missed rate, 0 in recall). Lower-is-better metrics are bad
    where that is high, higher-is-better ones where it is low."""
    if spec.ratio is None:
        own = rows["value"].astype(float)
    else:
        den = rows["label"].map(spec.ratio.denominator).astype(float)
        num = rows["label"].map(spec.ratio.numerator).fillna(0.0).astype(float)
        own = (num / den).where(den > 0)
    return own if spec.direction == "lower" else -own


def worst_examples(result: EvalResult, spec: MetricSpec, k: int, history: History | None = None) -> list[Example]:
    """Up to k decision points where the variants did worst on a metric: ranked by the worst variant's
    score there, then by all variants' mean; only points below the best score seen (no perfect ones).
    Empty for a metric with no better direction."""
    if spec.direction not in ("higher", "lower"):
        return []
    every = result.scores[result.scores["scorer"] == spec.scorer].copy()
    every["badness"] = badness(spec, every)
    counted = every.dropna(subset=["badness"])
    if counted.empty or counted["badness"].max() <= counted["badness"].min():
        return []
    order = {c: i for i, c in enumerate(dict.fromkeys(result.replies["case_id"]))}
    per_case = counted.groupby("case_id")["badness"].agg(["max", "mean"])
    per_case = per_case[per_case["max"] > counted["badness"].min()]
    per_case["order"] = [order.get(c, len(order)) for c in per_case.index]
    picked = per_case.sort_values(["max", "mean", "order"], ascending=[False, False, True]).head(k)
    # every reply's score is shown, also those the metric does not count (a kept reply in hand-off F1)
    return [_example(result, case_id, every[every["case_id"] == case_id], worst, history)
            for case_id, worst in zip(picked.index, picked["max"])]


def _example(result: EvalResult, case_id: str, rows: pd.DataFrame, worst: float,
             history: History | None) -> Example:
    replies = result.replies[result.replies["case_id"] == case_id]
    first = replies.iloc[0]
    by_variant = {r["variant"]: r for r in replies.to_dict("records")}
    scored = {r["variant"]: r for r in rows.to_dict("records")}
    shown = []
    for variant in result.variants:
        reply = by_variant.get(variant)
        if reply is None:
            continue
        score = scored.get(variant)
        shown.append(VariantReply(
            variant=variant, reply=_text(reply.get("reply")), handed_off=bool(reply.get("escalated")),
            problem=_problem(reply), value=_value(score), label=_text(score and score.get("label")),
            explanation=_text(score and score.get("explanation")),
            worst=score is not None and bool(np.isclose(score["badness"], worst))))  # NaN: not counted
    conversation_id, turn, inquiry = _text(first.get("conversation_id")), int(first.get("turn", 0)), \
        _text(first.get("inquiry"))
    turns, note = history(conversation_id, turn, inquiry) if history else ([], "")
    return Example(case_id, conversation_id, turn, _text(first.get("language")), _text(first.get("intent")),
                   _label(first.get("should_escalate")), inquiry, _text(first.get("reference_reply")), shown,
                   earlier=turns[:-1], history_note=note)


def _problem(reply: dict[str, Any]) -> str:
    if _text(reply.get("error")):
        return f"error: {reply['error']}"
    if bool(reply.get("missing")):
        return "the data has no reply here"
    return ""


def _value(score: dict[str, Any] | None) -> str:
    if score is None:
        return "—"
    value = score.get("value")
    return "n/a" if value is None or pd.isna(value) else f"{float(value):.3g}"


def _text(x: Any) -> str:
    return "" if x is None or (not isinstance(x, str) and pd.isna(x)) else str(x)


def _label(x: Any) -> str:
    if x is None or pd.isna(x):
        return "no label"
    return "should hand off" if bool(x) else "should not hand off"


CONFUSION_ROWS = ("should hand off", "should not hand off", "no label")
CONFUSION_COLUMNS = ("handed off", "kept", "no reply")


def confusion(replies: pd.DataFrame, variants: Sequence[str]) -> dict[str, list[list[int]]]:
    """Per variant, decision points by the label (should_escalate) and what the reply did: handed off,
    kept, or no reply at all (an error after retries, or no reply in the data)."""
    out = {}
    for variant in variants:
        mine = replies[replies["variant"] == variant]
        no_reply = mine["error"].notna() if "error" in mine else pd.Series(False, mine.index)
        if "missing" in mine:
            no_reply |= mine["missing"].fillna(False).astype(bool)
        did = np.where(no_reply, "no reply", np.where(mine["escalated"].fillna(False).astype(bool), "handed off",
                                                      "kept"))
        label = mine["should_escalate"].map(_label)
        table = pd.crosstab(label, pd.Series(did, index=mine.index)).reindex(
            index=list(CONFUSION_ROWS), columns=list(CONFUSION_COLUMNS), fill_value=0)
        out[variant] = table.to_numpy(int).tolist()
    return out
