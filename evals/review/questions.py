"""The questions a labelling queue can ask a reviewer, and how each answer becomes a human label.

A question is asked either of each candidate reply ("Reply A", "Reply B") or once per item (about the
conversation at that point). Every option has a number: the page's keyboard shortcut for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from evals.errors import UserError

Per = Literal["candidate", "item"]


@dataclass(frozen=True)
class Option:
    value: str
    text: str


@dataclass(frozen=True)
class Question:
    name: str
    text: str
    per: Per
    options: tuple[Option, ...]

    def allows(self, value: str) -> bool:
        return any(o.value == value for o in self.options)


QUESTIONS: dict[str, Question] = {q.name: q for q in (
    Question("empathy", "How empathetic is this reply?", "candidate", (
        Option("1", "1 dismissive"), Option("2", "2 cold"), Option("3", "3 neutral"),
        Option("4", "4 warm"), Option("5", "5 understood the customer"))),
    Question("accuracy", "Is this reply correct?", "candidate", (
        Option("correct", "correct"), Option("partly", "partly correct"), Option("wrong", "wrong"))),
    Question("handoff", "Did this reply hand off to a person correctly (handing off when it should, "
                        "keeping the chat when it should)?", "candidate", (
        Option("yes", "yes"), Option("no", "no"))),
    Question("should_escalate", "Should a person take over now?", "item", (
        Option("yes", "yes"), Option("no", "no"))),
)}
DEFAULT_ASKED: tuple[str, ...] = ("empathy", "accuracy", "handoff", "should_escalate")

# How answers become the label format of evals/labels.py (stated again in every export manifest).
ACCURACY_TO_SCALE: dict[str, int] = {"correct": 5, "partly": 3, "wrong": 1}


def escalation_class(escalated: bool, handed_off_correctly: str) -> str:
    """The label-format escalation class from what the reply did and the reviewer's yes/no."""
    if escalated:
        return "correct_handoff" if handed_off_correctly == "yes" else "premature"
    return "correct_containment" if handed_off_correctly == "yes" else "missed"


def parse_asked(text: str | Sequence[str]) -> tuple[str, ...]:
    """`empathy,accuracy` -> the questions, in the order given; an unknown name is a UserError."""
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    if not names:
        raise UserError(f"--ask: name at least one question ({', '.join(QUESTIONS)})")
    for name in names:
        if name not in QUESTIONS:
            raise UserError(f"--ask {name}: unknown question (allowed: {', '.join(QUESTIONS)})")
    return tuple(dict.fromkeys(names))
