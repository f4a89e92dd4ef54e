"""A queue's answers -> versioned files the rest of the harness reads (docs/review.md).

    labels-vN.jsonl       the human-label format of evals/labels.py: `chatbot-evals agree --labels` reads it
    labels-vN.parquet     the same rows as a Hugging Face `datasets` Parquet file (`label` as text, since one
                          column holds both 1-5 scores and escalation classes)
    references-vN.jsonl   reviewed `should_escalate` per decision point, for a dataset's `references_path`
    manifest-vN.json      the queue, when, counts per criterion, the answer mappings, disputes left, sha256s

N is one more than the highest version already in the folder, so nothing is overwritten.

How answers become labels: empathy 1-5 as answered; accuracy correct/partly/wrong -> 5/3/1; the escalation
class is DERIVED from the reviewer's yes/no to "did this reply hand off correctly?" and whether the reply
handed off (as the run recorded it): it is not a class a reviewer chose. An adjudicated unit is one row by
reviewer `adjudicated` (the owner's name and the reviewers' answers in its note) in place of the
reviewers' rows. A reference needs the reviewers to agree, or an adjudication; disputed ones are left out
and counted.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from evals.errors import UserError
from evals.review.questions import ACCURACY_TO_SCALE, escalation_class
from evals.review.store import ADJUDICATED, NOTE, Store

CRITERION_OF: dict[str, str] = {"empathy": "empathy", "accuracy": "accuracy", "handoff": "escalation"}
_VERSIONED = re.compile(r"^(?:labels|references|manifest)-v(\d+)\.(?:jsonl|parquet|json)$")
DERIVED_NOTE = ("escalation labels are derived: a reviewer's yes/no to 'did this reply hand off correctly?' "
                "combined with whether the reply handed off (recorded by the run); reviewers did not choose "
                "the class themselves")
MAPPINGS: dict[str, Any] = {
    "empathy": "the reviewer's 1-5 as answered",
    "accuracy": dict(ACCURACY_TO_SCALE),
    "escalation": {f"{'escalated' if e else 'not escalated'} & {a}": escalation_class(e, a)
                   for e in (True, False) for a in ("yes", "no")},
    "should_escalate": {"yes": True, "no": False},
}


@dataclass(frozen=True)
class Unit:
    """One (item, reply slot or None, question) with every reviewer's current answer and the final one."""

    item_id: int
    slot: int | None
    question: str
    answers: dict[str, tuple[str, str]]  # reviewer -> (value, answered at)
    final: tuple[str, str] | None  # (value, owner) when adjudicated

    @property
    def disputed(self) -> bool:
        return len({v for v, _ in self.answers.values()}) > 1


@dataclass(frozen=True)
class ExportManifest:
    version: int
    folder: Path
    files: list[Path]
    manifest: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def units(store: Store) -> list[Unit]:
    """Every answered or adjudicated (item, slot, question), in item order."""
    answers: dict[tuple[int, int | None, str], dict[str, tuple[str, str]]] = {}
    for label in store.labels():
        if label.question != NOTE:
            answers.setdefault((label.item_id, label.slot, label.question), {})[label.reviewer] = (label.value,
                                                                                                  label.at)
    finals = store.adjudications()
    keys = sorted(set(answers) | set(finals), key=lambda k: (k[0], -1 if k[1] is None else k[1], k[2]))
    return [Unit(i, s, q, answers.get((i, s, q), {}), finals.get((i, s, q))) for i, s, q in keys]


def label_rows(store: Store) -> list[dict[str, Any]]:
    """The queue's per-reply answers as rows of the evals/labels.py format (finals replace reviewers' rows)."""
    items = {item.item_id: item for item in store.items()}
    notes = {(lab.item_id, lab.reviewer): lab.value for lab in store.labels() if lab.question == NOTE and lab.value}
    rows: list[dict[str, Any]] = []
    for unit in units(store):
        if unit.question not in CRITERION_OF or unit.slot is None:
            continue
        item = items[unit.item_id]
        candidate = item.candidates[unit.slot]
        base = {"case_id": item.case_id, "variant": candidate.variant, "criterion": CRITERION_OF[unit.question]}
        if unit.final is not None:
            value, owner = unit.final
            given = ", ".join(f"{who} {v}" for who, (v, _) in sorted(unit.answers.items()))
            rows.append({**base, "reviewer": ADJUDICATED, "label": _label(unit.question, value, candidate.escalated),
                         "note": f"adjudicated by {owner}" + (f" (reviewers: {given})" if given else "")})
            continue
        for who, (value, at) in unit.answers.items():
            row = {**base, "reviewer": who, "label": _label(unit.question, value, candidate.escalated)}
            if (unit.item_id, who) in notes:
                row["note"] = notes[(unit.item_id, who)]
            rows.append({**row, "labelled_at": at})
    return rows


def _label(question: str, value: str, escalated: bool) -> int | str:
    if question == "empathy":
        return int(value)
    if question == "accuracy":
        return ACCURACY_TO_SCALE[value]
    return escalation_class(escalated, value)


