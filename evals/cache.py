"""A durable reply cache in SQLite: re-runs cost no calls, and a killed run resumes.

Each reply is committed as it arrives (WAL journal), so a run killed at any moment keeps every
reply it had received. The key hashes everything that determines an answer — the variant's
fingerprint (model, endpoint, prompt hash, parameters, tools) and the exact inquiry — so a
changed prompt or parameter never reuses an old answer. Failed calls are not cached.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from evals.errors import UserError
from evals.types import Inquiry

_CHUNK = 500  # keys per SELECT ... IN (...), below SQLite's parameter limit


def cache_key(fingerprint: Mapping[str, Any], inquiry: Inquiry) -> str:
    payload = {
        "variant": fingerprint,
        "case_id": inquiry.case_id,
        "language": inquiry.language,
        "channel": inquiry.channel,
        "history": [[t.role, t.text] for t in inquiry.history],
    }
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def text_hash(text: str) -> str:
    """Short content hash for fingerprints (prompts, rubrics)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class ReplyCache:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a committed reply survives the process being killed.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, variant TEXT NOT NULL, "
                "value TEXT NOT NULL, created REAL NOT NULL)"
            )
        except (OSError, sqlite3.Error) as err:  # a folder nobody can make, a file that is not SQLite
            reason = (f"{self.path.parent} is a file, not a folder" if isinstance(err, FileExistsError)
                      else err.strerror if isinstance(err, OSError) and err.strerror else str(err))
            raise UserError(f"replay.cache {path}: cannot use it ({reason}); point replay.cache at a writable "
                            "file, or set it to null") from None

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        keys = list(keys)
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for key, value in self._db.execute(f"SELECT key, value FROM replies WHERE key IN ({marks})", chunk):
                found[key] = json.loads(value)
        return found

    def put(self, key: str, variant: str, value: Mapping[str, Any]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO replies (key, variant, value, created) VALUES (?, ?, ?, ?)",
            (key, variant, json.dumps(value, ensure_ascii=False), time.time()),
        )

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM replies").fetchone()[0])

    def close(self) -> None:
        self._db.close()
