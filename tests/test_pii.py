"""PII redaction: what is replaced, what must stay, and when redaction is on."""

from __future__ import annotations

import pytest

from evals.errors import UserError
from evals.pii import KINDS, PiiRedactor, Redaction, should_redact


@pytest.fixture(scope="module")
def redactor() -> PiiRedactor:
    return PiiRedactor()


# (message, expected text, expected counts)
REDACTED = [
    pytest.param(
        "Hi, please send the label to jan.0612345678@example.co.uk or call me on "
        "+44 20 7946 0958 (or 020 7946 0958 after 6pm).",
        "Hi, please send the label to [EMAIL] or call me on [PHONE] (or [PHONE] after 6pm).",
        {"email": 1, "phone": 2},
        id="en-email-with-digits-and-uk-phones",
    ),
    pytest.param(
        "You can reach me at (415) 555-2671 or 415-555-2671, my mobile is 4155552671.",
        "You can reach me at [PHONE] or [PHONE], my mobile is [PHONE].",
        {"phone": 3},
        id="en-us-phones",
    ),
    pytest.param(
        "Hallo, bitte rufen Sie mich unter 030 12345678 oder 0049 30 12345678 zurück, "
        "Handy +49 (0)151 23456789. Meine Mail: jürgen.müller@beispiel.de",
        "Hallo, bitte rufen Sie mich unter [PHONE] oder [PHONE] zurück, "
        "Handy [PHONE]. Meine Mail: [EMAIL]",
        {"email": 1, "phone": 3},
        id="de-phones-and-umlaut-email",
    ),
    pytest.param(
        "Bonjour, vous pouvez me joindre au 06 12 34 56 78 ou au 06.12.34.56.78, "
        "sinon au +33 1 23 45 67 89. Mon RIB : FR14 2004 1010 0505 0001 3M02 606.",
        "Bonjour, vous pouvez me joindre au [PHONE] ou au [PHONE], "
        "sinon au [PHONE]. Mon RIB : [IBAN].",
        {"iban": 1, "phone": 3},
        id="fr-phones-and-iban",
    ),
    pytest.param(
        "Goedemiddag, bel me op 06-12345678 of 0612345678, of kantoor +31 20 123 4567. "
        "Terugstorten graag op NL91ABNA0417164300.",
        "Goedemiddag, bel me op [PHONE] of [PHONE], of kantoor [PHONE]. "
        "Terugstorten graag op [IBAN].",
        {"iban": 1, "phone": 3},
        id="nl-phones-and-compact-iban",
    ),
    pytest.param(
        "Olá, liguem-me para o 912 345 678 ou +351 912 345 678 (telemóvel 912345678). "
        "O reembolso pode ir para PT50 0002 0123 1234 5678 9015 4, "
        "email joão.silva@exemplo.pt. No Brasil: +55 11 91234-5678.",
        "Olá, liguem-me para o [PHONE] ou [PHONE] (telemóvel [PHONE]). "
        "O reembolso pode ir para [IBAN], "
        "email [EMAIL]. No Brasil: [PHONE].",
        {"email": 1, "iban": 1, "phone": 4},
        id="pt-phones-iban-email",
    ),
    pytest.param(
        "I paid with my Visa 4111 1111 1111 1111 and then 4012-8888-8888-1881, "
        "my Mastercard is 5555 5555 5555 4444 (new one 2223003122003222) "
        "and the Amex 3782 822463 10005.",
        "I paid with my Visa [CARD] and then [CARD], "
        "my Mastercard is [CARD] (new one [CARD]) "
        "and the Amex [CARD].",
        {"card": 5},
        id="en-cards-with-spaces-and-dashes",
    ),
    pytest.param(
        "Bitte auf DE89 3704 0044 0532 0130 00 überweisen, nicht auf GB29 NWBK 6016 1331 9268 19 "
        "EUR, danke.",
        "Bitte auf [IBAN] überweisen, nicht auf [IBAN] "
        "EUR, danke.",
        {"iban": 2},
        id="de-ibans-followed-by-words",
    ),
    pytest.param(
        "ibans: de89370400440532013000 and DE89 3704 0044 0532 0130 00 NL91 ABNA 0417 1643 00.",
        "ibans: [IBAN] and [IBAN] [IBAN].",
        {"iban": 3},
        id="lowercase-and-adjacent-ibans",
    ),
]


@pytest.mark.parametrize(("text", "expected", "counts"), REDACTED)
def test_redacts_pii(
    redactor: PiiRedactor, text: str, expected: str, counts: dict[str, int]
) -> None:
    result = redactor.redact(text)
    assert result == Redaction(expected, counts)


