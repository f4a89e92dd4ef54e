"""LexiconEmpathyScorer: EPITOME levels (ER, IP, EX) from per-language cues, and the unscorable cases."""

import math
import re
from pathlib import Path

import pytest
import yaml

from evals.errors import UserError
from evals.scorers.empathy_lexicon import (
    DEFAULT_LEXICON,
    MECHANISMS,
    STRENGTHS,
    LexiconEmpathyScorer,
    LexiconError,
    lexicon_markdown,
    load_lexicon,
    mechanism_levels,
)
from evals.types import Case, Conversation, Reference, Reply, Turn

DOC = Path(__file__).resolve().parents[2] / "docs" / "empathy_lexicon.md"
COVERED = {"en", "de", "fr", "nl", "pt", "es"}


def make_case(language: str = "en", agent_language: str | None = None, view: str = "agent") -> Case:
    conv = Conversation(
        conversation_id="c1",
        language=language,
        agent_language=agent_language,
        turns=[Turn(role="customer", text="My parcel never arrived."),
               Turn(role="agent", text="Let me check.")],
        references=[Reference(turn=0, reply="Let me check.")],
    )
    return Case(conv, 0, conv.references[0], view=view)  # type: ignore[arg-type]


def make_reply(text: str, error: str | None = None) -> Reply:
    return Reply(case_id="c1#0", variant="bot", text=text, escalated=False, latency_s=0.1,
                 error=error)


def score(text: str, language: str = "en"):
    return LexiconEmpathyScorer().score(make_case(language), make_reply(text))


# One sentence per (language, mechanism, level) that fires that mechanism only.
SINGLE_MECHANISM = [
    # English
    ("en", "ER", 2, "I'm so sorry to hear that."),
    ("en", "ER", 1, "Sorry, let me check."),
    ("en", "IP", 2, "I understand how frustrating it must be."),
    ("en", "IP", 2, "It sounds like the courier went to the wrong address."),
    ("en", "IP", 1, "I understand."),
    ("en", "IP", 1, "I know how you feel."),  # EPITOME's own example of a weak interpretation
    ("en", "EX", 2, "Could you tell me more about what happened?"),
    ("en", "EX", 2, "How has this affected you?"),
    ("en", "EX", 1, "What happened?"),
    # German
    ("de", "ER", 2, "Es tut mir wirklich leid, das zu hören."),
    ("de", "ER", 1, "Entschuldigung, ich schaue nach."),
    ("de", "IP", 2, "Ich kann Ihren Ärger gut verstehen."),
    ("de", "IP", 2, "Das muss sehr frustrierend für Sie sein."),
    ("de", "IP", 1, "Das kann ich verstehen."),
    ("de", "EX", 2, "Können Sie mir bitte genauer beschreiben, wie es dazu kam?"),
    ("de", "EX", 1, "Was ist passiert?"),
    # French
    ("fr", "ER", 2, "Je suis vraiment désolée d'apprendre cela."),
    ("fr", "ER", 1, "Désolé pour le retard."),
    ("fr", "IP", 2, "Je comprends tout à fait votre frustration."),
    ("fr", "IP", 1, "Je vous comprends."),
    ("fr", "EX", 2, "Pourriez-vous m'en dire un peu plus sur ce problème ?"),
    ("fr", "EX", 1, "Que s'est-il passé ?"),
    # Dutch
    ("nl", "ER", 2, "Het spijt me echt."),
    ("nl", "ER", 1, "Sorry voor het wachten."),
    ("nl", "IP", 2, "Dat moet heel frustrerend zijn."),
    ("nl", "IP", 1, "Dat begrijp ik helemaal."),
    ("nl", "EX", 2, "Kunt u mij meer vertellen over uw ervaring?"),
    ("nl", "EX", 1, "Wat is er gebeurd?"),
    # Portuguese ("sinto muito" alone is the plain apology, hence weak)
    ("pt", "ER", 2, "Lamento muito saber disso."),
    ("pt", "ER", 1, "Sinto muito."),
    ("pt", "IP", 2, "Imagino o quanto isso deve ser chato."),
    ("pt", "IP", 1, "Entendo."),
    ("pt", "EX", 2, "Como você está se sentindo com isso?"),
    ("pt", "EX", 1, "O que aconteceu?"),
    # Spanish
    ("es", "ER", 2, "Lo siento mucho."),
    ("es", "ER", 1, "Disculpe las molestias."),
    ("es", "IP", 2, "Entiendo perfectamente su frustración."),
    ("es", "IP", 1, "Comprendo."),
    ("es", "EX", 2, "¿Podría contarme más sobre lo ocurrido?"),
    ("es", "EX", 1, "¿Qué ha pasado?"),
]


