"""What the customer's turn expresses: angry, anxious, upset or neutral, from cue phrases.

Empathy is only half a property of the reply: a flat answer to "what are your opening hours?" is
fine, the same answer to "this is the third time my card is blocked, I'm desperate" is not. The
empathy scorer reports the customer's emotion beside each reply so a reviewer sees "customer upset,
reply flat". The cues (customer_emotion.yaml) are hand-written and not validated against human
labels; they never change the empathy value itself.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml

from evals.errors import UserError, yaml_problem

Emotion = Literal["angry", "anxious", "upset", "neutral"]
DISTRESSED: tuple[Emotion, ...] = ("angry", "anxious", "upset")  # in order of precedence
CUES_PATH = Path(__file__).with_name("customer_emotion.yaml")


@dataclass(frozen=True)
class CustomerEmotion:
    emotion: Emotion
    cue: str | None = None  # the words that showed it

    @property
    def distressed(self) -> bool:
        return self.emotion != "neutral"


@lru_cache(maxsize=4)
def _cues(path: str) -> dict[str, dict[str, re.Pattern[str]]]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        languages = data["languages"]
        return {lang: {emotion: re.compile("|".join(f"(?:{c})" for c in cues), re.IGNORECASE)
                       for emotion, cues in by_emotion.items() if emotion in DISTRESSED}
                for lang, by_emotion in languages.items()}
    except yaml.YAMLError as err:
        raise UserError(f"customer emotion cues {path}: not valid YAML ({yaml_problem(err)})") from err
    except (OSError, KeyError, TypeError, AttributeError, re.error) as err:
        raise UserError(f"customer emotion cues {path}: unreadable ({err})") from err


def supported_languages(path: Path = CUES_PATH) -> tuple[str, ...]:
    return tuple(_cues(str(path)))


def detect_emotion(text: str, language: str, path: Path = CUES_PATH) -> CustomerEmotion:
    """The strongest emotion cued in `text` (angry > anxious > upset), else neutral.

    Languages without cues fall back to the English ones (customers often write English) and then
    to neutral, which the explanation never presents as a finding of calm.
    """
    cues = _cues(str(path))
    text = unicodedata.normalize("NFC", text)
    for lang in dict.fromkeys((language.split("-")[0].lower(), "en")):
        for emotion in DISTRESSED:
            pattern = cues.get(lang, {}).get(emotion)
            hit = pattern.search(text) if pattern is not None else None
            if hit:
                return CustomerEmotion(emotion, hit.group(0))
    return CustomerEmotion("neutral")
