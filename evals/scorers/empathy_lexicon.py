"""A named baseline: EPITOME's three mechanisms detected with per-language lexical cues.

The default `empathy` scorer is the learned one (evals/scorers/empathy.py); this one is kept as
`empathy_lexicon` so that its agreement with people can be shown beside it (bench/validity.py).


EPITOME (Sharma, Miner, Atkins & Althoff, EMNLP 2020) rates a response on Emotional Reactions
(ER), Interpretations (IP) and Explorations (EX), each 0 (none), 1 (weak) or 2 (strong). This
module reproduces that rating scale with hand-written regular expressions instead of a trained
model, adapted to customer-service replies (see docs/empathy_lexicon.md for the adaptation and limits):

    level(mechanism) = 2 if a strong cue matches, else 1 if a weak cue matches, else 0
    value            = (ER + IP + EX) / 6, in [0, 1]; NaN when the reply cannot be scored

The cues live in empathy_lexicon.yaml beside this module. It is loaded and compiled once per
path (one alternation per language, mechanism and strength), because the scorer runs on about
ten thousand replies per job and must stay cheap.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from evals.errors import UserError, yaml_problem
from evals.types import Case, Ratio, Reply, Score

DEFAULT_LEXICON = Path(__file__).with_name("empathy_lexicon.yaml")

# YAML key -> EPITOME abbreviation, in label order.
MECHANISMS: dict[str, str] = {
    "emotional_reactions": "ER",
    "interpretations": "IP",
    "explorations": "EX",
}
STRENGTHS: tuple[str, ...] = ("strong", "weak")
_MAX_TOTAL = 2 * len(MECHANISMS)
_QUOTE_CHARS = 40  # longest matched cue quoted in an explanation


class LexiconError(UserError, ValueError):
    """The cue file is missing or malformed; the message names the file and the offending key."""


class _FoldTable(dict[int, str]):
    """`str.translate` table that strips diacritics, filled lazily one character at a time.

    Each character maps to exactly one character (ß, œ and anything that does not reduce to a
    single base letter stay as they are), so a span found in the folded text is the same span
    in the original and the explanation can quote what the reply actually said.
    """

    def __missing__(self, code: int) -> str:
        char = chr(code)
        base = "".join(
            c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c)
        )
        folded = base if len(base) == 1 else char
        self[code] = folded
        return folded


_FOLD = _FoldTable()
# Typographic apostrophes would otherwise defeat every "I'm", "c'est", "qu'est-ce" cue, and
# French typography puts a (narrow) no-break space before ? and !.
_FOLD.update({ord(c): "'" for c in "\u2019\u2018\u02bc\u00b4"})
_FOLD.update({ord(c): " " for c in "\u00a0\u202f\u2009\u2007"})


def _prepare(text: str) -> tuple[str, str]:
    """(text as quoted, text as matched): NFC-normalised, then folded to the same length."""
    if text.isascii():  # the common case costs nothing
        return text, text
    shown = unicodedata.normalize("NFC", text)
    return shown, shown.translate(_FOLD)


def base_language(code: str) -> str:
    """'pt-BR', 'en_US', 'EN' -> 'pt', 'en', 'en': cues are written per language, not region."""
    return code.strip().lower().replace("_", "-").split("-", 1)[0]


@dataclass(frozen=True)
class Lexicon:
    """Compiled cues: language -> mechanism abbreviation -> strength -> alternation (or None)."""

    path: str
    cues: dict[str, dict[str, dict[str, tuple[str, ...]]]]  # as written, for docs and tests
    patterns: dict[str, dict[str, dict[str, re.Pattern[str] | None]]]

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.patterns)

    def covers(self, language: str) -> bool:
        return base_language(language) in self.patterns

    def match(self, text: str, language: str) -> dict[str, tuple[int, str | None]]:
        """Mechanism abbreviation -> (level, the text that set the level or None)."""
        lang = base_language(language)
        if lang not in self.patterns:
            raise ValueError(f"no empathy cues for language '{language}'")
        shown, folded = _prepare(text)
        found: dict[str, tuple[int, str | None]] = {}
        for abbr, by_strength in self.patterns[lang].items():
            found[abbr] = (0, None)
            for level, strength in ((2, "strong"), (1, "weak")):
                pattern = by_strength[strength]
                hit = pattern.search(folded) if pattern is not None else None
                if hit:  # strong is tried first, so the weak alternation often never runs
                    found[abbr] = (level, shown[hit.start() : hit.end()])
                    break
        return found


def _fold_cue(cue: str) -> str:
    return unicodedata.normalize("NFC", cue).translate(_FOLD)


def _compile(path: Path) -> Lexicon:
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise LexiconError(f"empathy lexicon {path}: cannot read it ({err.strerror})") from err
    except yaml.YAMLError as err:
        raise LexiconError(f"empathy lexicon {path}: not valid YAML ({yaml_problem(err)})") from err
    languages = data.get("languages") if isinstance(data, dict) else None
    if not isinstance(languages, dict) or not languages:
        raise LexiconError(f"{path}: expected a non-empty 'languages' mapping")
    cues: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {}
    patterns: dict[str, dict[str, dict[str, re.Pattern[str] | None]]] = {}
    for lang, mechanisms in languages.items():
        where = f"{path}: languages.{lang}"
        if not isinstance(lang, str) or base_language(lang) != lang:
            raise LexiconError(f"{where}: language keys must be lower-case ISO 639-1 codes")
        if not isinstance(mechanisms, dict) or not set(mechanisms) <= set(MECHANISMS):
            raise LexiconError(f"{where}: mechanisms must be among {sorted(MECHANISMS)}")
        cues[lang], patterns[lang] = {}, {}
        for mech, abbr in MECHANISMS.items():  # a missing mechanism simply never fires
            strengths = mechanisms.get(mech) or {}
            if not isinstance(strengths, dict) or not set(strengths) <= set(STRENGTHS):
                raise LexiconError(f"{where}.{mech}: keys must be among {list(STRENGTHS)}")
            cues[lang][abbr], patterns[lang][abbr] = {}, {}
            for strength in STRENGTHS:
                listed = strengths.get(strength) or []
                if not isinstance(listed, list):
                    raise LexiconError(f"{where}.{mech}.{strength}: expected a list of regexes")
                folded: list[str] = []
                for i, cue in enumerate(listed):
                    if not isinstance(cue, str) or not cue.strip():
                        raise LexiconError(f"{where}.{mech}.{strength}[{i}]: not a regex: {cue!r}")
                    try:  # compiled alone first so an error names the offending cue
                        re.compile(_fold_cue(cue), re.IGNORECASE)
                    except re.error as err:
                        raise LexiconError(
                            f"{where}.{mech}.{strength}[{i}]: {err}: {cue}"
                        ) from err
                    folded.append(_fold_cue(cue))
                cues[lang][abbr][strength] = tuple(listed)
                patterns[lang][abbr][strength] = (
                    re.compile("|".join(f"(?:{c})" for c in folded), re.IGNORECASE)
                    if folded
                    else None
                )
    return Lexicon(path=str(path), cues=cues, patterns=patterns)


@lru_cache(maxsize=8)
def _load_cached(resolved: str) -> Lexicon:
    return _compile(Path(resolved))


def load_lexicon(path: str | Path | None = None) -> Lexicon:
    """The compiled lexicon at `path` (default: the YAML beside this module), built once."""
    return _load_cached(str(Path(path or DEFAULT_LEXICON).resolve()))


def mechanism_levels(text: str, language: str) -> dict[str, int]:
    """EPITOME levels {'ER': 0-2, 'IP': 0-2, 'EX': 0-2} of `text` with the default lexicon.

    Raises ValueError when the language has no cues (the scorer turns that into NaN).
    """
    return {abbr: level for abbr, (level, _) in load_lexicon().match(text, language).items()}


class LexiconEmpathyScorer:
    """Scores how much EPITOME-style empathy a reply expresses, from lexical cues only."""

    name = "empathy"
    ratios: dict[str, Ratio] = {}  # the aggregate is the plain mean of `value`
    label, direction = "", "higher"  # a baseline: in the full tables, not the headline

    def __init__(self, lexicon_path: str | None = None, name: str = "empathy_lexicon") -> None:
        self.name = name  # the harness passes the config key, like for every scorer
        self.lexicon = load_lexicon(lexicon_path)

    def score(self, case: Case, reply: Reply) -> Score:
        language = case.reply_language
        if reply.error:
            return self._unscored(case, reply, f"reply failed: {reply.error}")
        if not reply.text.strip():
            return self._unscored(case, reply, "empty reply")
        if not self.lexicon.covers(language):
            return self._unscored(case, reply, f"no empathy cues for language '{language}'")
        found = self.lexicon.match(reply.text, language)
        total = sum(level for level, _ in found.values())
        return Score(
            case_id=case.case_id,
            variant=reply.variant,
            scorer=self.name,
            value=total / _MAX_TOTAL,
            label=" ".join(f"{abbr}{level}" for abbr, (level, _) in found.items()),
            explanation="; ".join(
                f"{abbr}{level}: {_quote(cue)}" if cue else f"{abbr}0: no cue"
                for abbr, (level, cue) in found.items()
            ),
        )

    def _unscored(self, case: Case, reply: Reply, reason: str) -> Score:
        return Score(
            case_id=case.case_id,
            variant=reply.variant,
            scorer=self.name,
            value=math.nan,
            explanation=reason,
        )


def _quote(cue: str) -> str:
    cue = " ".join(cue.split())
    return f'"{cue}"' if len(cue) <= _QUOTE_CHARS else f'"{cue[: _QUOTE_CHARS - 1]}…"'


def lexicon_markdown(path: str | Path | None = None) -> str:
    """The cue listing embedded in docs/empathy_lexicon.md, generated so the two cannot drift apart."""
    lexicon = load_lexicon(path)
    titles = {"ER": "Emotional reactions", "IP": "Interpretations", "EX": "Explorations"}
    lines: list[str] = []
    for lang in lexicon.languages:
        lines += [f"### `{lang}`", ""]
        for abbr, by_strength in lexicon.cues[lang].items():
            for strength in STRENGTHS:
                lines.append(f"**{titles[abbr]} ({abbr}), {strength}**")
                lines.append("")
                lines += [f"- {_code_span(cue)}" for cue in by_strength[strength]] or ["- (none)"]
                lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _code_span(text: str) -> str:
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


if __name__ == "__main__":  # python -m evals.scorers.empathy_lexicon > /tmp/cues.md
    print(lexicon_markdown(), end="")
