"""Accuracy: agreement with the human reference reply, and coverage of required facts.

Similarity is chrF++ (character n-gram F-score with word bigrams, via sacrebleu), which works
across languages without a tokenizer. It rewards saying what the human said, not being right
in other words; fact coverage is the sharper signal where a dataset lists required facts.
"""

from __future__ import annotations

import re
import unicodedata

from sacrebleu.metrics import CHRF

from evals.errors import UserError
from evals.types import Case, Ratio, Reply, Score


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().casefold()


class AccuracyScorer:
    ratios: dict[str, Ratio] = {}

    def __init__(self, name: str = "accuracy", fact_weight: float = 0.5) -> None:
        if not 0.0 <= fact_weight <= 1.0:
            raise UserError(f"fact_weight must be within [0, 1], got {fact_weight}")
        self.name = name
        self.fact_weight = fact_weight
        self._chrf = CHRF(word_order=2)

    def score(self, case: Case, reply: Reply) -> Score:
        nan = float("nan")
        if reply.error:
            return Score(case.case_id, reply.variant, self.name, nan, None,
                         f"no reply to score ({reply.error})")
        reference = case.reference_reply
        facts = case.reference.required_facts
        if not reference and not facts:
            return Score(case.case_id, reply.variant, self.name, nan, None,
                         "no human reference reply and no required facts")
        parts: list[str] = []
        similarity = None
        if reference:
            similarity = self._chrf.sentence_score(reply.text, [reference]).score / 100.0
            parts.append(f"chrF++ {similarity:.2f} vs the human reply")
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
        return Score(case.case_id, reply.variant, self.name, float(value), None, "; ".join(parts))
