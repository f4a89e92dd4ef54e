"""Where the wall time of one `chatbot-evals run` goes, phase by phase (a helper of whole_process.py).

    .venv/bin/python bench/whole_process_phases.py                # N=1000, no judge and judge, 1 run each
    .venv/bin/python bench/whole_process_phases.py --n 1 --repeat 3

The run is the one bench/whole_process.py times (openai variant at a loopback endpoint, concurrency 32,
`replay.cache=null`, a temp MLflow store), started as a whole process whose first line stamps the clock;
the stages of `evals.cli.main` are wrapped in-process (no file under evals/ is touched) and stamped on
entry and exit, and the parent stamps the process end. Whatever the package's code looks like today, the
wrappers that still find their function report; a missing one is listed as `not found`.
Phases: start-up, imports, Hydra, set-up before the first request, replay, scoring after the last
reply, logging (results files, MLflow, report), terminal output, process exit.
Figures go to bench/results/whole_process_phases.json.
"""

from __future__ import annotations

import time

STARTED = time.time()  # in the child: everything before this line is interpreter start-up

import contextlib  # noqa: E402
import functools  # noqa: E402
import importlib  # noqa: E402
import inspect  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

# Stages to stamp: (module the caller looks the name up in, attribute path). Names imported with
# `from x import f` are patched where they are looked up.
STAGES = [
    ("evals.experiment", "run"),
    ("evals.settings", "check"),
    ("evals.experiment", "load_conversations"),
    ("evals.experiment", "build"),
    ("evals.experiment", "git_commit"),
    ("evals.tracking", "Tracker.__init__"),
    ("evals.tracking", "Tracker.experiment_run"),
    ("evals.api", "evaluate"),
    ("evals.api", "replay"),
    ("evals.api", "_score_batches"),
    ("evals.api", "summarise"),
    ("evals.api", "paired_differences"),
    ("evals.results", "EvalResult.save"),
    ("evals.results", "EvalResult.wide"),
    ("evals.tracking", "Tracker.log_files"),
    ("evals.tracking", "Tracker.log_variant"),
    ("evals.tracking", "Tracker.log_metrics"),
    ("evals.tracking", "Tracker.set_tags"),
    ("evals.report", "write"),
    ("evals.trust", "assess"),
    ("evals.report", "print_comparison"),
    ("evals.report", "print_differences"),
]
CONTEXT_MANAGERS = {"Tracker.experiment_run"}  # stamped on enter and on exit separately


# --- the child: stamps ---------------------------------------------------------------------------
Event = tuple[str, float, float, int]  # stage, start, end (epoch s), peak RSS of the process so far (KB)


