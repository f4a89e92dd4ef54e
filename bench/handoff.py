"""The hand-off detector on the labelled phrase suite (tests/data/handoff_phrases.jsonl).

    .venv/bin/python bench/handoff.py            # writes bench/results/handoff.json, prints a table
    .venv/bin/python bench/handoff.py --errors   # also lists the dev-split misreadings (for tuning)

Per class (handoff, offer, redirect, refusal, none): precision, recall, F1 and n, per split (dev: the
patterns were tuned on it; test: written down before tuning and not tuned on) and per language, with
bootstrap 95% intervals (2,000 resamples of items, seeded). The suite's labels were made by reading
each item (`labelled_by: "reading"`), not by a human review of the datasets.
The old detector (the phrase matcher before offers, redirects and refusals existed, as committed at
OLD_COMMIT) is scored too, reading its match as "handoff" and everything else as "none", when git can
show it. Speed: median microseconds per reply of `classify`, over every suite item, 5 rounds.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from evals.handoff import PRECEDENCE, HandoffDetector  # noqa: E402

SUITE = ROOT / "tests" / "data" / "handoff_phrases.jsonl"
OUT = ROOT / "bench" / "results" / "handoff.json"
OLD_COMMIT = "58f0822"
SEED = 20240
RESAMPLES = 2000


def load_suite(path: Path = SUITE) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def prf(gold: Sequence[str], pred: Sequence[str], kind: str) -> tuple[float, float, float]:
    tp = sum(g == kind and p == kind for g, p in zip(gold, pred))
    n_pred = sum(p == kind for p in pred)
    n_gold = sum(g == kind for g in gold)
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def scores(gold: Sequence[str], pred: Sequence[str], seed: int = SEED) -> dict[str, Any]:
    """Per class P/R/F1 with bootstrap 95% intervals, plus accuracy."""
    rng = random.Random(seed)
    idx = range(len(gold))
    samples = [[rng.choice(idx) for _ in idx] for _ in range(RESAMPLES)] if gold else []
    out: dict[str, Any] = {"n": len(gold), "accuracy": round(sum(g == p for g, p in zip(gold, pred)) / len(gold), 3)}
    for kind in PRECEDENCE:
        p, r, f = prf(gold, pred, kind)
        boot = [prf([gold[i] for i in s], [pred[i] for i in s], kind) for s in samples]

        def ci(k: int, boot: list[tuple[float, float, float]] = boot) -> list[float]:
            vals = sorted(b[k] for b in boot)
            return [round(vals[int(0.025 * len(vals))], 3), round(vals[int(0.975 * len(vals)) - 1], 3)]

        out[kind] = {
            "n": sum(g == kind for g in gold), "predicted": sum(q == kind for q in pred),
            "precision": round(p, 3), "recall": round(r, 3), "f1": round(f, 3),
            "precision_ci95": ci(0), "recall_ci95": ci(1), "f1_ci95": ci(2),
        }
    return out


def report(items: list[dict[str, Any]], predict: Callable[[dict[str, Any]], str]) -> dict[str, Any]:
    pred = [predict(it) for it in items]
    out: dict[str, Any] = {}
    for split in ("dev", "test", "all"):
        chosen = [i for i, it in enumerate(items) if split == "all" or it["split"] == split]
        entry = scores([items[i]["kind"] for i in chosen], [pred[i] for i in chosen])
        by_lang = {}
        for lang in sorted({items[i]["language"] for i in chosen}):
            sub = [i for i in chosen if items[i]["language"] == lang]
            by_lang[lang] = scores([items[i]["kind"] for i in sub], [pred[i] for i in sub])
        entry["by_language"] = by_lang
        out[split] = entry
    return out


def old_detector() -> Callable[[str], bool] | None:
    """The committed pre-classes detector, loaded from git without touching the working tree."""
    try:
        source = subprocess.run(["git", "show", f"{OLD_COMMIT}:evals/handoff.py"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("old_handoff")
    sys.modules["old_handoff"] = module  # dataclasses look their module up while the class is built
    exec(compile(source, f"{OLD_COMMIT}:evals/handoff.py", "exec"), module.__dict__)
    return module.HandoffDetector()


def speed_us(detector: HandoffDetector, items: list[dict[str, Any]], rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        for it in items:
            start = time.perf_counter()
            detector.classify(it["text"], it["language"])
            times.append((time.perf_counter() - start) * 1e6)
    return round(statistics.median(times), 1)


def markdown(result: dict[str, Any]) -> str:
    rows = ["| detector | split | class | n | precision [95% CI] | recall [95% CI] | F1 [95% CI] |",
            "|---|---|---|---:|---|---|---|"]
    for name in ("new", "old"):
        if name not in result:
            continue
        for split in ("dev", "test"):
            block = result[name][split]
            kinds = PRECEDENCE if name == "new" else ("handoff",)
            for kind in kinds:
                s = block[kind]
                rows.append(
                    f"| {name} | {split} | {kind} | {s['n']} | {s['precision']:.2f} [{s['precision_ci95'][0]:.2f}, "
                    f"{s['precision_ci95'][1]:.2f}] | {s['recall']:.2f} [{s['recall_ci95'][0]:.2f}, "
                    f"{s['recall_ci95'][1]:.2f}] | {s['f1']:.2f} [{s['f1_ci95'][0]:.2f}, {s['f1_ci95'][1]:.2f}] |"
                )
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--errors", action="store_true", help="list dev-split misreadings")
    args = parser.parse_args(argv)
    items = load_suite()
    detector = HandoffDetector()
    result: dict[str, Any] = {
        "suite": SUITE.relative_to(ROOT).as_posix(),
        "labels": "labelled by reading each item (labelled_by: reading); not human review of the datasets",
        "new": report(items, lambda it: detector.classify(it["text"], it["language"]).kind),
    }
    old = old_detector()
    if old is not None:
        result["old"] = report(items, lambda it: "handoff" if old(it["text"]) else "none")
        result["old_note"] = f"detector at {OLD_COMMIT}: match read as handoff, no match as none"
    result["speed_median_us_per_reply"] = speed_us(detector, items)
    result["table"] = markdown(result)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(result["table"])
    print(f"\nmedian {result['speed_median_us_per_reply']} µs per reply; written to {OUT.relative_to(ROOT)}")
    if args.errors:
        for it in items:
            if it["split"] != "dev":
                continue
            reading = detector.classify(it["text"], it["language"])
            if reading.kind != it["kind"]:
                print(f"{it['kind']:>8} <- {reading.kind:<8} [{it['language']}] {it['text'][:150]!r}"
                      f" :: {reading.phrase!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
