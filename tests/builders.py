"""Small, readable conversations, cases and replies for the tests (importable as `builders`)."""

from __future__ import annotations

from collections.abc import Sequence

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
