"""How fast `chatbot-evals` answers when it has nothing heavy to do: help, and a config mistake.

    .venv/bin/python bench/startup.py --label after
    OTHER_VENV/bin/python bench/startup.py --label before --note "commit abc1234"   # another install

Each command is a whole process (the installed `chatbot-evals` script next to this Python), run
--repeat times in a fresh temporary folder; the median wall time (and CPU time, which the load others
put on the machine changes less) is recorded under --label in
bench/results/startup.json (other labels already there, e.g. "before", are kept for comparison).
The target is under 1 s each: heavy libraries (mlflow, pandas, matplotlib, ...) are imported
only by the stage that needs them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).with_name("chatbot-evals")
SMALL_FILE = ROOT / "datasets" / "bitext" / "test.jsonl"

# name -> (arguments, expected exit code)
COMMANDS: dict[str, tuple[list[str], int]] = {
    "--help": (["--help"], 0),
    "run --help": (["run", "--help"], 0),
    "run replay.view=foo (config error)": (["run", "replay.view=foo"], 2),
    "agree --help": (["agree", "--help"], 0),
    "validate --help": (["validate", "--help"], 0),
    f"validate {SMALL_FILE.relative_to(ROOT)}": (["validate", str(SMALL_FILE)], 0),
}


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_once(args: list[str], expected: int) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one whole process; CPU time varies less with the machine's load."""
    with tempfile.TemporaryDirectory() as tmp:  # a config error must not create an MLflow store
        cpu_before, start = _children_cpu_s(), time.perf_counter()
        out = subprocess.run([str(SCRIPT), *args], cwd=tmp, capture_output=True, text=True)
        wall, cpu = time.perf_counter() - start, _children_cpu_s() - cpu_before
        if out.returncode != expected:
            raise SystemExit(f"chatbot-evals {' '.join(args)}: exit {out.returncode}, expected {expected}\n"
                             f"{out.stderr[-2000:]}")
        if expected != 0 and list(Path(tmp).rglob("*.db")):
            raise SystemExit(f"chatbot-evals {' '.join(args)} made an MLflow store in {tmp}")
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--label", default="after", help="key under which the figures are stored")
    parser.add_argument("--note", default="", help="what was measured, e.g. which commit")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "startup.json")
    args = parser.parse_args()
    figures = {}
    for name, (cli_args, expected) in COMMANDS.items():
        time_once(cli_args, expected)  # warm the page cache; not counted
        walls, cpus = zip(*(time_once(cli_args, expected) for _ in range(args.repeat)))
        figures[name] = {"median_s": round(statistics.median(walls), 3), "runs_s": [round(w, 3) for w in walls],
                         "cpu_median_s": round(statistics.median(cpus), 3)}
        print(f"{name:40s} median {statistics.median(walls):.2f} s wall, {statistics.median(cpus):.2f} s CPU  "
              f"({', '.join(f'{w:.2f}' for w in walls)})", flush=True)
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    results[args.label] = {
        "note": args.note,
        "script": str(SCRIPT),
        "commands": figures,
        "runs_each": args.repeat,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_avg_1min": round(os.getloadavg()[0], 2)},
        "when": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out} [{args.label}]")


if __name__ == "__main__":
    main()
