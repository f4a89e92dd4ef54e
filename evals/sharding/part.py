"""One shard of a run, in chunks: each chunk of conversations is replayed and scored, then written to
disk before the next is read, so memory holds one chunk whatever the size of the shard.

A chunk leaves four files in the shard's folder, the marker last:

    chunk-00007.replies.parquet   its rows of the results' replies table (texts redacted as configured)
    chunk-00007.scores.parquet    its rows of the scores table
    chunk-00007.sums.npz          per variant: conversation positions, and each metric's numerator,
                                  denominator and count per conversation (`ConversationSums`)
    chunk-00007.done.json         scorer tallies and versions; written last, so a chunk without it is redone

A shard run again (a killed Ray task retried, a re-run into the same folder) skips every chunk with a
marker: only unfinished work is redone, and a reply cache makes even that cheap for remote bots.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from evals import api
from evals.aggregate import metric_specs
from evals.cache import ReplyCache
from evals.conversation_sums import ConversationSums
from evals.load import DecisionPoints, build_cases
from evals.memory import Memory
from evals.types import Case, Conversation, Scorer, Variant, View


@dataclass(frozen=True)
class Job:
    """What every shard of one run does the same way (sent to each worker)."""

    variants: Sequence[Variant]
    scorers: Sequence[Scorer]
    settings: api.Settings
    decision_points: DecisionPoints = "every"
    view: View = "agent"
    chunk: int = 2000  # decision points per chunk, about (conversations are never split)
    memory: Memory | None = None  # None: each chunk's own conversations
    cache_path: str | None = None  # a reply cache file every shard opens (SQLite; concurrent writers wait)


def run_shard(job: Job, conversations: Iterable[Conversation], first: int, folder: str | Path) -> int:
    """Evaluate `conversations` (positions `first`, `first` + 1, ... in the dataset) chunk by chunk into
    `folder`; returns the number of chunks. Chunks already marked done are skipped, not redone."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    specs = metric_specs(job.scorers)
    cache = ReplyCache(job.cache_path) if job.cache_path else None
    for scorer in job.scorers:
        if hasattr(scorer, "prepare"):
            scorer.prepare(cache)
    if job.memory is not None:  # one memory for the whole shard: prepare once (retrieval indexes it)
        for variant in job.variants:
            variant.prepare(job.memory)
    budget_ends = time.monotonic() + job.settings.time_budget_s if job.settings.time_budget_s else None
    count = 0
    try:
        for index, (position, chunk, cases) in enumerate(_chunks(conversations, first, job)):
            count += 1
            name = out / f"chunk-{index:05d}"
            if Path(f"{name}.done.json").is_file():
                continue
            settings = job.settings
            if budget_ends is not None:  # one budget for the shard, not one per chunk
                settings = dataclasses.replace(settings, time_budget_s=max(budget_ends - time.monotonic(), 1e-9))
            memory = job.memory or Memory.of(chunk, job.view)
            replies, scores = asyncio.run(api._run(cases, job.variants, job.scorers, settings, memory, cache, None,
                                                   prepare=job.memory is None))
            names = [v.name for v in job.variants]
            replies_rows, score_table = api.result_tables(cases, replies, scores, names, job.scorers,
                                                          settings.redact_text)
            key = {c.conversation_id: position + i for i, c in enumerate(chunk)}
            _write(name, replies_rows, score_table,
                   {v: ConversationSums.of(score_table[score_table["variant"] == v], specs, key) for v in names},
                   {s.name: api.scorer_version(s, scores) for s in job.scorers}, len(chunk))
    finally:
        if cache is not None:
            cache.close()
    return count


def _chunks(conversations: Iterable[Conversation], first: int,
            job: Job) -> Iterator[tuple[int, list[Conversation], list[Case]]]:
    """(position of the first, conversations, their decision points), about `job.chunk` decision points each."""
    chunk: list[Conversation] = []
    cases: list[Case] = []
    position = first
    for conv in conversations:
        chunk.append(conv)
        cases.extend(build_cases([conv], job.decision_points, job.view))
        if len(cases) >= job.chunk:
            yield position, chunk, cases
            position += len(chunk)
            chunk, cases = [], []
    if chunk:
        yield position, chunk, cases


def _write(name: Path, replies: pd.DataFrame, scores: pd.DataFrame, sums: dict[str, ConversationSums],
           versions: dict[str, str], conversations: int) -> None:
    replies.to_parquet(f"{name}.replies.parquet", index=False)
    scores.to_parquet(f"{name}.scores.parquet", index=False)
    arrays: dict[str, np.ndarray] = {}
    for i, part in enumerate(s.compact() for s in sums.values()):
        arrays |= {f"conversations_{i}": part.conversations.to_numpy("int64"), f"num_{i}": part.num,
                   f"den_{i}": part.den, f"count_{i}": part.count}
    np.savez(f"{name}.sums.npz", **arrays)
    marker = {"variants": list(sums), "rows": {v: dict(s.rows) for v, s in sums.items()},
              "unscored": {v: dict(s.unscored) for v, s in sums.items()}, "versions": versions,
              "conversations": conversations, "replies": int(replies.shape[0])}
    temporary = Path(f"{name}.done.json.tmp")
    temporary.write_text(json.dumps(marker), encoding="utf-8")
    os.replace(temporary, f"{name}.done.json")  # atomic: the chunk is done only once all of it is on disk


def read_chunk_sums(marker: Path) -> dict[str, ConversationSums]:
    """A done chunk's per-variant sums, as `_write` left them."""
    done = json.loads(marker.read_text(encoding="utf-8"))
    stem = str(marker)[: -len(".done.json")]
    with np.load(f"{stem}.sums.npz") as arrays:
        return {v: ConversationSums(pd.Index(arrays[f"conversations_{i}"]), arrays[f"num_{i}"], arrays[f"den_{i}"],
                                    arrays[f"count_{i}"], done["rows"][v], done["unscored"][v])
                for i, v in enumerate(done["variants"])}
