"""Small, readable conversations, cases and replies for the tests (importable as `builders`)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from evals.results import EvalResult
from evals.types import Case, Conversation, Reply


def conversation(
    cid: str = "c1",
    turns: Sequence[tuple[str, str]] = (("customer", "My order never arrived."),
                                        ("agent", "I'm sorry, let me check your order.")),
    should_escalate: bool | None = False,
    language: str = "en",
    facts: Sequence[str] = (),
) -> Conversation:
    """A conversation with one reference per customer turn answered by the next agent turn."""
    refs = []
    for i, (role, _) in enumerate(turns):
        if role == "customer" and i + 1 < len(turns) and turns[i + 1][0] == "agent":
            refs.append({"turn": i, "reply": turns[i + 1][1], "should_escalate": should_escalate,
                         "escalation_source": "human_review" if should_escalate is not None else None,
                         "required_facts": list(facts)})
    return Conversation.model_validate({
        "conversation_id": cid, "language": language,
        "turns": [{"role": r, "text": t} for r, t in turns],
        "references": [{k: v for k, v in r.items() if v is not None} for r in refs],
    })


def case(conv: Conversation | None = None, index: int = 0) -> Case:
    conv = conv or conversation()
    ref = conv.references[index]
    return Case(conv, ref.turn, ref)


def reply(c: Case, text: str = "ok", escalated: bool = False, error: str | None = None,
          variant: str = "bot") -> Reply:
    return Reply(c.case_id, variant, text, escalated, 0.01, error=error)


def results_of(wide: pd.DataFrame, versions: dict[str, str] | None = None) -> EvalResult:
    """An EvalResult from a hand-written per-reply table with NAME, NAME_label, NAME_explanation
    (and NAME_version) columns: the shape people read, turned into the results format."""
    cols = set(wide.columns)
    scorers = [c for c in wide.columns if f"{c}_label" in cols and f"{c}_explanation" in cols]
    long = pd.concat([pd.DataFrame({
        "variant": wide["variant"], "case_id": wide["case_id"],
        "conversation_id": wide.get("conversation_id", wide["case_id"].str.split("#").str[0]),
        "scorer": name, "value": pd.to_numeric(wide[name], errors="coerce").astype(float),
        "label": wide[f"{name}_label"], "explanation": wide[f"{name}_explanation"],
        "version": wide[f"{name}_version"] if f"{name}_version" in cols else None,
    }) for name in scorers], ignore_index=True)
    score_columns = {c for s in scorers for c in (s, f"{s}_label", f"{s}_explanation", f"{s}_version")}
    replies = wide[[c for c in wide.columns if c not in score_columns]].reset_index(drop=True)
    return EvalResult(replies, long, pd.DataFrame(), pd.DataFrame(), {"scorers": dict(versions or {})})
