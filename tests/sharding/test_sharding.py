"""A sharded run equals an unsharded one: the same summary, differences, replies, scores and dataset digest,
whether its shards run here, in joblib processes or as tasks on a real local Ray cluster."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from shard_helpers import chats, components, plain, write

import evals
from evals.calls.limits import Limits
from evals.errors import UserError
from evals.memory import Memory
from evals.results import EvalResult
from evals.sharding import Sharding, evaluate_sharded
from evals.sharding.engines import share_limits
from evals.variants.http_bot import HttpBot

SETTINGS = evals.Settings(bootstrap=200, seed=3)


def assert_same_as_unsharded(convs: list, folder: Path, sharding: Sharding, **names: tuple[str, ...]) -> None:
    variants, scorers = components(**names)
    whole = evals.evaluate(convs, variants, scorers, SETTINGS, memory=Memory.of(convs))
    variants, scorers = components(**names)
    progress: list[tuple[str, int, int | None]] = []
    merged = evaluate_sharded(convs, variants, scorers, folder, SETTINGS, sharding, memory=Memory.of(convs),
                              on_progress=lambda *a: progress.append(a))
    pd.testing.assert_frame_equal(merged.summary, whole.summary)
    pd.testing.assert_frame_equal(merged.differences, whole.differences)
    read = EvalResult.load(folder)
    assert read.manifest["dataset"] == whole.manifest["dataset"]  # digest and counts included
    assert read.manifest["sharding"]["shards"] == sharding.shards
    pd.testing.assert_frame_equal(plain(read.replies[whole.replies.columns].drop(columns="latency_s")),
                                  plain(whole.replies.drop(columns="latency_s")))
    pd.testing.assert_frame_equal(plain(read.scores), plain(whole.scores))
    pd.testing.assert_frame_equal(read.summary, whole.summary)
    assert not (folder / "parts").exists()  # the chunk files are gone once merged
    assert progress[-1] == ("replies", len(read.replies), len(read.replies))


def test_local_shards_with_a_calibrated_scorer_equal_one_run(tmp_path: Path) -> None:
    # accuracy's semantic floor is measured on the run's own data: once, for every shard
    assert_same_as_unsharded(chats(24), tmp_path, Sharding(shards=3, chunk=7),
                             variants=("human", "rules"), scorers=("escalation", "accuracy"))


def test_joblib_shards_equal_one_run(tmp_path: Path) -> None:
    assert_same_as_unsharded(chats(30), tmp_path, Sharding(shards=2, engine="joblib", chunk=10))


def test_ray_shards_on_a_real_local_cluster_equal_one_run(tmp_path: Path, ray_head: str) -> None:
    assert_same_as_unsharded(chats(30), tmp_path / "out", Sharding(shards=2, engine="ray", chunk=10,
                                                                   ray_address=ray_head))


def test_a_file_is_read_shard_by_shard(tmp_path: Path) -> None:
    convs = chats(20)
    variants, scorers = components()
    whole = evals.evaluate(convs, variants, scorers, SETTINGS)
    variants, scorers = components()
    # without a memory, each chunk's own conversations are the bots' memory: enough for the human variant
    merged = evaluate_sharded(write(tmp_path / "chats.jsonl", convs), variants, scorers, tmp_path / "out",
                              SETTINGS, Sharding(shards=2, chunk=6))
    pd.testing.assert_frame_equal(merged.summary, whole.summary)
    assert merged.manifest["dataset"]["digest"] == whole.manifest["dataset"]["digest"]


def test_each_shard_gets_its_share_of_an_endpoint_limit() -> None:
    bot = HttpBot(name="bot", url="http://127.0.0.1:9/bot", limits={"concurrency": 9, "rpm": 600, "tpm": 90000})
    shared = share_limits(bot, 4)
    assert shared.limits == Limits(concurrency=2, rpm=150, tpm=22500) and shared.concurrency == 2
    assert bot.limits.concurrency == 9  # the original is untouched
    assert Limits(concurrency=3).share(8).concurrency == 1  # never below one call at a time


def test_what_a_sharded_run_cannot_do_is_said(tmp_path: Path) -> None:
    variants, scorers = components()
    with pytest.raises(UserError, match="replay.repeats: a sharded run"):
        evaluate_sharded(chats(4), variants, scorers, tmp_path, evals.Settings(repeats=2), Sharding(shards=2))
    with pytest.raises(UserError, match="shards.engine: 'spark' is not one of local, joblib, ray"):
        Sharding(shards=2, engine="spark")
