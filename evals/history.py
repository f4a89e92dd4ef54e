"""The conversation so far at a decision point, for people to read (the report's worst examples, the
labelling page). The results keep only the customer's last message; the turns before it come from the
run's dataset, as the variants read them (`replay.view`), redacted when the results' texts are.
When the dataset cannot be read, or no longer holds the message the run answered, a lookup returns the
last message alone and a note saying why, never another conversation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.errors import UserError

if TYPE_CHECKING:
    from evals.results import EvalResult
    from evals.types import Conversation

Turns = list[dict[str, str]]  # {"role", "text"}, up to and including the customer's turn
# (conversation_id, customer turn, the message the run answered) -> (turns, note; "" when whole)
History = Callable[[str, int, str], tuple[Turns, str]]


def history_of(conversations: Iterable[Conversation], view: str, redact: bool, where: str,
               problem: str = "") -> History:
    """A lookup over loaded conversations; `where` names their source in notes."""
    from evals.types import Case

    by_id = {c.conversation_id: c for c in conversations}
    redactor = None
    if redact:
        from evals.pii import PiiRedactor

        redactor = PiiRedactor()

    def last_only(inquiry: str, why: str) -> tuple[Turns, str]:
        return [{"role": "customer", "text": inquiry}], f"history: the customer's last message only ({why})"

    def history(conversation_id: str, turn: int, inquiry: str) -> tuple[Turns, str]:
        conv = by_id.get(conversation_id)
        if conv is None:
            return last_only(inquiry, problem or f"conversation {conversation_id} not in {where}")
        reference = next((r for r in conv.references if r.turn == turn), None)
        if reference is None:
            return last_only(inquiry, f"turn {turn} of {conversation_id} has no reference in {where}")
        turns = [{"role": t.role, "text": t.text} for t in Case(conv, turn, reference, view).history()]  # type: ignore[arg-type]
        if redactor is not None:
            turns = [{"role": t["role"], "text": redactor.redact(t["text"]).text} for t in turns]
        if turns[-1]["text"] != inquiry:  # the dataset changed since the run: do not show another chat
            return last_only(inquiry, f"{where} no longer holds the message the run answered")
        return turns, ""

    return history


def history_from_dataset(result: EvalResult) -> History:
    """A lookup over the run's dataset: the manifest's `dataset.source`, else the configured path."""
    from evals.load import load_conversations

    manifest: dict[str, Any] = result.manifest
    source = str((manifest.get("dataset") or {}).get("source") or "")
    configured = str(((manifest.get("config") or {}).get("dataset") or {}).get("path") or "")
    path = next((p for p in (source, configured) if p and Path(p).exists()), None)
    view = ((manifest.get("config") or {}).get("replay") or {}).get("view", "agent")
    redact = bool(manifest.get("redacted_text", False))
    if path is None:
        return history_of([], view, redact, "", f"dataset {source or configured or '(not recorded)'} not found")
    try:
        conversations = load_conversations(path, on_error="skip").conversations
    except UserError as exc:
        return history_of([], view, redact, path, f"dataset {path} not readable ({str(exc).splitlines()[0]})")
    return history_of(conversations, view, redact, path)
