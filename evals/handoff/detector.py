"""Reads what a reply does about a human hand-off: handoff, offer, redirect, refusal or none.

A reply is split into sentences; each sentence of each phrase set is read, and the reply takes the
strongest reading by `PRECEDENCE`: a done or promised hand-off wins over an offer, an offer over a
redirect to another channel, and a refusal counts only when nothing else in the reply hands off
("I can't transfer you, but please call our hotline" is a redirect).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Literal

from evals.handoff.en import DEFAULT_PATTERNS, ENGLISH
from evals.handoff.other import DUTCH, FRENCH, GERMAN, PORTUGUESE
from evals.handoff.phrases import CompiledPhrases, PhraseSet  # noqa: F401  (PhraseSet: API)

# What a reply does about a human hand-off (see HandoffDetector.classify).
HandoffKind = Literal["handoff", "offer", "redirect", "refusal", "none"]
PRECEDENCE: tuple[HandoffKind, ...] = ("handoff", "offer", "redirect", "refusal", "none")
_RANK = {kind: i for i, kind in enumerate(PRECEDENCE)}

PHRASE_SETS: dict[str, PhraseSet] = {p.language: p for p in (ENGLISH, GERMAN, FRENCH, PORTUGUESE, DUTCH)}
SUPPORTED_LANGUAGES: tuple[str, ...] = tuple(PHRASE_SETS)
# Korean is a wmt24_chat customer language, but no Korean phrases are written: classify says so.
UNSUPPORTED_NOTE = "no hand-off phrases for language {language!r} (supported: {supported}); read as none"

# A hand-off phrase that starts with its own modal subject ("I can escalate ...") is offered.
_MODAL_START = re.compile(
    r"(?:I|we|ich|wir|je|nous|eu|nós|ik|wij)\s+(?:can|could|may|might|kann|können|könnte|peux|pouvons|pourrais"
    r"|posso|podemos|poderia|kan|kunnen|zou)\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class HandoffReading:
    """How one reply reads: its hand-off kind and the words that decided it."""

    kind: HandoffKind
    phrase: str | None = None
    note: str = ""  # set when the reading could not be made (unsupported language)

    @property
    def escalated(self) -> bool:
        """Done or promised hand-off; offers and redirects are decided by the scoring policy."""
        return self.kind == "handoff"


def language_key(language: str | None) -> str | None:
    """'pt-BR' -> 'pt'; None stays None."""
    return None if language is None else re.split(r"[-_]", language.strip().lower())[0]


@dataclass(frozen=True)
class HandoffDetector:
    """Classifies replies by their hand-off phrases (see `PRECEDENCE` and docs/handoff.md).

    `patterns`, when given, replace the hand-off phrases of every language (offer, refusal and redirect
    cues still apply), so a configured pattern list is the whole definition of a hand-off.
    """

    patterns: tuple[str, ...] = field(default=DEFAULT_PATTERNS, repr=False)
    _sets: dict[str, CompiledPhrases] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        custom = tuple(self.patterns) != DEFAULT_PATTERNS
        sets = {
            lang: (replace(p, handoff=tuple(self.patterns)) if custom else p).compiled
            for lang, p in PHRASE_SETS.items()
        }
        object.__setattr__(self, "_sets", sets)

    # The same texts are read again and again (a retrieval bot's memory, then its replies; template
    # replies); readings are immutable, so a bounded cache pays for itself.
    @lru_cache(maxsize=16384)
    def classify(self, text: str, language: str | None = None) -> HandoffReading:
        """handoff (done or promised), offer, redirect to another channel, refusal, or none.

        `language` picks one phrase set ("de", "pt-BR", ...); None tries every supported language.
        An unsupported language reads as none, with `note` saying so.
        """
        key = language_key(language)
        if key is not None and key not in self._sets:
            supported = ", ".join(SUPPORTED_LANGUAGES)
            return HandoffReading("none", None, UNSUPPORTED_NOTE.format(language=language, supported=supported))
        sets = [self._sets[key]] if key is not None else list(self._sets.values())
        best = HandoffReading("none")
        for sentence in _SENTENCE.split(text):
            if not sentence.strip():
                continue
            for phrases in sets:
                reading = _read_sentence(sentence, phrases)
                if _RANK[reading.kind] < _RANK[best.kind]:
                    best = reading
                    if best.kind == "handoff":
                        return best
        return best

    def match(self, text: str, language: str | None = None) -> str | None:
        """The words of a done or promised hand-off in `text` (a substring of it), or None."""
        reading = self.classify(text, language)
        return reading.phrase if reading.kind == "handoff" else None

    def __call__(self, text: str, language: str | None = None) -> bool:
        return self.classify(text, language).kind == "handoff"

    def read(self, text: str, language: str | None = None) -> tuple[bool, str]:
        """(hands off?, the note a reply records about why), as variants report it."""
        phrase = self.match(text, language)
        return phrase is not None, f"hand-off phrase: {phrase!r}" if phrase else ""


def _clause_before(phrases: CompiledPhrases, sentence: str, start: int) -> str:
    """The part of `sentence` from the last clause break before `start` up to it."""
    prefix = sentence[:start]
    cut = max((m.end() for m in phrases.clause_break.finditer(prefix)), default=0)
    return prefix[cut:]


def _negated(phrases: CompiledPhrases, clause: str) -> bool:
    return bool(phrases.negation.search(phrases.not_negation.sub(" ", clause)))


def _read_sentence(sentence: str, phrases: CompiledPhrases) -> HandoffReading:
    """The strongest reading of one sentence with one phrase set."""
    found = [HandoffReading("refusal", m.group(0)) for p in phrases.refusal if (m := p.search(sentence))]
    refused = [m.span() for p in phrases.refusal for m in p.finditer(sentence)]
    feedback = bool(phrases.feedback.search(sentence))
    for pattern in phrases.handoff:
        for m in pattern.finditer(sentence):
            prefix = sentence[: m.start()]
            if feedback or phrases.customer_acts.search(prefix) or phrases.cancel.search(prefix):
                continue
            if any(start <= m.start() < end for start, end in refused):
                continue
            clause = _clause_before(phrases, sentence, m.start())
            if _negated(phrases, clause + m.group(0)):
                found.append(HandoffReading("refusal", (clause + m.group(0)).strip()))
            elif _offered(phrases, sentence, prefix, clause, m):
                found.append(HandoffReading("offer", m.group(0)))
            else:
                return HandoffReading("handoff", m.group(0))
    found += [HandoffReading("offer", m.group(0)) for p in phrases.offer if (m := p.search(sentence))]
    if not phrases.closing.search(sentence):
        found += [HandoffReading("redirect", m.group(0)) for p in phrases.redirect if (m := p.search(sentence))]
    for m in phrases.refusal_verb.finditer(sentence):
        clause = _clause_before(phrases, sentence, m.start())
        if _negated(phrases, clause):
            found.append(HandoffReading("refusal", (clause + m.group(0)).strip()))
            break
    return min(found, key=lambda r: _RANK[r.kind], default=HandoffReading("none"))


def _offered(phrases: CompiledPhrases, sentence: str, prefix: str, clause: str, m: re.Match[str]) -> bool:
    """A question, a condition or a modal around the hand-off phrase makes it an offer."""
    if phrases.offer_lead.search(prefix) or phrases.offer_modal.search(clause) or _MODAL_START.match(m.group(0)):
        return True
    if phrases.offer_condition.search(sentence):
        return True
    rest = sentence[m.end():]
    return rest.rstrip().endswith("?") and not phrases.clause_break.search(rest.rstrip()[:-1])
