"""How far the offline scorers agree with people, beside trivial baselines on the same items.

    .venv/bin/python bench/validity.py [--esconv ../shared/data/esconv]

Writes bench/results/validity.json and prints the README's table.

Empathy, on ESConv's test file (2,812 distinct supporter turns the model never saw; human labels: the
support strategy each supporter chose for their own turn, turned into EPITOME levels by
evals.scorers.empathy_model.MECHANISM_LEVELS). Spearman and quadratic-weighted kappa per mechanism
and for the summed levels, with 95% bootstrap CIs (1,000 resamples of items, seeded), for:
- `empathy`: the learned scorer;
- `empathy_lexicon`: the earlier hand-written cue lexicon, kept as a named baseline;
- `length`: the reply's length in characters;
- `regex10`: a count of ten common empathy patterns (below).
Kappa needs integer levels: scores are rounded to the nearest level (per mechanism 0-2; the total to
0-6; length and regex10 are cut at their quantiles matching the human level distribution).

Hand-off, on the labelled phrase suite's test split (tests/data/handoff_phrases.jsonl, labelled by
reading; see bench/handoff.py): precision, recall and F1 per class for the detector and for a
10-keyword baseline that calls any reply with a hand-off word a hand-off.

Cross-language consistency (not agreement with people): the WMT24 chats carry each English agent
reply with its translation into the customer's language; Spearman between the empathy scores of the
two sides, per language, shows whether a language is scored like English.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import cohen_kappa_score

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "training"), str(ROOT / "bench")]

from esconv import distinct, read_turns  # noqa: E402
from handoff import load_suite  # noqa: E402
from handoff import scores as handoff_scores  # noqa: E402

from evals.embedding import TextEmbedder  # noqa: E402
from evals.handoff import HandoffDetector  # noqa: E402
from evals.scorers.empathy_lexicon import mechanism_levels  # noqa: E402
from evals.scorers.empathy_model import MECHANISM_LEVELS, MECHANISMS, load_heads, split_sentences  # noqa: E402

OUT = ROOT / "bench" / "results" / "validity.json"
RESAMPLES = 1000
SEED = 7
# The trivial pattern baseline: ten cues anyone would write first.
REGEX10 = [r"\bsorry\b", r"\bunderstand", r"\?", r"\bfeel", r"\b(?:I|I've|I have) (?:been|gone|went) through\b",
           r"\bsame\b", r"\bmust be\b", r"\bsounds? ", r"\bhope\b", r"\b(?:hard|difficult|tough)\b"]
HANDOFF_KEYWORDS = re.compile(r"\b(?:transfer\w*|escalat\w*|agent|human|colleague|specialist|supervisor|forward\w*"
                              r"|team|connect\w*)\b", re.IGNORECASE)


def regex10(text: str) -> int:
    return sum(bool(re.search(p, text, re.IGNORECASE)) for p in REGEX10)


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    return float(spearmanr(a, b).statistic) if np.std(a) > 0 and np.std(b) > 0 else float("nan")


def _qwk(a: np.ndarray, b: np.ndarray) -> float:
    return float(cohen_kappa_score(a.astype(int), b.astype(int), weights="quadratic"))


def _to_levels(score: np.ndarray, human: np.ndarray) -> np.ndarray:
    """Cut a score with no level scale into the human levels' proportions (for kappa)."""
    levels = np.sort(np.unique(human))
    cuts = np.quantile(score, np.cumsum([np.mean(human == v) for v in levels])[:-1])
    return levels[np.searchsorted(cuts, score, side="right")]


