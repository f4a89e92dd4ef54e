"""The pass before a sharded run: validation like `load_conversations`, the same dataset digest as
`evaluate`, shards cut at conversation boundaries with balanced decision points."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shard_helpers import chats, write

from evals.api import dataset_digest
from evals.load import DatasetError, build_cases
from evals.sharding.plan import conversations_of, plan


def test_shards_cover_every_conversation_once_in_order(tmp_path: Path) -> None:
    convs = chats(31)
    path = write(tmp_path / "chats.jsonl", convs)
    found = plan(path, 4)
    assert found.conversations == 31 and found.decision_points == len(build_cases(convs))
    assert found.digest == dataset_digest(build_cases(convs))
    read = [c.conversation_id for s in found.shards for c in conversations_of(path, s)]
    assert read == [c.conversation_id for c in convs]
    assert [s.first for s in found.shards] == [0, *(s.stop for s in found.shards[:-1])]
    points = [s.decision_points for s in found.shards]
    share = found.decision_points / 4
    assert len(points) == 4 and all(abs(p - share) <= 3 for p in points)  # within a conversation (3 turns) of a share


def test_more_shards_than_conversations_gives_one_per_conversation() -> None:
    found = plan(chats(3), 8)
    assert [(s.first, s.stop) for s in found.shards] == [(0, 1), (1, 2), (2, 3)]


def test_a_bad_row_is_named_and_skipped_only_when_asked(tmp_path: Path) -> None:
    path = write(tmp_path / "chats.jsonl", chats(5))
    lines = path.read_text(encoding="utf-8").splitlines()
    broken = json.loads(lines[2])
    del broken["language"]
    path.write_text("\n".join([*lines[:2], json.dumps(broken), *lines[3:], lines[1]]) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"chats.jsonl: line 3: field 'language'") as raised:
        plan(path, 2)
    assert "line 6: field 'conversation_id': duplicate id 'c001' (first at line 2)" in str(raised.value)
    found = plan(path, 2, on_error="skip")
    assert len(found.skipped) == 2 and found.conversations == 4
    kept = [c for s in found.shards for c in conversations_of(path, s)]
    assert [c.conversation_id for c in kept] == ["c000", "c001", "c003", "c004"]
    assert found.digest == dataset_digest(build_cases(kept))