KEPT = [
    pytest.param(
        "My order 4829 1038 5521 9907 (also written 4829103855219907) hasn't arrived.",
        id="en-luhn-invalid-16-digit-order-number",
    ),
    pytest.param(
        "Bestellung 482910385521 vom 03.04.2024 um 14:30 Uhr, Betrag 1.299,00 €, "
        "Rechnung 12345678, Kundennummer 4829 1038 5521.",
        id="de-order-date-time-price",
    ),
    pytest.param(
        "Commande n° 123456789 du 31/12/2023 à 9h00, montant 1 299 000 EUR ou 12.499.000,00 €, "
        "livraison entre 9h00-18h00, remise de 20 %.",
        id="fr-order-date-time-prices",
    ),
    pytest.param(
        "Bestelling 20240403-7781 is op 2024-04-03 om 10:30-12:00 verzonden, € 129,95, "
        "ref #0612345678, https://shop.example.nl/orders/0612345678",
        id="nl-order-date-time-ref-url",
    ),
    pytest.param(
        "A encomenda 912345678 de 3.4.2024 14:30 custou R$ 1.299.000; período 2019-2024.",
        id="pt-bare-order-number-date-amount-years",
    ),
    pytest.param(
        "Wrong IBAN on the form: DE88 3704 0044 0532 0130 00, and the tracking is "
        "1Z999AA10123456784, server 192.168.100.200, app v2.14.3.",
        id="en-wrong-iban-check-digits-tracking-ip-version",
    ),
    pytest.param("No digits here, just a complaint about the zipper.", id="no-pii"),
]


@pytest.mark.parametrize("text", KEPT)
def test_keeps_non_pii(redactor: PiiRedactor, text: str) -> None:
    assert redactor.redact(text) == Redaction(text, {})


def test_iban_runs_before_phone() -> None:
    # The tail of a Dutch IBAN is on its own a valid Dutch phone number.
    text = "Rekening NL91 ABNA 0417 1643 00 graag."
    assert PiiRedactor(kinds=("phone",)).redact(text).text == "Rekening NL91 ABNA [PHONE] graag."
    assert PiiRedactor().redact(text) == Redaction("Rekening [IBAN] graag.", {"iban": 1})


def test_card_runs_before_phone() -> None:
    # A Luhn-valid 13-digit run that is also a valid German number is counted as a card, whole.
    text = "Nummer 0301 2345 6700 8."
    assert PiiRedactor(kinds=("phone",)).redact(text).counts == {"phone": 1}
    assert PiiRedactor().redact(text) == Redaction("Nummer [CARD].", {"card": 1})
    # The given order of kinds does not change the detection order.
    assert PiiRedactor(kinds=("phone", "card")).redact(text).counts == {"card": 1}


def test_email_runs_first() -> None:
    text = "jan.0612345678@example.nl / 4111111111111111@cards.example.com"
    assert PiiRedactor().redact(text) == Redaction("[EMAIL] / [EMAIL]", {"email": 2})


def test_only_chosen_kinds(redactor: PiiRedactor) -> None:
    text = "Mail a@b.de, call 0612345678, card 4111 1111 1111 1111, DE89370400440532013000."
    assert PiiRedactor(kinds=("email", "iban")).redact(text) == Redaction(
        "Mail [EMAIL], call 0612345678, card 4111 1111 1111 1111, [IBAN].",
        {"email": 1, "iban": 1},
    )
    assert redactor.redact(text).counts == {"email": 1, "phone": 1, "card": 1, "iban": 1}
    assert PiiRedactor(kinds=()).redact(text).text == text


def test_result_holds_no_redacted_value(redactor: PiiRedactor) -> None:
    result = redactor.redact("card 4111 1111 1111 1111, phone +44 20 7946 0958, x@y.org")
    assert not any(secret in repr(result) for secret in ("4111", "7946", "x@y.org"))


def test_bare_number_needs_a_phone_word(redactor: PiiRedactor) -> None:
    assert redactor.redact("order 4155552671").counts == {}
    assert redactor.redact("call me: 4155552671").counts == {"phone": 1}


def test_unknown_kind_is_named() -> None:
    with pytest.raises(UserError, match="'ssn'"):
        PiiRedactor(kinds=("email", "ssn"))
    assert set(KINDS) == {"email", "card", "iban", "phone"}


def test_unknown_region_is_named() -> None:
    with pytest.raises(UserError, match="'XX'"):
        PiiRedactor(regions=("DE", "XX"))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000/v1", False),
        ("http://localhost/", False),
        ("http://LOCALHOST:8080", False),
        ("http://[::1]:9/", False),
        ("http://127.8.9.10/v1", False),
        ("https://api.openai.com/v1", True),
        ("http://localhost.example.com/", True),
        ("http://10.0.0.5:8000/v1", True),
        ("not a url", True),
    ],
)
def test_should_redact_auto(url: str, expected: bool) -> None:
    assert should_redact("auto", url) is expected


def test_should_redact_forced() -> None:
    assert should_redact(True, "http://127.0.0.1:8000/v1") is True
    assert should_redact(False, "https://api.openai.com/v1") is False


@pytest.mark.parametrize("setting", ["on", "yes", "AUTO", ""])
def test_should_redact_rejects_other_settings(setting: str) -> None:
    with pytest.raises(UserError, match="auto"):
        should_redact(setting, "http://localhost/")