def with_ci(stat, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    rng = np.random.default_rng(SEED)
    boots = [stat(x[i], y[i]) for i in (rng.integers(0, len(x), len(x)) for _ in range(RESAMPLES))]
    low, high = np.nanquantile(boots, [0.025, 0.975])
    return {"value": round(stat(x, y), 4), "ci_low": round(float(low), 4), "ci_high": round(float(high), 4)}


def empathy_section(esconv: Path, embedder: TextEmbedder) -> dict[str, Any]:
    turns = distinct(read_turns(esconv / "testWithStrategy_short.tsv"))
    texts = [t.text for t in turns]
    human = np.array([MECHANISM_LEVELS[t.strategy] for t in turns], dtype=float)
    heads = load_heads()
    sentences = [split_sentences(t) for t in texts]
    embedder.embed([s for ss in sentences for s in ss])
    learned = np.array([list(heads.reply_levels(ss, embedder.embed(ss)).levels.values()) for ss in sentences])
    lexicon = np.array([list(mechanism_levels(t, "en").values()) for t in texts], dtype=float)
    length = np.array([len(t) for t in texts], dtype=float)
    rx = np.array([regex10(t) for t in texts], dtype=float)
    rows: dict[str, Any] = {}
    for target_name, k in [("total", None), *[(m, i) for i, m in enumerate(MECHANISMS)]]:
        truth = human.sum(1) if k is None else human[:, k]
        candidates = {
            "empathy": learned.sum(1) if k is None else learned[:, k],
            "empathy_lexicon": lexicon.sum(1) if k is None else lexicon[:, k],
            "length": length,
            "regex10": rx,
        }
        rows[target_name] = {}
        for name, score in candidates.items():
            levels = np.rint(score) if name.startswith("empathy") else _to_levels(score, truth)
            rows[target_name][name] = {"spearman": with_ci(_spearman, score, truth),
                                       "qwk": with_ci(_qwk, levels, truth)}
    return {"data": "ESConv test file, distinct supporter turns (thu-coai/Emotional-Support-Conversation @ f262d062)",
            "labels": "support strategy chosen by each supporter for their own turn (human, by the writer); "
                      "EPITOME levels derived from it by MECHANISM_LEVELS",
            "n": len(turns), "agreement": rows}


def handoff_section() -> dict[str, Any]:
    items = [i for i in load_suite() if i["split"] == "test"]
    gold = [i["kind"] for i in items]
    detector = HandoffDetector()
    started = time.perf_counter()
    predicted = [detector.classify(i["text"], i["language"]).kind for i in items]
    per_reply_us = (time.perf_counter() - started) / len(items) * 1e6
    keyword = ["handoff" if HANDOFF_KEYWORDS.search(i["text"]) else "none" for i in items]
    return {"data": "tests/data/handoff_phrases.jsonl, test split (labelled by reading, not tuned on)",
            "n": len(items), "detector": handoff_scores(gold, predicted), "keyword10": handoff_scores(gold, keyword),
            "detector_us_per_reply": round(per_reply_us, 1)}


def consistency_section(embedder: TextEmbedder) -> dict[str, Any]:
    heads = load_heads()
    pairs: dict[str, list[tuple[str, str]]] = {}
    for line in (ROOT / "datasets" / "wmt24_chat" / "test.jsonl").read_text(encoding="utf-8").splitlines():
        conversation = json.loads(line)
        for turn in conversation["turns"]:
            if turn["role"] == "agent" and turn.get("translation"):
                pairs.setdefault(conversation["language"], []).append((turn["text"], turn["translation"]))
    out = {}
    for language, found in sorted(pairs.items()):
        found = found[:300]
        scores = []
        for side in (0, 1):
            split = [split_sentences(p[side]) for p in found]
            embedder.embed([s for ss in split for s in ss])
            scores.append(np.array([heads.reply_levels(ss, embedder.embed(ss)).total for ss in split]))
        out[language] = {"n": len(found), **with_ci(_spearman, scores[0], scores[1]),
                         "mean_abs_diff": round(float(np.mean(np.abs(scores[0] - scores[1]))), 4)}
    return {"data": "datasets/wmt24_chat/test.jsonl agent replies (English) and their translations; first 300 per "
                    "language", "what": "Spearman of the empathy total, English vs translation", "by_language": out}


def speed_section() -> dict[str, Any]:
    embedder = TextEmbedder(None)  # no cache: every text is embedded
    texts = [json.loads(line)["turns"][0]["text"]
             for line in (ROOT / "datasets" / "bitext" / "test.jsonl").read_text(encoding="utf-8").splitlines()][:100]
    times = []
    for text in texts:
        started = time.perf_counter()
        embedder.embed([text])
        times.append((time.perf_counter() - started) * 1000)
    return {"texts": len(texts), "median_ms_per_text": round(statistics.median(times), 1),
            "model": embedder.version}


def table(result: dict[str, Any]) -> str:
    lines = ["| target (n) | scorer | Spearman [95% CI] | QWK [95% CI] |", "|---|---|---|---|"]
    emp = result["empathy"]
    for target, rows in emp["agreement"].items():
        for name, r in rows.items():
            s, q = r["spearman"], r["qwk"]
            lines.append(f"| empathy {target} ({emp['n']}) | {name} | {s['value']:.2f} [{s['ci_low']:.2f}, "
                         f"{s['ci_high']:.2f}] | {q['value']:.2f} [{q['ci_low']:.2f}, {q['ci_high']:.2f}] |")
    lines += ["", "| hand-off class (n) | detector P / R / F1 | keyword10 P / R / F1 |", "|---|---|---|"]
    ho = result["handoff"]
    for kind in ("handoff", "offer", "redirect", "refusal", "none"):
        r, k = ho["detector"][kind], ho["keyword10"][kind]
        kw = f"{k['precision']:.2f} / {k['recall']:.2f} / {k['f1']:.2f}" if kind in ("handoff", "none") else "n/a"
        lines.append(f"| {kind} ({r['n']}) | {r['precision']:.2f} / {r['recall']:.2f} / {r['f1']:.2f} "
                     f"[F1 {r['f1_ci95'][0]:.2f}, {r['f1_ci95'][1]:.2f}] | {kw} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--esconv", type=Path, default=ROOT.parent / "shared" / "data" / "esconv")
    parser.add_argument("--cache", type=Path, default=ROOT / "runs" / "cache" / "embeddings.sqlite")
    args = parser.parse_args()
    embedder = TextEmbedder(args.cache)
    result = {"empathy": empathy_section(args.esconv, embedder), "handoff": handoff_section(),
              "cross_language": consistency_section(embedder), "speed": speed_section(),
              "empathy_version": f"{load_heads().version}+{embedder.version}"}
    result["table"] = table(result)
    OUT.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(result["table"])
    print(json.dumps(result["cross_language"], indent=1))


if __name__ == "__main__":
    main()
