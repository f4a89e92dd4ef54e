"""Would another head or another pooling agree better with people? Grouped cross-validation on
ESConv's dev file only (the test file is never read here).

    .venv/bin/python training/compare_heads.py [--esconv ../shared/data/esconv]

Each variant is fitted on four fifths of the dev file's conversations and scored on the fifth it did
not see (5 folds, grouped by conversation); the figures are Spearman correlations of the predicted
EPITOME levels with the levels derived from the supporters' own strategy labels
(`MECHANISM_LEVELS`), in total and per mechanism, for two poolings of a reply's sentences:
- mix:   the shipped pooling, the mean of the whole reply's level and its highest sentence's level;
- whole: the whole reply's level alone (ESConv labels one strategy per turn, so it fits this data,
         while EPITOME rates a reply that asks one question among advice as an exploration).
Variants: the shipped head (logistic regression over e5 vectors to the eight strategies) at several
regularisation strengths, with class weights, trained on sentences as well as turns, a small MLP,
with the help seeker's previous words as context, and one ordinal head per mechanism instead of
strategies. Writes training/results/head_variants.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.neural_network import MLPClassifier

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "training")]

from esconv import distinct, read_turns  # noqa: E402

from evals.embedding import TextEmbedder, unit_mean  # noqa: E402
from evals.scorers.empathy_model import MAX_SENTENCES, MECHANISM_LEVELS, MECHANISMS, pool  # noqa: E402
from evals.scorers.empathy_model import split_sentences as split  # noqa: E402

RESULTS = ROOT / "training" / "results" / "head_variants.json"
FOLDS = 5


class Data:
    def __init__(self, embedder: TextEmbedder, esconv: Path) -> None:
        turns = distinct(read_turns(esconv / "devWithStrategy_short.tsv"))
        self.turns = turns
        self.sentences = [embedder.embed(split(t.text)[:MAX_SENTENCES]) for t in turns]
        self.replies = np.array([unit_mean(s) for s in self.sentences])
        self.turn_vectors = embedder.embed([t.text for t in turns])
        self.seeker = embedder.embed([t.seeker_before or " " for t in turns])
        self.strategy = np.array([t.strategy for t in turns])
        self.levels = np.array([MECHANISM_LEVELS[s] for s in self.strategy], dtype=float)
        self.groups = np.array([t.conversation for t in turns])


# A predictor maps (vectors of one reply's units, index of the reply) to (units, 3) expected levels.
Predictor = Callable[[np.ndarray, int], np.ndarray]


def with_context(data: Data, vectors: np.ndarray, rows: np.ndarray | int) -> np.ndarray:
    seeker = data.seeker[rows] if isinstance(rows, np.ndarray) else np.repeat(data.seeker[rows:rows + 1],
                                                                              len(vectors), 0)
    return np.hstack([vectors, vectors * seeker * 10])  # the reply, and where it meets the seeker's words


def strategy_head(make: Callable[[], object], sentences_too: bool = False, context: bool = False):
    def train(data: Data, rows: np.ndarray) -> Predictor:
        x, y = data.turn_vectors[rows], data.strategy[rows]
        if sentences_too:  # each sentence of a longer turn inherits the turn's strategy
            extra = [(v, data.strategy[i]) for i in rows if len(data.sentences[i]) > 1 for v in data.sentences[i]]
            x = np.vstack([x, np.array([v for v, _ in extra])])
            y = np.concatenate([y, [s for _, s in extra]])
        features = (lambda v, r: with_context(data, v, r)) if context else (lambda v, r: v)
        model = make().fit(features(x, rows), y)
        levels = np.array([MECHANISM_LEVELS[c] for c in model.classes_], dtype=float)
        return lambda v, i: model.predict_proba(features(v, i)) @ levels
    return train


def mechanism_heads(c: float):
    def train(data: Data, rows: np.ndarray) -> Predictor:
        models = [LogisticRegression(C=c, max_iter=5000).fit(data.turn_vectors[rows], data.levels[rows, k].astype(int))
                  for k in range(3)]
        return lambda v, i: np.stack([m.predict_proba(v) @ m.classes_ for m in models], axis=1)
    return train


def logistic(c: float, **kw: object) -> Callable[[], object]:
    return lambda: LogisticRegression(C=c, max_iter=5000, **kw)


VARIANTS = {
    "strategy LR C=1": strategy_head(logistic(1)),
    "strategy LR C=3": strategy_head(logistic(3)),
    "strategy LR C=10 (shipped)": strategy_head(logistic(10)),
    "strategy LR C=30": strategy_head(logistic(30)),
    "strategy LR C=100": strategy_head(logistic(100)),
    "strategy LR C=10, balanced classes": strategy_head(logistic(10, class_weight="balanced")),
    "strategy LR C=10, sentences too": strategy_head(logistic(10), sentences_too=True),
    "strategy LR C=3, seeker context": strategy_head(logistic(3), context=True),
    "strategy MLP 256": strategy_head(lambda: MLPClassifier((256,), alpha=1e-3, max_iter=300, early_stopping=True,
                                                            random_state=0)),
    "per-mechanism LR C=3": mechanism_heads(3),
}


def cross_validate(data: Data, train) -> dict[str, dict[str, float]]:
    predicted = {"mix": np.zeros_like(data.levels), "whole": np.zeros_like(data.levels)}
    for fit_rows, held_rows in GroupKFold(FOLDS).split(data.turn_vectors, data.strategy, data.groups):
        predict = train(data, fit_rows)
        for i in held_rows:
            whole = predict(data.replies[i:i + 1], i)[0]
            predicted["mix"][i] = pool(whole, predict(data.sentences[i], i))
            predicted["whole"][i] = whole
    out = {}
    for pooling, p in predicted.items():
        figures = {"total": spearmanr(p.sum(1), data.levels.sum(1)).statistic}
        figures |= {m: spearmanr(p[:, k], data.levels[:, k]).statistic for k, m in enumerate(MECHANISMS)}
        out[pooling] = {k: round(float(v), 4) for k, v in figures.items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--esconv", type=Path, default=ROOT.parent / "shared" / "data" / "esconv")
    parser.add_argument("--cache", type=Path, default=ROOT / "runs" / "cache" / "embeddings.sqlite")
    args = parser.parse_args()
    data = Data(TextEmbedder(args.cache), args.esconv)
    print(f"{len(data.turns)} dev-file turns, {FOLDS} folds grouped by conversation")
    results = {}
    for name, train in VARIANTS.items():
        started = time.perf_counter()
        results[name] = cross_validate(data, train)
        row = "  ".join(f"{p}: total {f['total']:.3f} (ER {f['ER']:.3f} IP {f['IP']:.3f} EX {f['EX']:.3f})"
                        for p, f in results[name].items())
        print(f"{name:38s} {row}  [{time.perf_counter() - started:.0f} s]", flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "what": "Spearman of predicted vs strategy-derived EPITOME levels, 5-fold grouped CV on the ESConv dev "
                "file (the test file is not read); see the docstring of training/compare_heads.py",
        "n": len(data.turns), "folds": FOLDS, "variants": results}, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
