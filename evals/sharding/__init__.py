"""A run too big for one process or for memory: cut at conversation boundaries into shards, each shard
streamed to disk in chunks, the parts merged into one results folder.

    from evals.sharding import Sharding, evaluate_sharded
    merged = evaluate_sharded("big.jsonl", [bot], [EscalationScorer()], "out/results",
                              sharding=Sharding(shards=4, engine="ray"))

The metrics and intervals equal those of `evals.evaluate` on the same data (the bootstrap resamples
whole conversations, and the chunks keep per-conversation sums in data order). See docs/scale.md.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from evals import api
from evals.aggregate import definitions, metric_specs
from evals.errors import UserError
from evals.load import DecisionPoints, OnError, build_cases
from evals.memory import Memory
from evals.sharding.engines import ENGINES, run_all, share_limits
from evals.sharding.merge import Merged, markers, merge, write_manifest
from evals.sharding.part import Job, run_shard
from evals.sharding.plan import Shard, conversations_of, plan
from evals.types import Conversation, Scorer, Variant, View

__all__ = ["Merged", "Sharding", "evaluate_sharded"]


@dataclass(frozen=True)
class Sharding:
    shards: int = 1  # parts run at once; each gets a share of every endpoint limit
    engine: str = "local"  # local (one after another, here) | joblib (processes) | ray (a Ray cluster)
    chunk: int = 2000  # decision points written to disk at a time, per shard: what memory holds
    ray_address: str | None = None  # a running cluster ("auto", "ray://host:10001"); null = a Ray of our own
    keep_parts: bool = False  # keep the shards' chunk files after the merge (they repeat the results)

    def __post_init__(self) -> None:
        if isinstance(self.shards, bool) or not isinstance(self.shards, int) or self.shards < 1:
            raise UserError(f"shards.count: {self.shards!r} is not a whole number >= 1")
        if self.engine not in ENGINES:
            raise UserError(f"shards.engine: {self.engine!r} is not one of {', '.join(ENGINES)}")
        if isinstance(self.chunk, bool) or not isinstance(self.chunk, int) or self.chunk < 1:
            raise UserError(f"shards.chunk: {self.chunk!r} is not a whole number >= 1")


def evaluate_sharded(data: str | Path | Sequence[Conversation], variants: Sequence[Variant],
                     scorers: Sequence[Scorer], out: str | Path, settings: api.Settings | None = None,
                     sharding: Sharding = Sharding(), *, decision_points: DecisionPoints = "every",
                     view: View = "agent", on_error: OnError = "fail", memory: Memory | None = None,
                     cache_path: str | None = None, dataset_name: str | None = None,
                     on_progress: api.OnProgress | None = None) -> Merged:
    """`evals.evaluate` for data of any size: replies and scores go to disk as they come, chunk by chunk,
    shard by shard; `out` becomes a results folder (`EvalResult.load(out)` reads it whole).

    memory: what bots that learn from past conversations (retrieval) may know; default: each chunk's own
        conversations. Give the whole dataset's (`Memory.of(conversations)`) to match `evals.evaluate`.
    A re-run into the same `out` skips the chunks already done (the parts stay until the merge)."""
    settings = settings or api.Settings()
    if settings.repeats != 1:
        raise UserError("replay.repeats: a sharded run replays each decision point once (repeats=1); "
                        "run repeats without shards")
    names = [v.name for v in variants]
    if not variants or len(set(names)) != len(names):
        raise UserError(f"variants: give at least one, with names that differ (got {', '.join(names) or 'none'})")
    baseline = settings.baseline or names[0]
    if baseline not in names:
        raise UserError(f"baseline '{baseline}' is not one of the variants ({', '.join(names)})")
    started = time.time()
    found = plan(data, sharding.shards, decision_points, view, on_error)
    if not found.decision_points:
        raise UserError(f"{found.source}: no decision point to evaluate (no customer turn with a human reference)")
    for scorer in scorers:  # run-wide statistics, measured once for every shard
        if hasattr(scorer, "calibrate"):
            scorer.calibrate(build_cases(found.sample, decision_points, view))
    job = Job([share_limits(v, len(found.shards)) for v in variants],
              [share_limits(s, len(found.shards)) for s in scorers], settings, decision_points, view,
              sharding.chunk, memory, str(Path(cache_path).resolve()) if cache_path else None)
    root = Path(out).resolve()  # workers (Ray's) start in folders of their own
    parts = [root / "parts" / f"shard-{s.index:03d}" for s in found.shards]
    calls = [(_shard, (job, _part_of(data, shard), shard, str(folder))) for shard, folder in zip(found.shards, parts)]
    planned = time.time()
    with _progress(parts, found.decision_points * len(variants), on_progress):
        shards_peak_mb = run_all(sharding.engine, calls, len(calls), sharding.ray_address)
    replayed = time.time()
    stats = dict(n_boot=settings.bootstrap, confidence=settings.confidence, seed=settings.seed,
                 min_n=settings.min_n, max_undefined=settings.max_undefined)
    merged = merge(parts, root, metric_specs(scorers), baseline, stats, settings.max_error_rate)
    manifest = {
        "harness": api._harness_version(),
        "created": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(time.time() - started, 3),
        "dataset": {"name": dataset_name or found.source, "source": found.source, "digest": found.digest,
                    "conversations": found.conversations, "decision_points": found.decision_points},
        "repeats": 1,
        "pass_threshold": settings.pass_threshold,
        "variants": names,
        "baseline": baseline,
        "scorers": {s.name: getattr(s, "version", None) or merged.versions.get(s.name) for s in scorers},
        "metrics": definitions(scorers),
        "aggregate": stats,
        "error_budget": {"max_error_rate": settings.max_error_rate},
        "redacted_text": settings.redact_text,
        "sharding": {"shards": len(found.shards), "engine": sharding.engine, "chunk": sharding.chunk,
                     "peak_rss_mb": {"driver": _peak_rss_mb(), "shards": shards_peak_mb},
                     "seconds": {"plan": round(planned - started, 3), "shards": round(replayed - planned, 3),
                                 "merge": round(time.time() - replayed, 3)}},
        **({"rows_skipped": [str(s) for s in found.skipped]} if found.skipped else {}),
        **settings.extra,
    }
    result = write_manifest(merged, manifest)
    if not sharding.keep_parts:
        shutil.rmtree(root / "parts", ignore_errors=True)
    return result


def _part_of(data: str | Path | Sequence[Conversation], shard: Shard) -> Path | list[Conversation]:
    """What a shard is sent: a file's absolute path (it reads its own records; workers start in folders of
    their own), or its own conversations, never the whole list."""
    if isinstance(data, (str, Path)):
        return Path(data).resolve()
    return [c for i, c in enumerate(data[shard.first_record:shard.stop_record], shard.first_record)
            if i not in shard.excluded]


def _shard(job: Job, data: Path | list[Conversation], shard: Shard, folder: str) -> float:
    """One shard, where it runs (this process, a joblib worker, a Ray task); the peak memory of that process."""
    conversations = conversations_of(data, shard) if isinstance(data, Path) else data
    run_shard(job, conversations, shard.first, folder)
    return _peak_rss_mb()


def _peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux and macOS report it in different units)."""
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


@contextmanager
def _progress(parts: Sequence[Path], total: int, on_progress: api.OnProgress | None) -> Iterator[None]:
    """Report replies written so far, from the chunk markers, every half second while the shards run
    (in a thread of its own: Ray wants the main thread)."""
    if on_progress is None:
        yield
        return
    counted: dict[Path, int] = {}
    stop = threading.Event()
    on_progress("replies", 0, total)

    def report() -> None:
        for marker in markers(parts):
            if marker not in counted:
                counted[marker] = json.loads(marker.read_text(encoding="utf-8"))["replies"]
        on_progress("replies", sum(counted.values()), total)

    def watch() -> None:
        while not stop.wait(0.5):
            report()
        report()  # the last chunks, written since

    thread = threading.Thread(target=watch, name="evals-shard-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
