"""A dataset's references from reviewed labels: `dataset.references_path` (a references-vN.jsonl export).

One row per reviewed decision point:

    {"conversation_id": "c1", "turn": 2, "should_escalate": true, "escalation_source": "human_review",
     "reviewers": ["ana", "ben"], "adjudicated": false}

After the dataset is loaded, each named decision point gets the reviewed `should_escalate` with
`escalation_source: human_review`; a reviewed label replaces a derived one (intent rule, agent phrase ...).
A row naming a conversation or turn the dataset does not have is a one-line error (file, line, field).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from evals.load import DatasetError, LoadedDataset, RowError
from evals.types import Conversation

FIELDS = ("conversation_id", "turn", "should_escalate", "escalation_source", "reviewers", "adjudicated")


@dataclass(frozen=True)
class Reviewed:
    conversation_id: str
    turn: int
    should_escalate: bool
    row: str  # "line 3", for messages


@dataclass(frozen=True)
class Applied:
    conversations: list[Conversation]
    set: int  # decision points given a reviewed label
    replaced: int  # of those, how many had a label from another source
    changed: int  # of those, how many the review turned the other way

    def summary(self, path: str) -> str:
        return (f"{path}: {self.set} decision points use reviewed should_escalate (human_review); "
                f"{self.replaced} replaced a derived label, {self.changed} of them changed its value")


def load_references(path: str | Path) -> list[Reviewed]:
    source = str(path)
    file = Path(source)
    if not file.is_file():
        raise DatasetError(f"{source}: no such references file (dataset.references_path)")
    out: list[Reviewed] = []
    seen: dict[tuple[str, int], str] = {}
    for number, raw in enumerate(file.read_bytes().splitlines(), start=1):
        row = f"line {number}"
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DatasetError(str(RowError(source, row, "", f"not a JSON object ({exc})"))) from None
        reviewed = _validated(source, row, record)
        key = (reviewed.conversation_id, reviewed.turn)
        if key in seen:
            raise DatasetError(str(RowError(source, row, "turn", f"{key[0]} turn {key[1]} already reviewed at "
                                                                 f"{seen[key]}")))
        seen[key] = row
        out.append(reviewed)
    return out


def _validated(source: str, row: str, record: Any) -> Reviewed:
    def bad(name: str, message: str) -> DatasetError:
        return DatasetError(str(RowError(source, row, name, message)))

    if not isinstance(record, dict):
        raise bad("", "expected a JSON object")
    unknown = [k for k in record if k not in FIELDS]
    if unknown:
        raise bad(unknown[0], f"unknown field (fields are {', '.join(FIELDS)})")
    cid, turn, should = record.get("conversation_id"), record.get("turn"), record.get("should_escalate")
    if not isinstance(cid, str) or not cid:
        raise bad("conversation_id", "required, a non-empty string")
    if isinstance(turn, bool) or not isinstance(turn, int) or turn < 0:
        raise bad("turn", f"required, a customer turn index >= 0, got {json.dumps(turn)}")
    if not isinstance(should, bool):
        raise bad("should_escalate", f"required, true or false, got {json.dumps(should)}")
    if record.get("escalation_source", "human_review") != "human_review":
        raise bad("escalation_source", f"reviewed references are human_review, got "
                                       f"{json.dumps(record['escalation_source'])}")
    return Reviewed(cid, turn, should, row)


def apply_references(conversations: list[Conversation], path: str | Path) -> Applied:
    """The conversations with each reviewed decision point's should_escalate set (source human_review)."""
    source = str(path)
    reviewed = load_references(source)
    by_id = {c.conversation_id: c for c in conversations}
    updates: dict[str, dict[int, Reviewed]] = {}
    for r in reviewed:
        conv = by_id.get(r.conversation_id)
        if conv is None:
            raise DatasetError(str(RowError(source, r.row, "conversation_id",
                                            f"no conversation '{r.conversation_id}' in the dataset")))
        if not any(ref.turn == r.turn for ref in conv.references):
            turns = ", ".join(str(ref.turn) for ref in conv.references) or "none"
            raise DatasetError(str(RowError(source, r.row, "turn", f"turn {r.turn} of '{r.conversation_id}' is "
                                                                   f"not a decision point (its turns: {turns})")))
        updates.setdefault(r.conversation_id, {})[r.turn] = r
    replaced = changed = 0
    out = []
    for conv in conversations:
        mine = updates.get(conv.conversation_id)
        if not mine:
            out.append(conv)
            continue
        references = []
        for ref in conv.references:
            r = mine.get(ref.turn)
            if r is None:
                references.append(ref)
                continue
            if ref.should_escalate is not None and ref.escalation_source != "human_review":
                replaced += 1
                changed += ref.should_escalate != r.should_escalate
            references.append(ref.model_copy(update={"should_escalate": r.should_escalate,
                                                     "escalation_source": "human_review"}))
        out.append(conv.model_copy(update={"references": references}))
    return Applied(out, len(reviewed), replaced, changed)


def use_references(loaded: LoadedDataset, path: str | Path, say: Any = print) -> LoadedDataset:
    """The hook for dataset loading: `loaded` with the reviewed labels applied, and one line said about it."""
    applied = apply_references(loaded.conversations, path)
    say(applied.summary(str(path)))
    return replace(loaded, conversations=applied.conversations)
