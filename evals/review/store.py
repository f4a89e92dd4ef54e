"""A labelling queue: one SQLite file holding the items, who may label them, and every answer.

Durable by construction: every answer is committed when it is given (WAL journal, synchronous=FULL),
so a crash of the server loses no submitted label. Labels are append-only: a changed answer is a new
row, undo marks a row undone, and a reviewer's current answer is their newest row not undone; two
reviewers never write the same row. Open one `Store` per thread (sqlite3 connections are not shared).

Blind review: each item's candidate replies have a slot (Reply A, B) in an order shuffled when the
queue is made; the variant behind a slot is kept here and never sent to a reviewer's page.
Reviewer tokens and session ids are random (192 bits) and stored only as SHA-256 digests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from evals.errors import UserError
from evals.review.questions import QUESTIONS, Question

Role = Literal["reviewer", "owner"]
SESSION_HOURS = 12
FORMAT = 1

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE items (
    item_id INTEGER PRIMARY KEY, case_id TEXT NOT NULL UNIQUE, conversation_id TEXT NOT NULL,
    turn INTEGER NOT NULL, language TEXT NOT NULL, history TEXT NOT NULL, slice TEXT NOT NULL,
    reason TEXT NOT NULL);
CREATE TABLE candidates (
    item_id INTEGER NOT NULL REFERENCES items, slot INTEGER NOT NULL, variant TEXT NOT NULL,
    text TEXT NOT NULL, escalated INTEGER NOT NULL, PRIMARY KEY (item_id, slot));
CREATE TABLE reviewers (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, token_sha256 TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL, revoked_at TEXT);
CREATE TABLE sessions (
    session_sha256 TEXT PRIMARY KEY, reviewer TEXT NOT NULL REFERENCES reviewers, csrf TEXT NOT NULL,
    expires_at TEXT NOT NULL);
CREATE TABLE labels (
    label_id INTEGER PRIMARY KEY AUTOINCREMENT, item_id INTEGER NOT NULL REFERENCES items,
    slot INTEGER, question TEXT NOT NULL, reviewer TEXT NOT NULL, value TEXT NOT NULL,
    at TEXT NOT NULL, undone INTEGER NOT NULL DEFAULT 0);
CREATE INDEX labels_by_reviewer ON labels (reviewer, undone, label_id);
CREATE TABLE skips (item_id INTEGER NOT NULL, reviewer TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (item_id, reviewer));
CREATE TABLE adjudications (
    item_id INTEGER NOT NULL REFERENCES items, slot INTEGER, question TEXT NOT NULL,
    value TEXT NOT NULL, owner TEXT NOT NULL, at TEXT NOT NULL);
CREATE UNIQUE INDEX one_final ON adjudications (item_id, COALESCE(slot, -1), question);
"""
NOTE = "note"  # a free-text note per item: stored like an answer, not a question
ADJUDICATED = "adjudicated"  # the reviewer name of final labels in an export (evals/review/export.py)


@dataclass(frozen=True)
class Candidate:
    slot: int
    variant: str  # server-side only: never rendered for a reviewer
    text: str
    escalated: bool

    @property
    def letter(self) -> str:
        return "ABCDEFGH"[self.slot]


@dataclass(frozen=True)
class Item:
    item_id: int
    case_id: str
    conversation_id: str
    turn: int
    language: str
    history: list[dict[str, str]]  # {"role", "text"}, up to and including the customer's turn
    slice: str
    reason: str  # why it was sampled
    candidates: tuple[Candidate, ...]


@dataclass(frozen=True)
class NewItem:
    """An item to put in a new queue; candidates in the order they will be shown."""

    case_id: str
    conversation_id: str
    turn: int
    language: str
    history: list[dict[str, str]]
    candidates: Sequence[tuple[str, str, bool]]  # (variant, text, escalated)
    slice: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Reviewer:
    name: str
    role: Role

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"


@dataclass(frozen=True)
class Label:
    label_id: int
    item_id: int
    slot: int | None
    question: str
    reviewer: str
    value: str
    at: str


@dataclass(frozen=True)
class Progress:
    done_by_me: int
    open_to_me: int  # items I may still label (not done by me, and not full)
    total: int
    complete: int  # items labelled by as many reviewers as the queue asks


