"""One shard streamed to disk chunk by chunk: a killed shard, run again, redoes only its unfinished chunk."""

from __future__ import annotations

from pathlib import Path

import pytest
from shard_helpers import CountingBot, chats, components

from evals.api import Settings
from evals.load import build_cases
from evals.sharding.part import Job, read_chunk_sums, run_shard


def test_a_killed_shard_redoes_only_its_unfinished_chunk(tmp_path: Path) -> None:
    convs = chats(12)  # 24 decision points; chunks of about 5
    _, scorers = components(scorers=("escalation",))
    killed = CountingBot(stop_after=12)
    with pytest.raises(SystemExit):
        run_shard(Job([killed], scorers, Settings(), chunk=5), convs, 0, tmp_path)
    done = sorted(p.name for p in tmp_path.glob("*.done.json"))
    assert done == ["chunk-00000.done.json", "chunk-00001.done.json"]  # the third chunk died half-way
    finished = {c for m in tmp_path.glob("*.done.json") for c in read_chunk_sums(m)["counting"].conversations}

    again = CountingBot()
    chunks = run_shard(Job([again], scorers, Settings(), chunk=5), convs, 0, tmp_path)
    every = [c.case_id for c in build_cases(convs)]
    assert chunks == len(list(tmp_path.glob("*.done.json"))) and chunks >= 4
    finished_cases = {c.case_id for c in build_cases([convs[i] for i in sorted(finished)])}
    assert finished_cases and finished_cases <= set(killed.asked)
    assert sorted(again.asked) == sorted(set(every) - finished_cases)  # only the unfinished work, all of it
    positions = [c for m in sorted(tmp_path.glob("*.done.json")) for c in read_chunk_sums(m)["counting"].conversations]
    assert positions == list(range(12))  # each conversation once, keyed by its position