@pytest.mark.parametrize(("lang", "mech", "level", "text"), SINGLE_MECHANISM)
def test_each_mechanism_strong_and_weak(lang: str, mech: str, level: int, text: str) -> None:
    expected = {m: level if m == mech else 0 for m in MECHANISMS.values()}
    assert mechanism_levels(text, lang) == expected
    s = score(text, lang)
    assert s.value == pytest.approx(level / 6)
    assert s.label == " ".join(f"{m}{lv}" for m, lv in expected.items())
    assert f"{mech}{level}: \"" in s.explanation  # the matched cue is quoted


def test_every_covered_language_and_mechanism_has_a_strong_and_weak_example() -> None:
    seen = {(lang, mech, level) for lang, mech, level, _ in SINGLE_MECHANISM}
    assert seen == {(lang, m, lv) for lang in COVERED for m in MECHANISMS.values() for lv in (1, 2)}


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "Your order number is 123."),
     ("en", "Thank you for your patience and understanding. How can I help you today?"),
     ("en", "I don't understand your question."),
     ("en", "If you are worried about security, turn on two-factor authentication."),
     ("en", "It is not difficult: open Settings and click Billing."),
     ("de", "Vielen Dank für Ihr Verständnis. Ihre Bestellnummer ist 123."),
     ("de", "Ich verstehe nicht, was Sie meinen."),
     ("de", "Das ist nicht schlimm, Sie können die Adresse jederzeit ändern."),
     ("fr", "Merci de votre compréhension. Votre numéro de commande est le 123."),
     ("nl", "Wij vragen uw begrip. Het is niet lastig om uw wachtwoord te wijzigen."),
     ("pt", "Não entendo a pergunta. Vale a pena verificar a caixa de spam."),
     ("es", "Me siento feliz de ayudarle. Si está preocupado por la seguridad, active la "
            "verificación.")],
)
def test_unempathetic_polite_negated_or_conditional_text_scores_zero(lang: str, text: str) -> None:
    s = score(text, lang)
    assert (s.value, s.label) == (0.0, "ER0 IP0 EX0")
    assert s.explanation == "ER0: no cue; IP0: no cue; EX0: no cue"


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "I'm so sorry to hear you've been waiting so long. I understand how frustrating that "
            "must be. Could you tell me more about what happened?"),
     ("de", "Es tut mir sehr leid. Ich verstehe Ihre Enttäuschung. Wie geht es Ihnen damit?"),
     ("es", "Lo siento mucho. Debe ser muy frustrante. ¿Cómo le ha afectado esto?")],
)
def test_all_three_strong_scores_one(lang: str, text: str) -> None:
    s = score(text, lang)
    assert (s.value, s.label) == (1.0, "ER2 IP2 EX2")


def test_mixed_levels_give_the_scaled_sum_and_name_the_cues() -> None:
    s = score("Sorry about that. I understand how annoying this is. What happened?")
    assert (s.label, s.value) == ("ER1 IP2 EX1", pytest.approx(4 / 6))
    assert s.explanation == ('ER1: "Sorry"; IP2: "I understand how annoying"; '
                             'EX1: "What happened"')
    assert (s.case_id, s.variant, s.scorer) == ("c1#0", "bot", "empathy_lexicon")


def test_values_stay_in_range_and_on_the_sixths_grid() -> None:
    texts = [text for *_, text in SINGLE_MECHANISM] + [
        "Sorry! I understand. What happened? " * 3, "ok", "I'm so sorry, I can only imagine. "
        "Could you walk me through it?"]
    for text in texts:
        value = score(text).value
        assert 0.0 <= value <= 1.0 and (value * 6) == pytest.approx(round(value * 6))


@pytest.mark.parametrize(
    ("reply", "reason"),
    [(make_reply("I'm so sorry.", error="TimeoutError: no answer in 30 s"),
      "reply failed: TimeoutError: no answer in 30 s"),
     (make_reply(""), "empty reply"),
     (make_reply("  \n\t "), "empty reply")],
)
def test_failed_and_empty_replies_are_unscored_with_the_reason(reply: Reply, reason: str) -> None:
    s = LexiconEmpathyScorer().score(make_case(), reply)
    assert math.isnan(s.value) and not s.scored
    assert s.label is None and s.explanation == reason


def test_language_without_cues_is_unscored() -> None:
    s = score("정말 죄송합니다. 많이 답답하셨겠어요.", "ko")
    assert math.isnan(s.value) and s.explanation == "no empathy cues for language 'ko'"
    with pytest.raises(ValueError, match="no empathy cues for language 'ko'"):
        mechanism_levels("정말 죄송합니다.", "ko")