def _peak_kb() -> int:
    """VmHWM: the process's peak resident set so far (Linux), so the stage that sets the peak shows."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _wrap(events: list[Event], label: str, fn: Any) -> Any:
    if label in CONTEXT_MANAGERS:
        @functools.wraps(fn)
        @contextlib.contextmanager
        def managed(*args: Any, **kwargs: Any) -> Any:
            start = time.time()
            with fn(*args, **kwargs) as value:
                events.append((f"{label} (enter)", start, time.time(), _peak_kb()))
                try:
                    yield value
                finally:
                    exit_start = time.time()
            events.append((f"{label} (exit)", exit_start, time.time(), _peak_kb()))
        return managed
    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def stamped_async(*args: Any, **kwargs: Any) -> Any:
            start = time.time()
            try:
                return await fn(*args, **kwargs)
            finally:
                events.append((label, start, time.time(), _peak_kb()))
        return stamped_async

    @functools.wraps(fn)
    def stamped(*args: Any, **kwargs: Any) -> Any:
        start = time.time()
        try:
            return fn(*args, **kwargs)
        finally:
            events.append((label, start, time.time(), _peak_kb()))
    return stamped


def _patch(events: list[Event]) -> list[str]:
    missing = []
    for module_name, path in STAGES:
        try:
            owner: Any = importlib.import_module(module_name)
        except ImportError:
            missing.append(f"{module_name}.{path}")
            continue
        *parents, name = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent, None)
        fn = getattr(owner, name, None) if owner is not None else None
        if fn is None:
            missing.append(f"{module_name}.{path}")
            continue
        setattr(owner, name, _wrap(events, path, fn))
    return missing


def _time_gc() -> dict[int, list[float]]:
    """Collections per generation and seconds spent in them (a full collection walks every object)."""
    import gc

    spent: dict[int, list[float]] = {0: [0, 0.0], 1: [0, 0.0], 2: [0, 0.0]}
    began = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            spent[info["generation"]][0] += 1
            spent[info["generation"]][1] += time.perf_counter() - began[0]

    gc.callbacks.append(on_gc)
    return spent


def child(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    marks = {"spawned": spec["spawned"], "first line": STARTED}
    gc_spent = _time_gc()
    import gc

    gc.disable()  # as `run` imports: it collects nothing until its imports are in (evals/cli.py)
    import evals.cli
    marks["imported evals.cli"] = time.time()
    import hydra  # noqa: F401
    marks["imported hydra"] = time.time()
    import evals.experiment  # noqa: F401  (mlflow, pandas, openai, ... as `run` would import them)
    marks["imported evals.experiment"] = time.time()
    gc.enable()
    events: list[Event] = []
    missing = _patch(events)
    code = 1
    try:
        code = evals.cli.main(["run", *spec["overrides"]])
    finally:
        marks["main returned"] = time.time()
        Path(spec["out"]).write_text(json.dumps({"marks": marks, "events": events, "missing": missing,
                                                 "exit_code": code, "gc": gc_spent,
                                                 "gc_tracked_objects_at_end": len(gc.get_objects())}))
    return code


# --- the parent: runs and the phase table ---------------------------------------------------------
def phases(stamps: dict[str, Any], ended: float) -> list[tuple[str, float]]:
    """Seconds per phase, in order; the stages inside a phase are listed under it (indented)."""
    m, events = stamps["marks"], stamps["events"]

    def spans(name: str) -> list[tuple[float, float]]:
        return [(s, e) for label, s, e, _ in events if label == name]

    def total(name: str, within: tuple[float, float] | None = None) -> float:
        return sum(e - s for s, e in spans(name) if within is None or (within[0] <= s and e <= within[1]))

    out: list[tuple[str, float]] = [
        ("python start-up (interpreter, site)", m["first line"] - m["spawned"]),
        ("import evals.cli", m["imported evals.cli"] - m["first line"]),
        ("import hydra", m["imported hydra"] - m["imported evals.cli"]),
        ("import evals.experiment (mlflow, pandas, openai, ...)", m["imported evals.experiment"] - m["imported hydra"]),
    ]
    run = spans("run")
    replays = spans("replay")
    if not run or not replays:
        out.append(("evals.cli.main (stages not found)", m["main returned"] - m["imported evals.experiment"]))
        out.append(("process exit (after main returned)", ended - m["main returned"]))
        return out
    run_start, run_end = run[0]
    first_request, last_reply = min(s for s, _ in replays), max(e for _, e in replays)
    evaluate = spans("evaluate")
    evaluate_end = evaluate[0][1] if evaluate else last_reply
    out.append(("hydra: parse overrides, compose config", run_start - m["imported evals.experiment"]))
    out.append(("set-up before the first request", first_request - run_start))
    setup = (run_start, first_request)
    for stage in ("check", "load_conversations", "build", "git_commit", "Tracker.__init__",
                  "Tracker.experiment_run (enter)"):
        out.append((f"  {stage}", total(stage, setup)))
    out.append(("replay (first request to last reply)", last_reply - first_request))
    out.append(("scoring, aggregation after the last reply", evaluate_end - last_reply))
    after = (last_reply, evaluate_end)
    for stage in ("_score_batches", "summarise", "paired_differences"):
        out.append((f"  {stage}", total(stage, after)))
    exits = spans("Tracker.experiment_run (exit)")
    logged_end = exits[0][1] if exits else run_end
    out.append(("logging: results files, MLflow, report", logged_end - evaluate_end))
    logging_span = (evaluate_end, logged_end)
    for stage in ("EvalResult.save", "EvalResult.wide", "Tracker.log_files", "Tracker.log_variant",
                  "Tracker.log_metrics", "write", "assess", "Tracker.set_tags", "Tracker.experiment_run (exit)"):
        out.append((f"  {stage}", total(stage, logging_span)))
    out.append(("terminal output, after the MLflow run", m["main returned"] - logged_end))
    out.append(("process exit (after main returned)", ended - m["main returned"]))
    return out


def measure(url: str, n: int, judged: bool, store: Path | None) -> dict[str, Any]:
    """One stamped run; `store`: a folder whose mlflow.db the run starts from (None: a new store)."""
    import shutil
    import subprocess
    import tempfile

    from whole_process import KEY_ENV, cli_command, write_dataset

    with tempfile.TemporaryDirectory(prefix="whole_process_phases_") as name:
        tmp = Path(name)
        dataset = tmp / "dataset.jsonl"
        write_dataset(dataset, n)
        overrides = cli_command(tmp, url, dataset, judged)[2:]
        if store is not None:
            shutil.copyfile(store / "mlflow.db", tmp / "mlflow.db")
        spec = tmp / "spec.json"
        stamps_path = tmp / "stamps.json"
        env = {**os.environ, KEY_ENV: "bench-key"}
        spawned = time.time()
        spec.write_text(json.dumps({"spawned": spawned, "overrides": overrides, "out": str(stamps_path)}))
        proc = subprocess.run([sys.executable, __file__, "--child", str(spec)], cwd=tmp, env=env,
                              capture_output=True, text=True)
        ended = time.time()
        if proc.returncode != 0 or not stamps_path.exists():
            raise SystemExit(f"run exited {proc.returncode}:\n{proc.stderr[-3000:]}")
        stamps = json.loads(stamps_path.read_text())
    peaks = []  # (stage, peak RSS MB after it) wherever the peak grew by more than 5 MB
    for label, _, _, kb in sorted(stamps["events"], key=lambda e: e[2]):
        if not peaks or kb / 1024 > peaks[-1][1] + 5:
            peaks.append((label, round(kb / 1024, 1)))
    return {"n": n, "judged": judged, "fresh_store": store is None, "wall_s": ended - spawned,
            "peak_rss_mb_growth_by_stage": peaks,
            "phases": phases(stamps, ended),
            "missing_stages": stamps["missing"], "load_avg_after": os.getloadavg(),
            "gc_until_main_returned": {f"gen{g}": {"collections": c, "seconds": round(t, 3)}
                                       for g, (c, t) in stamps["gc"].items()},
            "gc_tracked_objects_at_end": stamps["gc_tracked_objects_at_end"]}


def main() -> None:
    import argparse
    import statistics

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import tempfile

    from whole_process import ROOT, make_store, start_server

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per workload; medians per phase")
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--fresh-store", action="store_true",
                        help="log to a new MLflow store (a first run) instead of a copy of one holding a run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "whole_process_phases.json")
    args = parser.parse_args()
    server, url = start_server(args.latency)
    results = []
    store_folder = tempfile.TemporaryDirectory(prefix="whole_process_store_")  # artifacts of the copied store
    try:
        store = None if args.fresh_store else Path(store_folder.name)
        if store is not None:
            make_store(url, store)
        for judged in (False, True):
            try:
                runs = [measure(url, args.n, judged, store) for _ in range(args.repeat)]
            except SystemExit as failed:  # one broken workload (code mid-edit) still leaves the other's figures
                print(f"n={args.n}{' +judge' if judged else ''}: {failed}", file=sys.stderr)
                results.append({"n": args.n, "judged": judged, "failed": str(failed)[-2000:]})
                continue
            names = [name for name, _ in runs[0]["phases"]]
            median = [(name, statistics.median(dict(r["phases"]).get(name, 0.0) for r in runs)) for name in names]
            results.append({"n": args.n, "judged": judged, "phases_median_s": median, "runs": runs,
                            "wall_s_median": statistics.median(r["wall_s"] for r in runs)})
    finally:
        server.terminate()
        server.wait(timeout=10)
        store_folder.cleanup()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                    "machine": {"cpus": os.cpu_count()}, "server_latency_s": args.latency,
                                    "fresh_store": args.fresh_store,
                                    "results": results}, indent=2) + "\n")
    for r in results:
        if "failed" in r:
            continue
        print(f"\nn={r['n']}{' +judge' if r['judged'] else ''}, {'new' if args.fresh_store else 'existing'} store: "
              f"{r['wall_s_median']:.2f} s whole process "
              f"(median of {args.repeat}); missing stages: {r['runs'][0]['missing_stages'] or 'none'}")
        for name, seconds in r["phases_median_s"]:
            print(f"  {name:<58} {seconds:>7.2f} s")
        print(f"  peak RSS after each stage that raised it: {r['runs'][0]['peak_rss_mb_growth_by_stage']}")
        print(f"  gc pauses until main returned: {r['runs'][0]['gc_until_main_returned']}; "
              f"{r['runs'][0]['gc_tracked_objects_at_end']} objects tracked at the end")
    print(f"-> {args.out}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        sys.exit(child(sys.argv[2]))
    main()
