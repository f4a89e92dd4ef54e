"""One pass over the data before a streamed or sharded run: validate every row, count conversations and
decision points, hash the dataset, and cut it into shards at conversation boundaries.

The pass keeps a few numbers per conversation (its record index, its decision points, a 64-bit hash of
its id), never the conversations, so it is flat in memory at a million rows. Shards are balanced by
decision points; the bootstrap resamples whole conversations, so no conversation is ever split.
"""

from __future__ import annotations

import hashlib
import json
import random
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evals.load import DecisionPoints, OnError, RowError, build_cases, duplicate, read_rows, refuse
from evals.types import Conversation, View


@dataclass(frozen=True)
class Shard:
    """Conversations `first` .. `stop` - 1 (positions among the valid ones, in data order) and, for a
    file, the records they are read from (`first_record` .. `stop_record` - 1)."""

    index: int
    first: int
    stop: int
    first_record: int
    stop_record: int
    decision_points: int
    excluded: frozenset[int] = frozenset()  # records in the range left out (repeated ids)


@dataclass(frozen=True)
class Plan:
    source: str
    conversations: int
    decision_points: int
    digest: str  # equal to `evals.api.dataset_digest` of the same cases
    shards: list[Shard]
    skipped: list[RowError] = field(default_factory=list)
    # up to SAMPLE conversations drawn evenly (all of them in a smaller dataset), for scorers that
    # calibrate on the run's data before scoring it in chunks (accuracy's floor: `calibrate`)
    sample: list[Conversation] = field(default_factory=list)


SAMPLE = 5000


def plan(data: str | Path | Sequence[Conversation], shards: int, decision_points: DecisionPoints = "every",
         view: View = "agent", on_error: OnError = "fail") -> Plan:
    """Validate, count, hash and cut `data` (a dataset file or conversations) into at most `shards` parts.

    A repeated conversation id is a bad row, as `load_conversations` says; found by hash, so when there
    is one (rare) the data is read a second time without those rows, for the digest."""
    source = str(data) if isinstance(data, (str, Path)) else "conversations"
    found = _pass(data, decision_points, view, frozenset())
    duplicates = _duplicates(data, source, found.ids, found.records)
    if duplicates:
        found = _pass(data, decision_points, view, frozenset(r for r, _ in duplicates))
    skipped = [*found.skipped, *(error for _, error in duplicates)]
    if skipped and on_error == "fail":
        raise refuse(skipped)
    return Plan(source, len(found.records), int(found.points.sum()), found.digest,
                _cut(found.records, found.points, shards, found.excluded), skipped, found.sample)


@dataclass(frozen=True)
class _Pass:
    records: np.ndarray  # each valid conversation's record index
    points: np.ndarray  # its decision points
    ids: np.ndarray  # a 64-bit hash of its id
    digest: str
    skipped: list[RowError]
    excluded: frozenset[int]
    sample: list[Conversation]


def _pass(data: str | Path | Sequence[Conversation], decision_points: DecisionPoints, view: View,
          excluded: frozenset[int]) -> _Pass:
    # typed arrays, 8 bytes an entry: a list of Python ints would take 36 (40 MB more at a million rows)
    records, points, ids = array("q"), array("q"), array("Q")
    skipped: list[RowError] = []
    digest = hashlib.sha256()
    sample: list[Conversation] = []
    rng = random.Random(0)
    for index, _, found in _rows(data):
        if isinstance(found, list):
            skipped.extend(found)
            continue
        if index in excluded:
            continue
        cases = build_cases([found], decision_points, view)
        if cases:  # as `dataset_digest` hashes it: the conversations decision points come from
            digest.update(json.dumps(found.model_dump(mode="json"), sort_keys=True).encode())
        for case in cases:
            digest.update(f"|{case.case_id}|{case.view}".encode())
        if len(sample) < SAMPLE:  # reservoir sampling: every conversation as likely, in data order
            sample.append(found)
        elif (pick := rng.randrange(len(records) + 1)) < SAMPLE:
            sample[pick] = found
        records.append(index)
        points.append(len(cases))
        ids.append(_id_hash(found.conversation_id))
    return _Pass(np.frombuffer(records, dtype=np.int64), np.frombuffer(points, dtype=np.int64),
                 np.frombuffer(ids, dtype=np.uint64), digest.hexdigest(), skipped, excluded, sample)


def conversations_of(data: str | Path | Sequence[Conversation], shard: Shard) -> Iterator[Conversation]:
    """The valid conversations of one shard, in data order (a file is read again, only its records kept)."""
    for index, _, found in _rows(data):
        if index >= shard.stop_record:
            return
        if index >= shard.first_record and not isinstance(found, list) and index not in shard.excluded:
            yield found


def _rows(data: str | Path | Sequence[Conversation]) -> Iterable[tuple[int, str, Conversation | list[RowError]]]:
    if isinstance(data, (str, Path)):
        return read_rows(data)
    return ((i, f"item {i + 1}", c) for i, c in enumerate(data))


def _id_hash(conversation_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(conversation_id.encode(), digest_size=8).digest(), "little")


def _duplicates(data: str | Path | Sequence[Conversation], source: str, ids: np.ndarray,
                records: np.ndarray) -> list[tuple[int, RowError]]:
    """(record, error) of each row repeating an earlier conversation id. Found by hash; a second pass
    over the few records involved reads their ids, so a hash collision is no false alarm."""
    _, first = np.unique(ids, return_index=True)
    repeated = np.ones(len(ids), dtype=bool)
    repeated[first] = False
    if not repeated.any():
        return []
    suspects = set(records[np.isin(ids, ids[repeated])].tolist())
    seen: dict[str, str] = {}
    found: list[tuple[int, RowError]] = []
    for index, row, conv in _rows(data):
        if index in suspects and isinstance(conv, Conversation):
            if conv.conversation_id in seen:
                found.append((index, duplicate(source, row, conv.conversation_id, seen[conv.conversation_id])))
            else:
                seen[conv.conversation_id] = row
    return found


def _cut(record_at: np.ndarray, points: np.ndarray, shards: int, excluded: frozenset[int]) -> list[Shard]:
    """Contiguous runs of conversations with about the same number of decision points each."""
    if len(points) == 0:
        return []
    total = np.cumsum(points)
    targets = total[-1] * np.arange(1, shards) / shards
    after = np.searchsorted(total, targets, side="left")  # the conversation that reaches each target
    # cut after it, or before it, whichever leaves the shard nearer its share
    before = np.maximum(after - 1, 0)
    nearer = np.where(np.abs(total[after] - targets) <= np.abs(total[before] - targets), after + 1, before + 1)
    bounds = sorted({0, *nearer.tolist(), len(points)})
    out = []
    for first, stop in zip(bounds, bounds[1:]):
        if stop <= first:
            continue
        first_record, stop_record = int(record_at[first]), int(record_at[stop - 1]) + 1
        out.append(Shard(len(out), int(first), int(stop), first_record, stop_record, int(points[first:stop].sum()),
                         frozenset(r for r in excluded if first_record <= r < stop_record)))
    return out
