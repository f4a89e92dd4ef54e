"""A streamed run at 10k, 100k and 1M single-turn decision points: wall time against the physical limit, and
peak memory that should not grow with the data.

    .venv/bin/python bench/scale.py --series endpoint --sizes 10000 100000 --latency 0.2 --concurrency 32 --no-ray
    .venv/bin/python bench/scale.py --series client --sizes 10000 100000 1000000 --latency 0.005 --concurrency 32 \
        --ray-size 100000
    .venv/bin/python bench/scale.py --series check --sizes 10000 --no-ray   # a quick check of the set-up

Two series, because on 2 cores one client process tops out at a few hundred HTTP replies a second:
`endpoint`, where the endpoint is the bottleneck (wall time against the physical limit), and `client`, a
fast endpoint where the client's CPU is (throughput, memory at a million decision points, and what two
Ray workers add over one process).

A loopback server (its own process) answers the team-bot contract (`POST /bot`) after a fixed latency.
Each measurement is a fresh child process running `evals.sharding.evaluate_sharded` on a JSONL file: the
HTTP bot at a fixed concurrency, the offline escalation scorer, 1,000 bootstrap resamples, chunks of
2,000 decision points written to disk as they finish. Reported per size:
- wall_s against physical_limit_s = N x latency / concurrency (the endpoint cannot answer faster);
- peak_rss_mb of the child (ru_maxrss), and peak RSS at each size over peak RSS at the smallest.
The Ray comparison runs the same 100k file as 2 shards on a local 2-worker Ray cluster that the child
starts (each shard gets half the concurrency, so the endpoint's limit is the same); its peak RSS is the
driver's (the workers are Ray's processes). Figures go to bench/results/scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from loopback_process import start_server

ROOT = Path(__file__).resolve().parents[1]


def write_dataset(path: Path, n: int) -> None:
    """n single-turn conversations; every seventh customer asks for a person (and should get one)."""
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            person = i % 7 == 0
            ask = "I want to talk to a human agent about my card" if person else f"Where is my order {i}?"
            out.write(json.dumps({
                "conversation_id": f"c{i}", "language": "en",
                "turns": [{"role": "customer", "text": ask}, {"role": "agent", "text": "Let me check that."}],
                "references": [{"turn": 0, "reply": "Let me check that.", "should_escalate": person,
                                "escalation_source": "written_policy"}]}) + "\n")


def child(args: argparse.Namespace) -> None:
    from evals.api import Settings
    from evals.scorers.escalation import EscalationScorer
    from evals.sharding import Sharding, evaluate_sharded
    from evals.variants.http_bot import HttpBot

    bot = HttpBot(name="bot", url=args.url + "/bot", limits={"concurrency": args.concurrency})
    sharding = Sharding(shards=args.shards, engine=args.engine, chunk=2000)
    started = time.perf_counter()
    merged = evaluate_sharded(args.data, [bot], [EscalationScorer()], args.out, Settings(bootstrap=1000), sharding)
    wall = time.perf_counter() - started
    errors = int(merged.summary["unscored"].max())
    peaks = merged.manifest["sharding"]["peak_rss_mb"]
    print(json.dumps({"wall_s": wall, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "shards_peak_rss_mb": peaks["shards"],
                      "unscored": errors, "problems": merged.manifest["problems"],
                      "phases_s": merged.manifest["sharding"]["seconds"],
                      "recall": float(merged.summary.set_index("metric").loc["escalation.recall", "value"])}))


def measure(data: Path, url: str, concurrency: int, shards: int, engine: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run([sys.executable, __file__, "--child", "--data", str(data), "--url", url,
                               "--concurrency", str(concurrency), "--shards", str(shards), "--engine", engine,
                               "--out", out], capture_output=True, text=True, cwd=ROOT,
                              env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    if done.returncode != 0:
        raise SystemExit(f"child failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--latency", type=float, default=0.05, help="server latency per request, seconds")
    parser.add_argument("--concurrency", type=int, default=24, help="requests in flight (split across shards)")
    parser.add_argument("--ray-size", type=int, default=100_000, help="decision points of the Ray comparison")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray comparison")
    parser.add_argument("--series", default="check", help="name the figures are kept under in the results file")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results" / "scale.json")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    for hidden in ("--data", "--url", "--out", "--engine"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--shards", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    server, url = start_server(args.latency)
    runs = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in sorted(set(args.sizes) | (set() if args.no_ray else {args.ray_size})):
                data = Path(tmp) / f"chats_{n}.jsonl"
                write_dataset(data, n)
                limit = n * args.latency / args.concurrency
                modes = [("single", 1, "local")] if n in args.sizes else []
                modes += [] if args.no_ray or n != args.ray_size else [("ray_2_workers", 2, "ray")]
                for mode, shards, engine in modes:
                    found = measure(data, url, args.concurrency, shards, engine)
                    runs.append({"mode": mode, "decision_points": n, "physical_limit_s": limit,
                                 "wall_vs_limit": found["wall_s"] / limit, **found})
                    print(json.dumps(runs[-1]), flush=True)
                data.unlink()
    finally:
        server.terminate()
        server.wait(timeout=30)
    single = sorted((r for r in runs if r["mode"] == "single"), key=lambda r: r["decision_points"])
    ray = [r for r in runs if r["mode"] == "ray_2_workers"]
    same = [r for r in single if ray and r["decision_points"] == ray[0]["decision_points"]]
    summary = {
        "what": "evals.sharding.evaluate_sharded: HTTP bot on a loopback server, escalation scorer, 1,000 resamples",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "server_latency_s": args.latency, "concurrency": args.concurrency, "chunk": 2000,
        "rss_ratio_largest_vs_smallest": single[-1]["peak_rss_mb"] / single[0]["peak_rss_mb"] if single else None,
        "ray_vs_single_wall": ray[0]["wall_s"] / same[0]["wall_s"] if ray and same else None,
        "runs": runs,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    kept = json.loads(args.results.read_text(encoding="utf-8")) if args.results.is_file() else {}
    kept.setdefault("series", {})[args.series] = summary  # other series stay as they were measured
    args.results.write_text(json.dumps(kept, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
