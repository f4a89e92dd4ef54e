"""The learned empathy model: e5 sentence embeddings -> support strategy -> EPITOME levels.

EPITOME (Sharma et al., EMNLP 2020) rates a response on three mechanisms, each 0 (none), 1 (weak)
or 2 (strong): Emotional Reactions (ER: warmth, compassion, concern), Interpretations (IP: showing
understanding of the other's feelings or experience; a shared experience is strong) and
Explorations (EX: asking about the other's feelings or situation).

A multinomial logistic-regression head over multilingual-e5-small embeddings predicts which
support strategy a sentence uses; it was trained (training/train_empathy.py) on ESConv, whose
supporters labelled each of their own turns with one of eight strategies. Each strategy carries
EPITOME levels (`MECHANISM_LEVELS`), so a sentence's expected level per mechanism is the
probability-weighted sum of its strategies' levels: graded, not a 0-6 count.

A reply usually mixes sentences that do different things ("I'm sorry about the delay. Your order
ships Monday. Is the address still right?"), so per mechanism the reply's level is the mean of
(a) the level of the whole reply and (b) the highest level of any one sentence: a question inside
a long answer is still an exploration, without one warm sentence making the whole reply maximal.
The whole reply's vector is the normalised mean of its sentence vectors, so each sentence is
embedded once and the reply costs nothing more.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from evals.embedding import unit_mean
from evals.errors import UserError

MECHANISMS = ("ER", "IP", "EX")
# EPITOME levels (ER, IP, EX) of each ESConv strategy, from the two papers' definitions:
# self-disclosure of a similar experience is EPITOME's strong interpretation; reflecting the
# other's feelings names them (strong interpretation) with warmth (weak emotional reaction);
# restating shows understanding (weak interpretation); affirmation and reassurance is warmth;
# questions explore. Suggestions, information and other moves are problem solving, not empathy.
MECHANISM_LEVELS: dict[str, tuple[int, int, int]] = {
    "Affirmation and Reassurance": (1, 0, 0),
    "Information": (0, 0, 0),
    "Other": (0, 0, 0),
    "Providing Suggestions": (0, 0, 0),
    "Questions": (0, 0, 2),
    "Reflection of feelings": (1, 2, 0),
    "Restatement or Paraphrasing": (0, 1, 0),
    "Self-disclosure": (0, 2, 0),
}
MAX_SENTENCES = 12  # a longer reply is scored on its first twelve sentences (stated in the explanation)
HEADS_PATH = Path(__file__).with_name("empathy_heads.npz")
CARD_PATH = Path(__file__).with_name("empathy_model.json")

# Sentence ends in the scripts the supported languages use; newlines always end one.
_SENTENCE_END = re.compile(r"(?<=[.!?。？！…])\s+|\s*\n+\s*")


def split_sentences(text: str) -> list[str]:
    """Sentences of a reply, stripped; the whole text when it has no sentence end."""
    parts = [p.strip() for p in _SENTENCE_END.split(text) if p and p.strip()]
    return parts or ([text.strip()] if text.strip() else [])


def pool(whole: np.ndarray, per_sentence: np.ndarray) -> np.ndarray:
    """A reply's levels from its whole vector's (3,) and its sentences' (n, 3): see the module docstring."""
    return (whole + per_sentence.max(axis=0)) / 2


@dataclass(frozen=True)
class ReplyLevels:
    """Expected EPITOME level (0-2) per mechanism and the sentence that showed it most."""

    levels: dict[str, float]
    evidence: dict[str, str]

    @property
    def total(self) -> float:
        return float(sum(self.levels.values()))


@dataclass(frozen=True)
class EmpathyHeads:
    classes: tuple[str, ...]
    coef: np.ndarray  # (classes, 384)
    intercept: np.ndarray  # (classes,)
    path: str

    @cached_property
    def version(self) -> str:
        return "heads-" + hashlib.sha256(Path(self.path).read_bytes()).hexdigest()[:12]

    @cached_property
    def _level_matrix(self) -> np.ndarray:
        return np.array([MECHANISM_LEVELS[c] for c in self.classes], dtype=float)

    def strategy_probabilities(self, vectors: np.ndarray) -> np.ndarray:
        logits = vectors @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def levels(self, vectors: np.ndarray) -> np.ndarray:
        """(n, 3) expected ER, IP, EX levels of n sentence or reply vectors."""
        return self.strategy_probabilities(vectors) @ self._level_matrix

    def reply_levels(self, sentences: list[str], vectors: np.ndarray) -> ReplyLevels:
        """Pool sentence vectors into the reply's levels (see the module docstring)."""
        whole = unit_mean(vectors)
        per_sentence = self.levels(vectors)
        pooled = pool(self.levels(whole[None, :])[0], per_sentence)
        best = per_sentence.argmax(axis=0)
        return ReplyLevels(
            levels={m: float(pooled[k]) for k, m in enumerate(MECHANISMS)},
            evidence={m: sentences[best[k]] for k, m in enumerate(MECHANISMS)},
        )


@lru_cache(maxsize=4)
def load_heads(path: str | None = None) -> EmpathyHeads:
    where = Path(path) if path else HEADS_PATH
    try:
        with np.load(where, allow_pickle=False) as data:
            classes = tuple(str(c) for c in data["classes"])
            heads = EmpathyHeads(classes, data["coef"].astype(np.float32), data["intercept"].astype(np.float32),
                                 str(where))
    except (OSError, KeyError, ValueError) as err:
        raise UserError(f"empathy model {where}: unreadable ({err}); rebuild it with "
                        "training/train_empathy.py or set scorer.empathy.heads_path") from err
    if unknown := [c for c in classes if c not in MECHANISM_LEVELS]:
        raise UserError(f"empathy model {where}: unknown strategy '{unknown[0]}' "
                        f"(known: {', '.join(MECHANISM_LEVELS)})")
    return heads


def model_card(path: Path = CARD_PATH) -> dict[str, object]:
    return json.loads(path.read_text(encoding="utf-8"))