def reference_rows(store: Store) -> tuple[list[dict[str, Any]], int]:
    """Reviewed should_escalate per decision point (agreed or adjudicated), and how many are left disputed."""
    items = {item.item_id: item for item in store.items()}
    rows, disputed = [], 0
    for unit in units(store):
        if unit.question != "should_escalate":
            continue
        if unit.final is not None:
            value = unit.final[0]
        elif unit.disputed:
            disputed += 1
            continue
        else:
            value = next(iter(unit.answers.values()))[0]
        item = items[unit.item_id]
        rows.append({"conversation_id": item.conversation_id, "turn": item.turn, "should_escalate": value == "yes",
                     "escalation_source": "human_review", "reviewers": sorted(unit.answers),
                     "adjudicated": unit.final is not None})
    return rows, disputed


def next_version(folder: Path) -> int:
    found = [int(m[1]) for p in folder.iterdir() if (m := _VERSIONED.match(p.name))] if folder.is_dir() else []
    return max(found, default=0) + 1


def export(store: Store, out_dir: str | Path) -> ExportManifest:
    """Write the next version of the labels, references and manifest to `out_dir` (created if needed)."""
    folder = Path(out_dir)
    labels = label_rows(store)
    references, disputed_references = reference_rows(store)
    if not labels and not references:
        raise UserError(f"{store.path}: nothing to export yet (no answer given, or every should_escalate "
                        "answer is disputed: adjudicate it on the owner's page)")
    folder.mkdir(parents=True, exist_ok=True)
    version = next_version(folder)
    files: list[Path] = []
    notes: list[str] = []
    if labels:
        files.append(_write_jsonl(folder / f"labels-v{version}.jsonl", labels))
        files.append(_write_parquet(folder / f"labels-v{version}.parquet", labels))
    else:
        notes.append("no per-reply answers (empathy, accuracy, handoff): no labels file written")
    if references:
        files.append(_write_jsonl(folder / f"references-v{version}.jsonl", references))
    else:
        notes.append("no agreed or adjudicated should_escalate answer: no references file written")
    manifest = _manifest(store, version, labels, references, disputed_references, files)
    path = folder / f"manifest-v{version}.json"
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    files.append(path)
    return ExportManifest(version, folder, files, manifest, notes)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    import pandas as pd

    import datasets

    frame = pd.DataFrame(rows, columns=["case_id", "variant", "criterion", "reviewer", "label", "note",
                                        "labelled_at"])
    frame["label"] = frame["label"].astype(str)  # 1-5 and escalation classes share the column
    quiet = datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()  # one small file: no bar on the terminal
    try:
        datasets.Dataset.from_pandas(frame, preserve_index=False).to_parquet(str(path))
    finally:
        if not quiet:
            datasets.enable_progress_bars()
    return path


def _manifest(store: Store, version: int, labels: list[dict[str, Any]], references: list[dict[str, Any]],
              disputed_references: int, files: list[Path]) -> dict[str, Any]:
    per_criterion: dict[str, dict[str, int]] = {}
    for criterion in sorted({r["criterion"] for r in labels}):
        mine = [r for r in labels if r["criterion"] == criterion]
        per_criterion[criterion] = {"rows": len(mine), "replies": len({(r["case_id"], r["variant"]) for r in mine}),
                                    "reviewers": len({r["reviewer"] for r in mine} - {ADJUDICATED})}
    open_disputes: dict[str, int] = {}
    adjudicated: dict[str, int] = {}
    for unit in units(store):
        if unit.final is not None:
            adjudicated[unit.question] = adjudicated.get(unit.question, 0) + 1
        elif unit.disputed:
            open_disputes[unit.question] = open_disputes.get(unit.question, 0) + 1
    meta = store.meta
    return {
        "format": 1,
        "version": version,
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "queue": {"file": store.path, "name": meta.name, "source": meta.source, "strategy": meta.strategy,
                  "seed": meta.seed, "asked": list(meta.asked), "reviewers_per_item": meta.per_item},
        "labels": per_criterion,
        "references": {"rows": len(references), "adjudicated": sum(r["adjudicated"] for r in references),
                       "left_out_disputed": disputed_references},
        "adjudicated": adjudicated,
        "disputed_not_adjudicated": open_disputes,
        "mappings": MAPPINGS,
        "derived": DERIVED_NOTE,
        "adjudicated_reviewer": f"'{ADJUDICATED}': the queue owner's final answer replaces the reviewers' rows "
                                "(owner and reviewers' answers in the note)",
        "sha256": {p.name: _sha256(p) for p in files},
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def counts_text(manifest: Mapping[str, Any]) -> str:
    """One line per criterion for the terminal."""
    lines = [f"  {c}: {v['rows']} labels on {v['replies']} replies by {v['reviewers']} reviewers"
             for c, v in manifest["labels"].items()]
    refs = manifest["references"]
    lines.append(f"  should_escalate: {refs['rows']} references ({refs['adjudicated']} adjudicated, "
                 f"{refs['left_out_disputed']} left out as disputed)")
    if manifest["disputed_not_adjudicated"]:
        lines.append("  disputed, not adjudicated: " + ", ".join(
            f"{q} {n}" for q, n in manifest["disputed_not_adjudicated"].items()))
    return "\n".join(lines)
