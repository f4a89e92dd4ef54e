"""Measure the accuracy scorer's semantic floor: how similar two unrelated support replies look.

    .venv/bin/python training/similarity_floor.py

e5 cosines are compressed (unrelated texts rarely fall below 0.7), so the accuracy scorer rescales
(cos - floor) / (1 - floor), floor being the median cosine between human reference replies of two
different conversations in the shipped datasets. Prints the floor per dataset and overall; the value
goes into conf/scorer/accuracy.yaml (`semantic_floor`).
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evals.embedding import shared_embedder  # noqa: E402
from evals.scorers.accuracy import reply_vectors  # noqa: E402

PAIRS = 400


def main() -> None:
    embedder = shared_embedder(str(ROOT / "runs" / "cache" / "embeddings.sqlite"))
    rng = random.Random(0)
    medians = {}
    for dataset in ("wmt24_chat", "bitext"):
        replies = [(c["conversation_id"], r["reply"]) for line in (ROOT / "datasets" / dataset / "test.jsonl")
                   .read_text(encoding="utf-8").splitlines() for c in [json.loads(line)]
                   for r in c.get("references", []) if r.get("reply")]
        pairs = []
        while len(pairs) < PAIRS:
            a, b = rng.sample(replies, 2)
            if a[0] != b[0]:
                pairs.append((a[1], b[1]))
        left = reply_vectors(embedder, [a for a, _ in pairs])
        right = reply_vectors(embedder, [b for _, b in pairs])
        cosines = np.einsum("ij,ij->i", left, right)
        medians[dataset] = float(np.median(cosines))
        print(f"{dataset}: median cosine of {PAIRS} unrelated reply pairs {medians[dataset]:.3f}")
    print(f"floor (mean of the two medians): {np.mean(list(medians.values())):.2f}")


if __name__ == "__main__":
    main()
