"""Empathy: how much of EPITOME's three mechanisms a reply expresses, read by a learned model.

    value = (ER + IP + EX) / 6, in [0, 1]; each mechanism an expected EPITOME level in [0, 2]

The levels come from evals/scorers/empathy_model.py (multilingual e5 embeddings and a head
trained on human-labelled support strategies); docs/empathy.md gives the definition, the data,
and how far it agrees with people (bench/validity.py). Three companion scores carry the
mechanisms (`empathy_er`, `empathy_ip`, `empathy_ex`, each 0-2), so each can be compared on its own.

The customer's turn is part of the input: its emotion (angry, anxious, upset or neutral) is in
each reply's label ("upset/flat", "neutral/warm"), and `flat_when_distressed` is the share of
distressed customers who got a flat reply. The value itself rates the reply alone, whatever the
customer felt, so it stays comparable with EPITOME's human ratings; a neutral question needs no
empathy, which is why the distress-aware figure is the one to gate on.

Replies are scored in their own detected language; the languages with checked behaviour are
listed in `SUPPORTED` (validated against human labels: English only). Others are unscored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from evals.embedding import shared_embedder
from evals.language import scoring_language
from evals.scorers.customer_emotion import CustomerEmotion, detect_emotion
from evals.scorers.empathy_model import MAX_SENTENCES, MECHANISMS, load_heads, split_sentences
from evals.types import Case, Ratio, Reply, Score

VALIDATED = ("en",)  # measured against human labels (bench/validity.py)
SUPPORTED = ("en", "de", "fr", "nl", "pt", "es", "it")  # multilingual model; consistency checked across languages
_DISTRESSED = ("angry", "anxious", "upset")
_QUOTE = 48


class EmpathyScorer:
    ratios: dict[str, Ratio] = {
        "flat_when_distressed": Ratio({f"{e}/flat": 1 for e in _DISTRESSED},
                                      {f"{e}/{s}": 1 for e in _DISTRESSED for s in ("flat", "warm")},
                                      direction="lower", counts="replies to a distressed customer",
                                      label="flat to a distressed customer ↓"),
    }
    label, direction = "empathy", "higher"

    def __init__(self, name: str = "empathy", heads_path: str | None = None,
                 embedding_cache: str | None = None, languages: Sequence[str] = SUPPORTED,
                 flat_below: float = 1.0) -> None:
        self.name = name
        self.heads = load_heads(heads_path)
        self.embedding_cache = embedding_cache
        shared_embedder(embedding_cache)  # load the model and open the cache now: a bad path fails before the run
        self.languages = tuple(languages)
        self.flat_below = flat_below  # a reply below one weak mechanism in total reads as flat

    @property
    def names(self) -> list[str]:
        return [self.name, *(f"{self.name}_{m.lower()}" for m in MECHANISMS)]

    @property
    def version(self) -> str:
        return f"{self.heads.version}+{shared_embedder(self.embedding_cache).version}"

    def score(self, case: Case, reply: Reply) -> Score:
        return self.score_batch([case], [reply])[0]

    def score_batch(self, cases: Sequence[Case], replies: Sequence[Reply],
                    on_progress: Callable[[int, int], None] | None = None) -> list[Score]:
        """Every reply's scores (the main one, then ER, IP, EX); each sentence embedded once."""
        embedder = shared_embedder(self.embedding_cache)
        version = self.version
        plans = [self._plan(c, r) for c, r in zip(cases, replies)]
        todo = list(dict.fromkeys(s for p in plans if isinstance(p, list) for s in p[:MAX_SENTENCES]))
        for start in range(0, len(todo), 64):  # in chunks, so a progress bar moves (sentences done, total)
            embedder.embed(todo[start:start + 64])
            if on_progress:
                on_progress(min(start + 64, len(todo)), len(todo))
        scores: list[Score] = []
        for case, reply, plan in zip(cases, replies, plans):
            if isinstance(plan, str):
                scores += [Score(case.case_id, reply.variant, n, math.nan, None, plan, version) for n in self.names]
                continue
            scored = plan[:MAX_SENTENCES]
            found = self.heads.reply_levels(scored, embedder.embed(scored))
            emotion = _customer_emotion(case)
            warmth = "flat" if found.total < self.flat_below else "warm"
            label = f"{emotion.emotion}/{warmth}"
            customer = f"customer {emotion.emotion}" + (f' ("{emotion.cue}")' if emotion.cue else "")
            parts = [f"{m} {found.levels[m]:.2f}" + (f" ({_quote(found.evidence[m])})" if found.levels[m] >= 0.5
                                                        else "") for m in MECHANISMS]
            cut = f"; first {MAX_SENTENCES} sentences scored" if len(plan) > MAX_SENTENCES else ""
            explanation = f"{customer}, reply {warmth}: " + ", ".join(parts) + cut
            scores.append(Score(case.case_id, reply.variant, self.name, found.total / 6, label, explanation, version))
            scores += [Score(case.case_id, reply.variant, f"{self.name}_{m.lower()}", found.levels[m], label,
                             f"{m} level {found.levels[m]:.2f} of 2", version) for m in MECHANISMS]
        return scores

    def _plan(self, case: Case, reply: Reply) -> list[str] | str:
        """The reply's sentences (the first MAX_SENTENCES are scored), or why it cannot be scored."""
        if reply.error:
            return f"reply failed: {reply.error}"
        if not reply.text.strip():
            return "no text to score (empty reply or a tool call only)"
        language, mismatch = scoring_language(reply.text, case.reply_language)
        if language not in self.languages:
            expected = f" (expected '{case.reply_language}')" if mismatch else ""
            return f"reply language '{language}'{expected} is not supported by the empathy model"
        return split_sentences(reply.text)


def _customer_emotion(case: Case) -> CustomerEmotion:
    """The customer's own words first; their translation when the own words show nothing."""
    turn = case.conversation.turns[case.turn_index]
    found = detect_emotion(turn.text, case.conversation.language)
    if not found.distressed and turn.translation:
        found = detect_emotion(turn.translation, case.conversation.agent_language or "en")
    return found


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return f'"{text}"' if len(text) <= _QUOTE else f'"{text[: _QUOTE - 1]}…"'
