"""Rendering for the review page: one Jinja2 environment with autoescape on for every template.

Conversation text, replies and notes are untrusted: templates print them with `{{ }}` only (escaped;
no `|safe` anywhere) and the stylesheet keeps their line breaks with `white-space: pre-wrap`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from fastapi.responses import HTMLResponse

from evals.review.questions import Question
from evals.review.store import Item, Progress

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                          undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_ENV.get_template(template).render(**context), status_code=status)


def reply_letter(slot: int | None) -> str:
    return "ABCDEFGH"[slot] if slot is not None else ""


def about(slot: int | None) -> str:
    """What a question is about, as the reviewer sees it: a reply by its letter, or the conversation."""
    return f"Reply {reply_letter(slot)}" if slot is not None else "The conversation"


def option_views(question: Question, chosen: str | None = None) -> list[dict[str, Any]]:
    """Each option with its keyboard number (1..n) and its text without a repeated leading value."""
    views = []
    for key, option in enumerate(question.options, start=1):
        text = option.text.removeprefix(option.value + " ") if option.text != option.value else option.text
        views.append({"key": str(key), "value": option.value, "text": text, "label": option.text,
                      "chosen": option.value == chosen})
    return views


def answer_text(question: Question, value: str) -> str:
    return next((o.text for o in question.options if o.value == value), value)


def conversation(item: Item) -> list[dict[str, str]]:
    """The turns so far, with who spoke: the customer's language is shown, e.g. 'Customer (de)'."""
    turns = []
    for turn in item.history:
        role = str(turn.get("role", ""))
        who = f"Customer ({item.language})" if role == "customer" else (role.capitalize() or "Unknown")
        turns.append({"who": who, "side": "customer" if role == "customer" else "agent",
                      "text": str(turn.get("text", ""))})
    return turns


def blind_replies(item: Item) -> list[dict[str, Any]]:
    """The candidate replies as a reviewer may see them: a letter, the text and whether it handed the chat
    to a person (a tool call may do that without a word), never the variant."""
    return [{"letter": c.letter, "text": c.text, "escalated": c.escalated} for c in item.candidates]


def progress_text(progress: Progress) -> str:
    return (f"{progress.done_by_me} of {progress.done_by_me + progress.open_to_me} done"
            f" · {progress.open_to_me} left")
