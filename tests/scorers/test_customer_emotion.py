import pytest

from evals.scorers.customer_emotion import detect_emotion, supported_languages


@pytest.mark.parametrize("text, language, emotion", [
    ("This is ridiculous, I want my money back", "en", "angry"),
    ("I'm really worried, I need the card urgently", "en", "anxious"),
    ("I'm so disappointed, still no answer", "en", "upset"),
    ("What are your opening hours?", "en", "neutral"),
    ("Das ist eine Frechheit!", "de", "angry"),
    ("Je suis inquiète pour ma commande", "fr", "anxious"),
    ("Estou muito decepcionada com o serviço", "pt", "upset"),
    ("Ik ben teleurgesteld", "nl", "upset"),
    ("This is unacceptable", "ko", "angry"),  # a language without cues falls back to English cues
])
def test_detects_the_strongest_emotion(text: str, language: str, emotion: str) -> None:
    found = detect_emotion(text, language)
    assert found.emotion == emotion
    assert (found.cue is None) == (emotion == "neutral")


def test_covers_the_languages_the_empathy_scorer_supports() -> None:
    assert set(supported_languages()) >= {"en", "de", "fr", "nl", "pt", "es", "it"}
