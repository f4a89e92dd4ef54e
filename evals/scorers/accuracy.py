"""Accuracy: agreement with the human reference reply, and coverage of required facts.

Similarity to the reference is semantic by default: the cosine of the two replies' multilingual
e5 embeddings (the empathy model's, so each text is embedded once per run), rescaled so that 0 is
as close as two unrelated replies and 1 is the same meaning. e5 cosines are compressed (two
unrelated support replies sit at 0.91 in wmt24_chat and 0.98 in the templated Bitext replies,
training/similarity_floor.py), so the floor is measured on each run's own data: the median cosine
between human references of different conversations (`semantic_floor: auto`, 200 seeded pairs; a
number fixes it). A correct reply in other words, or in
the customer's language, is not scored as wrong. chrF++ (character n-gram F-score, sacrebleu) is
kept as the companion score `<name>_chrf`: it rewards saying what the human said, word for word.
Fact coverage is the sharper signal where a dataset lists required facts. No openly licensed human
judgements of reply accuracy were found to validate either against (docs/accuracy.md).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence

import numpy as np
from sacrebleu.metrics import CHRF

from evals.embedding import DIM, TextEmbedder, shared_embedder, unit_mean
from evals.errors import UserError
from evals.scorers.empathy_model import MAX_SENTENCES, split_sentences
from evals.types import Case, Ratio, Reply, Score


def reply_vectors(embedder: TextEmbedder, texts: Sequence[str]) -> np.ndarray:
    """One unit vector per text: the normalised mean of its sentence vectors (as the empathy model).

    The texts' sentences are embedded in one call, with one cache look-up and write, not one per text."""
    split = [split_sentences(text)[:MAX_SENTENCES] or [text] for text in texts]
    distinct = list(dict.fromkeys(s for sentences in split for s in sentences))
    vectors = dict(zip(distinct, embedder.embed(distinct).astype(np.float64)))
    rows = [unit_mean(np.array([vectors[s] for s in sentences])) for sentences in split]
    return np.array(rows, dtype=np.float64).reshape(len(texts), DIM)


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().casefold()


_FALLBACK_FLOOR = 0.9  # too few references to measure the floor on: about wmt24_chat's measured 0.91


def _unrelated_cosine(embedder: TextEmbedder, cases: Sequence[Case], pairs: int = 200) -> float:
    """Median cosine between references of different conversations: the 'unrelated' level."""
    by_conversation: dict[str, str] = {}
    for case in cases:
        if case.reference_reply:
            by_conversation.setdefault(case.conversation.conversation_id, case.reference_reply)
    references = sorted(by_conversation.values())
    if len(references) < 20:
        return _FALLBACK_FLOOR
    rng = np.random.default_rng(0)
    picks = [rng.choice(len(references), 2, replace=False) for _ in range(pairs)]
    left = reply_vectors(embedder, [references[a] for a, _ in picks])
    right = reply_vectors(embedder, [references[b] for _, b in picks])
    return float(min(np.median(np.einsum("ij,ij->i", left, right)), 0.99))