@dataclass(frozen=True)
class QueueMeta:
    name: str
    source: str  # the results folder or run the items came from
    strategy: str
    seed: int
    asked: tuple[str, ...]
    per_item: int
    extra: dict[str, Any] = field(default_factory=dict)  # how it was sampled, for the record


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Store:
    """An open queue file. `Store.create` makes one; `Store(path)` opens an existing one."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if not Path(self.path).is_file():
            raise UserError(f"{self.path}: no such queue (make one with `chatbot-evals review queue`)")
        try:
            self._db = self._connect(self.path)
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError:
            raise UserError(f"{self.path}: not a labelling queue file") from None
        if int(meta.get("format", 0)) != FORMAT:
            self._db.close()
            raise UserError(f"{self.path}: queue format {meta.get('format')} is not {FORMAT}")
        self.meta = QueueMeta(meta["name"], meta["source"], meta["strategy"], int(meta["seed"]),
                              tuple(json.loads(meta["asked"])), int(meta["per_item"]),
                              json.loads(meta.get("extra", "{}")))

    @staticmethod
    def _connect(path: str) -> sqlite3.Connection:
        db = sqlite3.connect(path, timeout=10.0, isolation_level=None)  # autocommit: each write lands
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        return db

    @classmethod
    def create(cls, path: str | Path, meta: QueueMeta, items: Iterable[NewItem]) -> Store:
        target = Path(path)
        if target.exists():
            raise UserError(f"{target}: already exists; a queue is never overwritten (choose another --out)")
        for name in meta.asked:
            if name not in QUESTIONS:
                raise UserError(f"unknown question '{name}' (allowed: {', '.join(QUESTIONS)})")
        target.parent.mkdir(parents=True, exist_ok=True)
        db = cls._connect(str(target))
        try:
            db.execute("BEGIN")
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)
            rows = {"format": str(FORMAT), "name": meta.name, "source": meta.source,
                    "strategy": meta.strategy, "seed": str(meta.seed), "asked": json.dumps(list(meta.asked)),
                    "per_item": str(meta.per_item), "extra": json.dumps(meta.extra), "created_at": _now()}
            db.executemany("INSERT INTO meta VALUES (?, ?)", rows.items())
            count = 0
            for item in items:
                cursor = db.execute(
                    "INSERT INTO items (case_id, conversation_id, turn, language, history, slice, reason) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (item.case_id, item.conversation_id, item.turn, item.language,
                     json.dumps(item.history, ensure_ascii=False), item.slice, item.reason))
                db.executemany("INSERT INTO candidates VALUES (?, ?, ?, ?, ?)",
                               [(cursor.lastrowid, slot, variant, text, int(escalated))
                                for slot, (variant, text, escalated) in enumerate(item.candidates)])
                count += 1
            if count == 0:
                raise UserError("no items to put in the queue (the sample is empty)")
            db.execute("COMMIT")
        except BaseException:
            db.close()
            target.unlink(missing_ok=True)
            raise
        db.close()
        return cls(target)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- items ---------------------------------------------------------------------------------
    @property
    def asked(self) -> tuple[Question, ...]:
        return tuple(QUESTIONS[name] for name in self.meta.asked)

    def items(self) -> list[Item]:
        return self._items("", ())

    def item(self, item_id: int) -> Item | None:
        """One item, read alone: every answer checks its item, so this must not read the whole queue."""
        found = self._items("WHERE item_id = ?", (item_id,))
        return found[0] if found else None

    def _items(self, where: str, args: tuple[Any, ...]) -> list[Item]:
        candidates: dict[int, list[Candidate]] = {}
        for item_id, slot, variant, text, escalated in self._db.execute(
                f"SELECT item_id, slot, variant, text, escalated FROM candidates {where} ORDER BY item_id, slot", args):
            candidates.setdefault(item_id, []).append(Candidate(slot, variant, text, bool(escalated)))
        return [Item(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7],
                     tuple(candidates.get(r[0], ())))
                for r in self._db.execute("SELECT item_id, case_id, conversation_id, turn, language, history, "
                                          f"slice, reason FROM items {where} ORDER BY item_id", args)]

    def questions_for(self, item: Item) -> list[tuple[int | None, Question]]:
        """(slot or None, question) in the order the page asks them: per candidate, then per item."""
        out: list[tuple[int | None, Question]] = []
        for candidate in item.candidates:
            out.extend((candidate.slot, q) for q in self.asked if q.per == "candidate")
        out.extend((None, q) for q in self.asked if q.per == "item")
        return out

    # --- reviewers and sessions ----------------------------------------------------------------
    def add_reviewer(self, name: str, role: Role = "reviewer") -> str:
        """Register a reviewer (or owner) and return their token; it is shown once and stored hashed."""
        name = name.strip()
        if not name or len(name) > 64 or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise UserError(f"reviewer name '{name}': use 1-64 letters, digits, '-', '_' or '.'")
        if name == ADJUDICATED:
            raise UserError(f"reviewer name '{name}' is reserved: exported final labels carry it")
        token = secrets.token_urlsafe(24)
        try:
            self._db.execute("INSERT INTO reviewers VALUES (?, ?, ?, ?, NULL)",
                             (name, role, _digest(token), _now()))
        except sqlite3.IntegrityError:
            raise UserError(f"reviewer '{name}' already exists in {self.path} "
                            "(--revoke it first to issue a new token)") from None
        return token

    def revoke(self, name: str) -> None:
        self._db.execute("DELETE FROM sessions WHERE reviewer = ?", (name,))
        cursor = self._db.execute("DELETE FROM reviewers WHERE name = ? AND NOT EXISTS "
                                  "(SELECT 1 FROM labels WHERE reviewer = ?)", (name, name))
        if cursor.rowcount == 0:  # keep a reviewer who labelled: their labels need their name
            cursor = self._db.execute("UPDATE reviewers SET revoked_at = ?, token_sha256 = ? "
                                      "WHERE name = ? AND revoked_at IS NULL",
                                      (_now(), "revoked:" + secrets.token_hex(16), name))
        if cursor.rowcount == 0:
            raise UserError(f"no active reviewer '{name}' in {self.path}")

    def reviewers(self) -> list[Reviewer]:
        return [Reviewer(n, r) for n, r in self._db.execute(
            "SELECT name, role FROM reviewers WHERE revoked_at IS NULL ORDER BY created_at, name")]

    def reviewer_for_token(self, token: str) -> Reviewer | None:
        digest = _digest(token)
        for name, role, stored in self._db.execute(
                "SELECT name, role, token_sha256 FROM reviewers WHERE revoked_at IS NULL"):
            if hmac.compare_digest(stored, digest):
                return Reviewer(name, role)
        return None

    def open_session(self, reviewer: Reviewer) -> tuple[str, str]:
        """A new (session id, CSRF token) for a logged-in reviewer."""
        session, csrf = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        expires = datetime.now(timezone.utc) + timedelta(hours=SESSION_HOURS)
        self._db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)",
                         (_digest(session), reviewer.name, csrf, expires.isoformat(timespec="seconds")))
        return session, csrf

    def session(self, session: str) -> tuple[Reviewer, str] | None:
        """The reviewer and CSRF token of a live session; None when unknown, expired or revoked."""
        row = self._db.execute(
            "SELECT r.name, r.role, s.csrf, s.expires_at FROM sessions s JOIN reviewers r ON r.name = s.reviewer "
            "WHERE s.session_sha256 = ? AND r.revoked_at IS NULL", (_digest(session),)).fetchone()
        if row is None or row[3] < _now():
            return None
        return Reviewer(row[0], row[1]), row[2]

    def close_session(self, session: str) -> None:
        self._db.execute("DELETE FROM sessions WHERE session_sha256 = ?", (_digest(session),))

    # --- answers -------------------------------------------------------------------------------
    def answer(self, item_id: int, slot: int | None, question: str, reviewer: str, value: str) -> Label:
        """Record one answer (committed before returning); a bad item, slot or value is a UserError."""
        item = self.item(item_id)
        if item is None:
            raise UserError(f"no item {item_id} in this queue")
        if question == NOTE:
            if slot is not None:
                raise UserError("a note belongs to the item, not to one reply")
            value = value.strip()[:4000]
        else:
            asked = {(s, q.name): q for s, q in self.questions_for(item)}
            if (slot, question) not in asked:
                raise UserError(f"item {item_id} does not ask '{question}'"
                                + (f" of reply slot {slot}" if slot is not None else ""))
            if not asked[(slot, question)].allows(value):
                allowed = ", ".join(o.value for o in asked[(slot, question)].options)
                raise UserError(f"'{value}' is not an answer to {question} (allowed: {allowed})")
        at = _now()
        cursor = self._db.execute(
            "INSERT INTO labels (item_id, slot, question, reviewer, value, at) VALUES (?, ?, ?, ?, ?, ?)",
            (item_id, slot, question, reviewer, value, at))
        self._db.execute("DELETE FROM skips WHERE item_id = ? AND reviewer = ?", (item_id, reviewer))
        return Label(int(cursor.lastrowid or 0), item_id, slot, question, reviewer, value, at)

    def undo(self, reviewer: str) -> Label | None:
        """Withdraw the reviewer's newest answer still standing; None when there is none."""
        row = self._db.execute(
            "SELECT label_id, item_id, slot, question, reviewer, value, at FROM labels "
            "WHERE reviewer = ? AND undone = 0 ORDER BY label_id DESC LIMIT 1", (reviewer,)).fetchone()
        if row is None:
            return None
        self._db.execute("UPDATE labels SET undone = 1 WHERE label_id = ?", (row[0],))
        return Label(*row)

    def skip(self, item_id: int, reviewer: str) -> None:
        """Put the item at the back of this reviewer's queue."""
        self._db.execute("INSERT OR REPLACE INTO skips VALUES (?, ?, ?)", (item_id, reviewer, _now()))

    def labels(self, reviewer: str | None = None) -> list[Label]:
        """Current answers (and notes): each reviewer's newest not-undone row per (item, slot, question)."""
        where, args = ("AND reviewer = ?", (reviewer,)) if reviewer else ("", ())
        rows = self._db.execute(
            "SELECT label_id, item_id, slot, question, reviewer, value, at FROM labels "
            f"WHERE undone = 0 {where} ORDER BY label_id", args).fetchall()
        current: dict[tuple[int, int | None, str, str], Label] = {}
        for row in rows:
            label = Label(*row)
            current[(label.item_id, label.slot, label.question, label.reviewer)] = label
        return sorted(current.values(), key=lambda lab: lab.label_id)

    def answers(self, item_id: int, reviewer: str) -> dict[tuple[int | None, str], str]:
        return {(lab.slot, lab.question): lab.value
                for lab in self.labels(reviewer) if lab.item_id == item_id}

    def open_questions(self, item: Item, reviewer: str) -> list[tuple[int | None, Question]]:
        given = self.answers(item.item_id, reviewer)
        return [(s, q) for s, q in self.questions_for(item) if (s, q.name) not in given]

    def _done_by(self) -> dict[int, set[str]]:
        """item -> reviewers who answered every question it asks."""
        needed = {i.item_id: {(s, q.name) for s, q in self.questions_for(i)} for i in self.items()}
        given: dict[tuple[int, str], set[tuple[int | None, str]]] = {}
        for lab in self.labels():
            given.setdefault((lab.item_id, lab.reviewer), set()).add((lab.slot, lab.question))
        done: dict[int, set[str]] = {i: set() for i in needed}
        for (item_id, who), answered in given.items():
            if needed[item_id] <= answered:
                done[item_id].add(who)
        return done

    def next_item(self, reviewer: str) -> Item | None:
        """The first item this reviewer has not finished and that still needs reviewers; skipped ones last."""
        done = self._done_by()
        started = {lab.item_id for lab in self.labels(reviewer)}
        skipped = {i for (i,) in self._db.execute("SELECT item_id FROM skips WHERE reviewer = ? ORDER BY at",
                                                  (reviewer,))}
        open_items = [i for i in self.items() if reviewer not in done[i.item_id]
                      and (len(done[i.item_id]) < self.meta.per_item or i.item_id in started)]
        open_items.sort(key=lambda i: (i.item_id in skipped, i.item_id not in started, i.item_id))
        return open_items[0] if open_items else None

    def progress(self, reviewer: str) -> Progress:
        done = self._done_by()
        started = {lab.item_id for lab in self.labels(reviewer)}
        mine = sum(reviewer in who for who in done.values())
        open_to_me = sum(1 for i, who in done.items() if reviewer not in who
                         and (len(who) < self.meta.per_item or i in started))
        complete = sum(len(who) >= self.meta.per_item for who in done.values())
        return Progress(mine, open_to_me, len(done), complete)

    # --- adjudication --------------------------------------------------------------------------
    def adjudicate(self, item_id: int, slot: int | None, question: str, value: str, owner: str) -> None:
        """The owner's final answer for a disputed (item, slot, question); a later one replaces it."""
        item = self.item(item_id)
        asked = {(s, q.name): q for s, q in self.questions_for(item)} if item else {}
        if (slot, question) not in asked or not asked[(slot, question)].allows(value):
            raise UserError(f"cannot adjudicate {question}={value} on item {item_id} slot {slot}")
        self._db.execute("DELETE FROM adjudications WHERE item_id = ? AND COALESCE(slot, -1) = ? AND question = ?",
                         (item_id, -1 if slot is None else slot, question))
        self._db.execute("INSERT INTO adjudications VALUES (?, ?, ?, ?, ?, ?)",
                         (item_id, slot, question, value, owner, _now()))

    def adjudications(self) -> dict[tuple[int, int | None, str], tuple[str, str]]:
        """(item, slot, question) -> (final value, owner)."""
        return {(i, s, q): (v, o) for i, s, q, v, o in self._db.execute(
            "SELECT item_id, slot, question, value, owner FROM adjudications")}
