"""The hand-off detector: real agent lines from wmt24_chat (quoted verbatim), the five kinds, languages,
the customer side, and a regression floor on the labelled suite's test split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.handoff import DEFAULT_PATTERNS, SUPPORTED_LANGUAGES, HandoffDetector, answers_offer, asks_for_human

DETECT = HandoffDetector()

HANDOFFS = [
    "I will escalate your case to our refunds department to process your refund, please wait to be "
    "contacted by our refunds team shortly for updates and confirmation of the refund.",
    "I need to escalate this refund request to our specialist team.",
    "As I can see your case has already been escalated to our team for investigation.",
    "I am escalating again for you in best possible way.",
    "In order to assist you further on this I need to forward your case for further investigation "
    "to our TOS team.",
    "I would like to inform that I am forwarding your case to TOS team.",
    "Hello, The previous agent is ready to receive your chat again, I will transfer you to them "
    "shortly.",
    "I have successfully transferred your case to Terms of Service team and please be assured that "
    "the team will get back to you after reviewing your account.",
    "Thank you, I will pass your information over to the team and they will contact you to speak "
    "about this by phone.",
    "Okay, I am going to pass the details to a colleague who will give you a call",
    "Please rest assured that our dedicated team will contact you via email as soon as possible.",
    "My colleague will contact you and update you",
    "One of our Dutch speaking agents will call you as soon as we can, thanks a lot for your "
    "patience",
    "No it will not be me that calls, I will arrange a call back from another agent",
    "I am sending your dispute to our Terms of Service team.",
    "I will go ahead and create a case right away to the relevant department.",
    "I will redirect this ticket to our refund department so they can process the refund to your "
    "payment method and once the refund is processed, they will send you a confirmation email.",
    "I need to raise a query with our Mainland Europe logistics team to find out what is happening "
    "to your order.",
    "My manager is ready to take your chat",
]

NOT_HANDOFFS = [
    "Re-download the file and transfer it to your eReader.",
    "Transfer the eBook from #PRS_ORG# to your #PRS_ORG#.",
    "I understand that you have sold 38 players on Transfer market and you have not received coins "
    "for them.",
    "Hello there, I understand you are unable to transfer your PRS-ORG points to PRS-ORG.",
    "I can transfer your book to your main account.",
    "We will be looking forward to hear from you.",
    "You can expect this refund to arrive in 5-7 days depending on your bank/carrier, and you "
    "won't be charged again moving forward.",
    "I am going to forward you these steps through email after this chat session is completed.",
    "Without more details I can not contact the courier, are you able to forward the "
    "email?",
    "Please accept my apologies, we cannot escalate it again in this case as it has been rejected "
    "thrice.",
    "Yeah If there was a suspicious activity I could have escalated  the case",
    "I will take it as feedback and pass it on to the relevant department.",
    "If you are still facing the same gameplay issue, I will request you to please report this "
    "issue to the game team through the below link",
    "The issue that you are facing has already been reported to our team via many players and our "
    "team is working  with our maximum capabilities to get this issue fixed.",
    "Our dedicated teams are working hard on the issue to fix it at earliest.",
    "I have arranged a collection with the courier #PRS_ORG# and they will contact you directly to "
    "book in a collection date.",
    "I have spoken to a manager",
    "Please feel free to reach out to us again if you face any issue and we would be more than "
    "glad to help you out!",
    "Thank you for getting in touch about this, I will certainly try my best to help you.",
    "Enter your #PRS_ORG# password.",
]


@pytest.mark.parametrize("text", HANDOFFS)
def test_detects_real_handoffs(text: str) -> None:
    phrase = DETECT.match(text)
    assert phrase is not None and phrase in text
    assert DETECT(text)


@pytest.mark.parametrize("text", NOT_HANDOFFS)
def test_ignores_other_uses_of_the_words(text: str) -> None:
    assert DETECT.match(text) is None
    assert not DETECT(text)


def test_returns_the_earliest_phrase() -> None:
    text = "My colleague will contact you. I have escalated your case to the concerned team."
    assert DETECT.match(text) == "My colleague will contact you"


def test_custom_patterns_replace_the_defaults() -> None:
    detector = HandoffDetector(patterns=(r"\bhuman\b",))
    assert detector("let me get a human")
    assert not detector("I will escalate your case to our team")
    assert HandoffDetector().patterns == DEFAULT_PATTERNS


def test_cached_readings_stay_with_their_detector() -> None:
    """Readings are cached per detector: a text read by one pattern list is read afresh by another."""
    text = "I will escalate your case to our team"
    default, custom = HandoffDetector(), HandoffDetector(patterns=(r"\bhuman\b",))
    for _ in range(2):  # the second round reads from the cache
        assert default.classify(text).kind == "handoff"
        assert custom.classify(text).kind == "none"


def test_every_default_pattern_compiles_case_insensitively() -> None:
    assert DETECT("I WILL ESCALATE YOUR CASE TO OUR TEAM")
    assert all(isinstance(p, str) and p for p in DEFAULT_PATTERNS)


# ----------------------------------------------------------------------------- kinds (classify)

KINDS = {
    "handoff": [
        "I'm transferring you now.",
        "I've escalated your case to our billing team.",
        "A colleague will call you within the hour.",
        "Please let me transfer you to one of our agents who will be able to address your concerns in detail.",
    ],
    "offer": [
        "Would you like me to transfer you to a human agent?",
        "Would you like me to connect you with an agent?",
        "I can transfer you to a specialist if you want.",
        "Shall I escalate this?",
        "Do you want to speak to a human?",
        "However, I can raise a dispute on this sanction on your behalf.",  # wmt24_chat, capability = offer
        "Would you like me to escalate the case for you?",  # wmt24_chat train/en-ko.csv
    ],
    "redirect": [
        "Please call our hotline at 0800 123 456.",
        "Contact customer service at support@example.com for this request.",
        "You can reach our support team by email.",
        "Please visit our help centre to submit a claim.",
        "I would request you to please contact PSN support.",  # wmt24_chat train/en-nl.csv
    ],
    "refusal": [
        "I can't transfer you to another agent.",
        "I don't have the ability to make exceptions or escalate this",  # negation at a distance
        "There is no way for me to connect you to a person.",
        "Unfortunately escalation is not possible.",
        "Please accept my apologies, we cannot escalate it again in this case as it has been rejected thrice.",
    ],
    "none": [
        "Transfer the eBook to your device using the USB cable.",
        "Our team will guide you through the steps.",
        "Don't worry, I will check this for you right away.",
        "If you have any other questions, please contact us again.",
        "We do not have any option to transfer or merge progress.",
    ],
}


@pytest.mark.parametrize(("kind", "text"), [(k, t) for k, texts in KINDS.items() for t in texts])
def test_classify_tells_the_kinds_apart(kind: str, text: str) -> None:
    reading = DETECT.classify(text, "en")
    assert reading.kind == kind, reading
    assert reading.escalated is (kind == "handoff")
    assert DETECT(text) is (kind == "handoff")
    assert DETECT.read(text)[0] is (kind == "handoff")
    if kind != "none":
        assert reading.phrase and reading.phrase in text


def test_an_offer_the_customer_can_decline_is_not_a_match() -> None:
    assert DETECT.match("Would you like me to transfer you to a human agent?") is None


def test_negation_in_an_earlier_clause_does_not_refuse() -> None:
    text = "We do not have any option to directly contact to that team, I have escalated your case so do not worry."
    assert DETECT.classify(text).kind == "handoff"
    assert DETECT.classify("Do not worry, I will get this case escalated to my team").kind == "handoff"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("I'm sorry, I can't transfer you. Please call our hotline at 0800 123 456.", "redirect"),
        ("I can't escalate this. Would you like me to arrange a call back instead?", "offer"),
        ("Shall I escalate this? Actually, I have escalated your case to our billing team already.", "handoff"),
        ("I cannot escalate it again. Our TOS team will review your case and contact you.", "handoff"),
    ],
)
def test_precedence_across_sentences(text: str, kind: str) -> None:
    assert DETECT.classify(text).kind == kind


@pytest.mark.parametrize(
    ("language", "kind", "text"),
    [
        ("de", "handoff", "Ich habe den Fall erfolgreich an unser engagiertes Team weitergeleitet."),
        ("de", "offer", "Möchten Sie, dass ich einen Anruf für Sie arrangiere?"),
        ("de", "refusal", "Ich kann Sie leider nicht an einen Kollegen weiterleiten."),
        ("de", "redirect", "Bitte rufen Sie unsere Hotline unter 0800 123 456 an."),
        ("de", "none", "Übertragen Sie das eBook auf Ihren eReader."),
        ("fr", "handoff", "Je transmettrai votre requête à l'équipe concernée."),
        ("fr", "offer", "Voulez-vous que je vous mette en relation avec un conseiller ?"),
        ("fr", "refusal", "Je ne peux malheureusement pas vous transférer à un autre agent."),
        ("fr", "redirect", "Veuillez appeler notre service client au 01 23 45 67 89."),
        ("fr", "none", "Ne vous inquiétez pas, je vérifie cela tout de suite."),
        ("pt", "handoff", "Encaminharei seu caso para um departamento diferente."),
        ("pt", "offer", "Quer que eu encaminhe seu caso para a equipe responsável?"),
        ("pt", "refusal", "Infelizmente não consigo transferir você para outro atendente."),
        ("pt", "redirect", "Você deve entrar em contato com o revendedor onde comprou o código."),
        ("pt", "none", "Não se preocupe, vou verificar isso agora mesmo."),
        ("nl", "handoff", "Ik zal uw terugbetalingsverzoek doorsturen naar ons team."),
        ("nl", "offer", "Wilt u dat ik u doorverbind met een medewerker?"),
        ("nl", "refusal", "Helaas kan ik uw zaak niet escaleren."),
        ("nl", "redirect", "U moet contact opnemen met de winkel waar u de code hebt gekocht."),
        ("nl", "none", "Zet het e-book over naar uw e-reader."),
    ],
)
def test_each_language(language: str, kind: str, text: str) -> None:
    assert DETECT.classify(text, language).kind == kind
    assert DETECT.classify(text).kind == kind  # None tries every supported language


def test_language_selects_the_phrase_set() -> None:
    german = "Ich werde Ihren Fall an unser Team weiterleiten."
    assert DETECT.classify(german, "en").kind == "none"
    assert DETECT.classify(german, "de-DE").kind == "handoff"
    assert DETECT.classify("Encaminharei seu caso para a equipe.", "pt-BR").kind == "handoff"


def test_korean_is_unsupported_and_says_so() -> None:
    reading = DETECT.classify("고객님의 사례를 에스컬레이션 하겠습니다.", "ko")
    assert reading.kind == "none" and "ko" in reading.note and "supported" in reading.note
    assert "ko" not in SUPPORTED_LANGUAGES
    assert DETECT.classify("I will escalate your case.", "en").note == ""


# ---------------------------------------------------------------------------- customer side

@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("can I talk to a real person?", "en"),
        ("I want to speak to a human please", "en"),
        ("Please transfer me to your manager", "en"),
        ("ich möchte mit einem Mitarbeiter sprechen", "de"),
        ("je veux parler à un conseiller", "fr"),
        ("quero falar com um atendente", "pt"),
        ("ik wil met een medewerker spreken", "nl"),
    ],
)
def test_customer_asks_for_a_human(text: str, language: str) -> None:
    for lang in (language, None):
        words = asks_for_human(text, lang)
        assert words is not None and words in text


@pytest.mark.parametrize(
    "text",
    [
        "I don't want to talk to a human, just tell me the refund status",
        "Where is my order?",
        "Ich warte auf mein Paket",
    ],
)
def test_customer_not_asking_for_a_human(text: str) -> None:
    assert asks_for_human(text) is None


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("yes please", True), ("Sure, go ahead", True), ("ja bitte", True), ("oui", True), ("sim, por favor", True),
        ("graag", True), ("no thanks", False), ("no, I'll wait", False), ("nein danke", False),
        ("non merci", False), ("não, obrigado", False), ("nee dank je", False),
        ("what is the refund status?", None), ("my order number is 1234", None),
    ],
)
def test_customer_answers_an_offer(text: str, answer: bool | None) -> None:
    assert answers_offer(text) is answer


def test_no_problem_is_not_a_decline() -> None:
    assert answers_offer("Yes, no problem") is True


# ------------------------------------------------------------------- the labelled phrase suite

SUITE = Path(__file__).parent / "data" / "handoff_phrases.jsonl"
# Floors a little under what bench/handoff.py measured on the test split (see docs/handoff.md):
# a regression guard, not the result.
TEST_SPLIT_F1_FLOOR = {"handoff": 0.88, "offer": 0.84, "redirect": 0.80, "refusal": 0.85, "none": 0.82}


def _suite() -> list[dict[str, str]]:
    return [json.loads(line) for line in SUITE.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_suite_is_well_formed() -> None:
    items = _suite()
    assert len(items) >= 200
    for i, item in enumerate(items, start=1):
        assert set(item) == {"text", "language", "kind", "split", "source", "labelled_by"}, i
        assert item["kind"] in TEST_SPLIT_F1_FLOOR and item["split"] in {"dev", "test"}, i
        assert item["labelled_by"] == "reading" and item["language"] in SUPPORTED_LANGUAGES, i
    for kind in TEST_SPLIT_F1_FLOOR:
        assert sum(it["kind"] == kind for it in items) >= 40, kind


def test_test_split_f1_stays_above_the_floor() -> None:
    test = [it for it in _suite() if it["split"] == "test"]
    pred = [DETECT.classify(it["text"], it["language"]).kind for it in test]
    for kind, floor in TEST_SPLIT_F1_FLOOR.items():
        tp = sum(it["kind"] == kind and p == kind for it, p in zip(test, pred))
        n_pred, n_gold = sum(p == kind for p in pred), sum(it["kind"] == kind for it in test)
        f1 = 2 * tp / (n_pred + n_gold)
        assert f1 >= floor, f"{kind}: F1 {f1:.3f} < {floor}"