def test_reply_language_follows_the_replayed_view() -> None:
    text = "Es tut mir sehr leid."
    scorer = LexiconEmpathyScorer()
    customer_view = make_case(language="de", agent_language="en", view="customer")
    agent_view = make_case(language="de", agent_language="en", view="agent")
    assert scorer.score(customer_view, make_reply(text)).label == "ER2 IP0 EX0"
    assert scorer.score(agent_view, make_reply(text)).label == "ER0 IP0 EX0"  # read as English


def test_regional_codes_accents_apostrophes_and_spaces_are_normalised() -> None:
    assert mechanism_levels("Sinto muito em saber disso.", "pt-BR")["ER"] == 2
    assert mechanism_levels("I’m so sorry, it’s so frustrating.", "en_GB") == {"ER": 2, "IP": 2,
                                                                             "EX": 0}
    assert mechanism_levels("Desole, je comprends", "fr") == {"ER": 1, "IP": 1, "EX": 0}
    assert mechanism_levels("Tout va bien\u202f?", "FR")["EX"] == 1
    decomposed = "Je suis vraiment de\u0301sole\u0301e."  # combining accents, as some apps send
    s = score(decomposed, "fr")
    assert s.label == "ER2 IP0 EX0" and '"vraiment désolée"' in s.explanation


def test_lexicon_yaml_loads_and_every_cue_compiles_for_every_language() -> None:
    raw = yaml.safe_load(DEFAULT_LEXICON.read_text(encoding="utf-8"))
    languages = raw["languages"]
    assert COVERED <= set(languages) and "ko" not in languages
    for lang, mechanisms in languages.items():
        assert set(mechanisms) == set(MECHANISMS), lang
        for mech, strengths in mechanisms.items():
            assert set(strengths) == set(STRENGTHS), (lang, mech)
            for strength, cues in strengths.items():
                assert cues and all(isinstance(c, str) and c.strip() for c in cues)
                for cue in cues:
                    re.compile(cue, re.IGNORECASE)  # raises on a broken cue
    compiled = load_lexicon()
    assert set(compiled.languages) == set(languages)
    assert all(p is not None for by in compiled.patterns.values() for s in by.values()
               for p in s.values())
    assert load_lexicon() is compiled  # compiled once, shared by every scorer


def test_custom_lexicon_path_and_config_name(tmp_path: Path) -> None:
    cues = tmp_path / "cues.yaml"
    cues.write_text("languages:\n  it:\n    emotional_reactions:\n"
                    "      strong: ['\\bmi dispiace molto\\b']\n"
                    "      weak: ['\\bmi dispiace\\b']\n", encoding="utf-8")
    scorer = LexiconEmpathyScorer(str(cues), name="empathy_it")  # the harness passes the config key
    s = scorer.score(make_case("it"), make_reply("Mi dispiace molto!"))
    assert (s.scorer, s.label, s.value) == ("empathy_it", "ER2 IP0 EX0", pytest.approx(2 / 6))
    assert math.isnan(scorer.score(make_case("en"), make_reply("So sorry")).value)
    assert LexiconEmpathyScorer().name == "empathy_lexicon"


@pytest.mark.parametrize(
    ("content", "message"),
    [("languages:\n  it:\n    explorations:\n      weak: ['(?:cosa']\n",
      r"languages\.it\.explorations\.weak\[0\]: missing \)"),
     ("languages:\n  it:\n    empathy:\n      weak: ['x']\n", r"languages\.it: mechanisms must"),
     ("languages: [en\n", "not valid YAML"),
     (None, "cannot read it")],
)
def test_a_broken_lexicon_is_a_user_error_naming_the_place(tmp_path: Path, content: str | None,
                                                           message: str) -> None:
    path = tmp_path / "cues.yaml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(LexiconError, match=message) as err:
        LexiconEmpathyScorer(str(path))
    assert isinstance(err.value, UserError) and str(path) in str(err.value)


def test_docs_list_exactly_the_cues_in_the_yaml() -> None:
    doc = DOC.read_text(encoding="utf-8")
    begin, end = "<!-- cues:begin -->\n", "<!-- cues:end -->"
    generated = doc[doc.index(begin) + len(begin): doc.index(end)].strip("\n") + "\n"
    assert generated == lexicon_markdown(), (
        "docs/empathy_lexicon.md is out of date: regenerate the cue listing with "
        "`.venv/bin/python -m evals.scorers.empathy_lexicon`")