class AccuracyScorer:
    ratios: dict[str, Ratio] = {}
    label, direction = "accuracy", "higher"

    def __init__(self, name: str = "accuracy", fact_weight: float = 0.5, similarity: str = "semantic",
                 semantic_floor: float | str = "auto", embedding_cache: str | None = None) -> None:
        if not 0.0 <= fact_weight <= 1.0:
            raise UserError(f"scorer.{name}.fact_weight: must be within [0, 1], got {fact_weight}")
        if similarity not in ("semantic", "chrf"):
            raise UserError(f"scorer.{name}.similarity: '{similarity}' is not one of semantic, chrf")
        if semantic_floor != "auto" and not (isinstance(semantic_floor, float | int) and 0 <= semantic_floor < 1):
            raise UserError(f"scorer.{name}.semantic_floor: 'auto' or a number within [0, 1), got {semantic_floor}")
        self.name = name
        self.fact_weight = fact_weight
        self.similarity = similarity
        self.semantic_floor = semantic_floor
        self._floor = _FALLBACK_FLOOR if semantic_floor == "auto" else float(semantic_floor)
        self.embedding_cache = embedding_cache
        if similarity == "semantic":
            shared_embedder(embedding_cache)  # a bad cache path fails before the run, not in it
        self._chrf = CHRF(word_order=2)
        self._semantic: dict[str, float] = {}  # case_id -> rescaled cosine, filled by score_batch
        self._calibrated = False  # the auto floor fixed by `calibrate`, not measured per batch

    def calibrate(self, cases: Sequence[Case]) -> None:
        """Measure the auto floor once on these cases, for every later batch: a sharded run scores its data
        in many batches, and each would otherwise measure a floor of its own."""
        if self.similarity == "semantic" and self.semantic_floor == "auto":
            self._floor = _unrelated_cosine(shared_embedder(self.embedding_cache), cases)
            self._calibrated = True

    @property
    def names(self) -> list[str]:
        return [self.name, f"{self.name}_chrf"]

    def score_batch(self, cases: Sequence[Case], replies: Sequence[Reply],
                    on_progress: Callable[[int, int], None] | None = None) -> list[Score]:
        """Embed every reply and reference once, then score each reply."""
        self._semantic = {}
        if self.similarity == "semantic":
            pairs = [(c, r) for c, r in zip(cases, replies)
                     if not r.error and r.text.strip() and c.reference_reply]
            embedder = shared_embedder(self.embedding_cache)
            if self.semantic_floor == "auto" and not self._calibrated:
                self._floor = _unrelated_cosine(embedder, cases)
            for start in range(0, len(pairs), 64):
                chunk = pairs[start:start + 64]
                left = reply_vectors(embedder, [r.text for _, r in chunk])
                right = reply_vectors(embedder, [c.reference_reply or "" for c, _ in chunk])
                for (case, _), cosine in zip(chunk, np.einsum("ij,ij->i", left, right)):
                    self._semantic[case.case_id] = float(cosine)
                if on_progress:
                    on_progress(min(start + 64, len(pairs)), len(pairs))
        out: list[Score] = []
        for case, reply in zip(cases, replies):
            out += self._score_pair(case, reply)
        return out

    def score(self, case: Case, reply: Reply) -> Score:
        return self.score_batch([case], [reply])[0]

    def _score_pair(self, case: Case, reply: Reply) -> list[Score]:
        def unscored(reason: str) -> list[Score]:
            return [Score(case.case_id, reply.variant, n, math.nan, None, reason) for n in self.names]

        if reply.error:
            return unscored(f"no reply to score ({reply.error})")
        if not reply.text.strip():
            return unscored("no text to score (empty reply or a tool call only)")
        reference = case.reference_reply
        facts = case.reference.required_facts
        if not reference and not facts:
            return unscored("no human reference reply and no required facts")
        parts: list[str] = []
        similarity = chrf = None
        if reference:
            chrf = self._chrf.sentence_score(reply.text, [reference]).score / 100.0
            if self.similarity == "semantic":
                cosine = self._semantic[case.case_id]
                # rounded: float32 vectors put an identical reply at 0.99999994, not 1
                similarity = round(min(1.0, max(0.0, (cosine - self._floor) / (1.0 - self._floor))), 4)
                parts.append(f"meaning {similarity:.2f} vs the human reply (cosine {cosine:.3f})")
            else:
                similarity = chrf
            parts.append(f"chrF++ {chrf:.2f}")
        coverage = None
        if facts:
            said = _normalise(reply.text)
            missing = [f for f in facts if _normalise(f) not in said]
            coverage = 1.0 - len(missing) / len(facts)
            parts.append(f"facts {len(facts) - len(missing)}/{len(facts)}"
                         + (f", missing: {'; '.join(missing)}" if missing else ""))
        if similarity is None:
            value = coverage
        elif coverage is None:
            value = similarity
        else:
            value = (1 - self.fact_weight) * similarity + self.fact_weight * coverage
        explanation = "; ".join(parts)
        return [Score(case.case_id, reply.variant, self.name, float(value), None, explanation),
                Score(case.case_id, reply.variant, f"{self.name}_chrf", math.nan if chrf is None else chrf, None,
                      "chrF++ vs the human reply" if chrf is not None else "no human reference reply")]
