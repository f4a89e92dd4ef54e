"""PII redaction for customer text before it is sent to a bot endpoint off this machine.

Four kinds are found and replaced by a placeholder; only per-kind counts are reported, never the
values themselves (nothing here logs).

Detection order is fixed, whatever order `kinds` is given in: email, iban, card, phone. Each pass
runs on the output of the previous one, and a placeholder contains no digit, so a later pattern can
never match part of an earlier finding:

* email first: local parts and domains may hold digit runs (``jan.0612345678@...``).
* iban before card and phone: an IBAN's account part is a long digit run; a Dutch IBAN's
  ``0417 1643 00`` tail is on its own a valid Dutch phone number.
* card before phone: a 13-15 digit card number is inside the phone length range (7-15 digits).

Trade-offs (false positives damage the bot's input, false negatives leak data):

* Cards: any 13-19 digit run (single spaces or dashes allowed) that passes Luhn. No issuer-prefix
  check, so about 1 in 10 long order/tracking numbers of that length passes Luhn by chance and is
  redacted as a card; Luhn-invalid runs are always left alone.
* IBANs: registered country code, that country's exact length and ISO 7064 mod-97 = 1; compact
  or grouped by single spaces, any case. A random string passing all three is ~1 in 97 of those
  already shaped like an IBAN, so false positives are negligible; typos make IBANs stay.
* Phones: a digit run (single space, dot, dash or slash between groups; "(0)" and "(area)" groups)
  of 7-15 digits is a candidate, validated with Google's libphonenumber metadata
  (``phonenumbers``):
  - ``+`` / ``00`` prefixed: redacted if valid for its own country (any country).
  - starting with a trunk ``0`` (or a parenthesised area code): valid in any configured region.
  - anything else is only tried in configured regions that have no ``0`` trunk prefix (US/CA, PT,
    ES, IT): in ``0``-trunk countries such a string is at best a local number without its area
    code, and German/Austrian metadata accept almost any digit string of that shape, which would
    eat order numbers. Written as one bare run (``4155552671``, ``912345678``), it must also follow
    a phone word (tel, phone, Handy, portable, bel, telemóvel ...) within 30 characters, because
    order numbers look exactly like that; so a bare US/PT number with no such word stays
    (false negative), and a formatted ``912 345 678`` order number would be redacted.
  - never a phone: a run glued to letters, ``#``, ``/``, a currency sign or code, or ``%``; the
    head or tail of a longer number (so a 16-digit order number is never cut into a "phone");
    a run followed by ``:digit`` (a time); a run that is a date (``03.04.2024``, ``2024-04-03``).
  Phone numbers typed with letters, with two separators in a row, or run into another number are
  missed.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import phonenumbers

from evals.errors import UserError

KINDS = ("email", "card", "iban", "phone")
_ORDER = ("email", "iban", "card", "phone")  # see the module docstring for why
PLACEHOLDERS = {kind: f"[{kind.upper()}]" for kind in KINDS}

# Where the customers of the evaluated data sets call from: UK/IE, North America, the German,
# French, Dutch and Portuguese speaking countries, Spain and Italy. Order matters only for speed.
# Not LU: its variable-length numbers without a trunk prefix make almost any 6-11 digit string
# "valid" (even "2019-2024"); +352 numbers are still found through the international path.
DEFAULT_REGIONS = ("GB", "US", "DE", "FR", "NL", "BE", "PT", "BR", "AT", "CH", "ES", "IT", "IE",
                   "CA")

# --- email ------------------------------------------------------------------------------------
# Pragmatic, not RFC 5322: \w keeps non-ASCII local parts and domains (josé@exemplo.pt); the
# lookbehind stops the scan from retrying inside a long word (keeps it linear).
_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])")

# --- iban -------------------------------------------------------------------------------------
# IBAN lengths from the SWIFT IBAN registry (ISO 13616), without "aspirational" countries.
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AX": 18, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BI": 27, "BL": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
    "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18,
    "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GF": 27, "GG": 22, "GI": 23, "GL": 18, "GP": 27,
    "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IM": 22, "IQ": 23,
    "IS": 26, "IT": 27, "JE": 22, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21,
    "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MF": 27, "MK": 19,
    "MN": 20, "MQ": 27, "MR": 27, "MT": 31, "MU": 30, "NC": 27, "NI": 28, "NL": 18, "NO": 15,
    "OM": 23, "PF": 27, "PK": 24, "PL": 28, "PM": 27, "PS": 29, "PT": 25, "QA": 29, "RE": 27,
    "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TF": 27, "TL": 23, "TN": 24, "TR": 26, "UA": 29,
    "VA": 22, "VG": 24, "WF": 27, "XK": 20, "YE": 30, "YT": 27,
}
# Only where an IBAN can start; its length is then taken from the country, so "... 00 EUR" or
# "... 00 thanks" after it is not swallowed, and two IBANs in a row are both found.
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}")
_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

# --- card -------------------------------------------------------------------------------------
# 13-19 digits, single space/dash between any two. The lookarounds make the match the whole digit
# run: never the head or tail of a longer number, never glued to a word.
_CARD = re.compile(r"(?<![\w+])(?<![0-9][ -])[0-9](?:[ -]?[0-9]){12,18}(?![ -]?[0-9])(?!\w)")

# --- phone ------------------------------------------------------------------------------------
_SEP = r"(?: ?[/-] ?|[ .])"
_GROUP = r"(?:\([0-9]{1,5}\)|[0-9])"
_PHONE = re.compile(
    # not glued to a word/reference/path, not the tail of a longer number or a time, not an amount
    r"(?<![\w+#/])(?<![0-9][ .,/:-])(?<![€$£])(?<![€$£] )"
    rf"(?:\+ ?)?{_GROUP}(?:{_SEP}?{_GROUP})*"
    r"(?![ .,/-]?[0-9])(?!:[0-9])(?!\w)"  # not the head of a longer number, nor a time
    r"(?! ?(?:[€$£%]|(?:eur|euros?|usd|gbp|chf|brl)\b))",  # nor an amount
    re.IGNORECASE,
)
# A whole date, or a date followed by a time-of-day group: never a phone number.
_DATE = re.compile(
    r"(?:[0-3]?[0-9]([./-])[01]?[0-9]\1(?:[0-9]{4}|[0-9]{2})"  # 03.04.2024, 31/12/23
    r"|[0-9]{4}([./-])[01]?[0-9]\2[0-3]?[0-9])"  # 2024-04-03
    r"(?= |$)"
)
_NON_DIGIT = re.compile(r"[^0-9]")
# Words after which a bare digit run is taken as a phone number (en, de, fr, nl, pt, es, it).
# "number"/"Nummer"/"numéro" are deliberately absent: "order number 4155552671".
_PHONE_CUE = re.compile(
    r"\b(?:tel|phone|telephone|call|ring|mobile|cell|cellphone|whatsapp|sms|"
    r"telefon|telefonnummer|handy|handynummer|mobil|mobilnummer|anrufen|rufen|rückruf|erreichbar|"
    r"téléphone|tél|portable|appel|appelez|appeler|rappeler|joindre|joignable|"
    r"telefoon|telefoonnummer|mobiel|bel|bellen|gsm|"
    r"telefone|telemóvel|telemovel|celular|ligar|ligue|"
    r"teléfono|móvil|llamar|llame|llámame|telefono|cellulare|chiamare|chiami|chiamami)\b",
    re.IGNORECASE,
)
_CUE_WINDOW = 30


@dataclass(frozen=True)
class Redaction:
    text: str
    counts: dict[str, int]  # per kind, only kinds found


class PiiRedactor:
    """Replaces emails, payment cards, IBANs and phone numbers by placeholders."""

    def __init__(
        self, kinds: Sequence[str] = KINDS, regions: Sequence[str] = DEFAULT_REGIONS
    ) -> None:
        if isinstance(kinds, str):
            kinds = (kinds,)
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            raise UserError(
                f"PII redaction: unknown kind {', '.join(map(repr, unknown))}; "
                f"known kinds are {', '.join(KINDS)}"
            )
        if isinstance(regions, str):
            regions = (regions,)
        regions = tuple(r.upper() for r in regions)
        bad = [r for r in regions if r not in phonenumbers.SUPPORTED_REGIONS]
        if bad:
            raise UserError(
                f"PII redaction: unknown phone region {', '.join(map(repr, bad))}; "
                "use ISO 3166-1 alpha-2 codes such as GB, DE, FR, NL, PT, US"
            )
        self.kinds = tuple(k for k in _ORDER if k in kinds)
        self.regions = regions
        # Regions whose national numbers are written without a leading trunk "0" (see docstring).
        self._no_trunk_zero = tuple(
            r for r in regions
            if phonenumbers.PhoneMetadata.metadata_for_region(r).national_prefix != "0"
        )
        passes: dict[str, Callable[[str], tuple[str, int]]] = {
            "email": lambda t: _sub(_EMAIL, t, "[EMAIL]", None),
            "iban": _redact_ibans,
            "card": lambda t: _sub(_CARD, t, "[CARD]", lambda m: _luhn_ok(_digits(m.group()))),
            "phone": lambda t: _sub(_PHONE, t, "[PHONE]", self._is_phone),
        }
        self._passes = [(k, passes[k]) for k in self.kinds]

    def redact(self, text: str) -> Redaction:
        counts: dict[str, int] = {}
        has_digit = any(c.isdigit() for c in text)
        for kind, run in self._passes:
            # Cheap skips: most messages have no "@", and many have no digit at all.
            if (kind == "email" and "@" not in text) or (kind != "email" and not has_digit):
                continue
            text, n = run(text)
            if n:
                counts[kind] = n
        return Redaction(text, counts)

    def _is_phone(self, m: re.Match[str]) -> bool:
        cand = m.group()
        digits = _digits(cand)
        if cand.startswith("+") or cand.startswith("00"):
            national = digits[2:] if cand.startswith("00") else digits
            return 7 <= len(national) <= 15 and _valid("+" + national, None)
        if not 7 <= len(digits) <= 15:
            return False
        if _DATE.match(cand):
            return False
        if cand.startswith(("0", "(")):
            return any(_valid(cand, r) for r in self.regions)
        if cand.isdigit():  # a bare run: only after a phone word
            start = m.start()
            if not _PHONE_CUE.search(m.string, max(0, start - _CUE_WINDOW), start):
                return False
        return any(_valid(cand, r) for r in self._no_trunk_zero)


def should_redact(setting: bool | str, base_url: str) -> bool:
    """Whether to redact text sent to `base_url`: forced by True/False, or "auto".

    "auto" redacts unless the URL's host is loopback (127.0.0.0/8, ::1, localhost); a URL whose
    host cannot be read is treated as remote.
    """
    if isinstance(setting, bool):
        return setting
    if setting != "auto":
        raise UserError(
            f"PII redaction setting {setting!r} is not understood; use true, false or \"auto\""
        )
    try:
        host = urlsplit(base_url).hostname
    except ValueError:
        return True
    if not host:
        return True
    host = host.rstrip(".")
    if host == "localhost":
        return False
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return True  # a DNS name: it may resolve anywhere
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_loopback


# --- helpers ----------------------------------------------------------------------------------


def _sub(
    pattern: re.Pattern[str],
    text: str,
    placeholder: str,
    accept: Callable[[re.Match[str]], bool] | None,
) -> tuple[str, int]:
    count = 0

    def replace(m: re.Match[str]) -> str:
        nonlocal count
        if accept is not None and not accept(m):
            return m.group()
        count += 1
        return placeholder

    return pattern.sub(replace, text), count


def _digits(s: str) -> str:
    return _NON_DIGIT.sub("", s)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _valid(number: str, region: str | None) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number, region))
    except phonenumbers.NumberParseException:
        return False


def _redact_ibans(text: str) -> tuple[str, int]:
    out: list[str] = []
    pos = count = 0
    for m in _IBAN_START.finditer(text):
        if m.start() < pos:  # inside the IBAN just redacted
            continue
        end = _iban_end(text, m.start())
        if end is not None:
            out += (text[pos:m.start()], "[IBAN]")
            pos = end
            count += 1
    if not count:
        return text, 0
    out.append(text[pos:])
    return "".join(out), count


def _iban_end(text: str, start: int) -> int | None:
    """End of a valid IBAN starting at `start` (compact or single-space grouped), else None."""
    length = _IBAN_LENGTHS.get(text[start:start + 2].upper())
    if length is None:
        return None
    chars: list[str] = []
    i, n = start, len(text)
    while i < n and len(chars) < length:
        if text[i] in _ALNUM:
            chars.append(text[i])
        elif not (text[i] == " " and i + 1 < n and text[i + 1] in _ALNUM):
            break
        i += 1
    if len(chars) < length:
        return None
    # The run must end here: not glued to more characters, not followed by another digit group
    # (a mistyped, longer IBAN whose first `length` characters pass by chance).
    if i < n and (text[i] in _ALNUM or (text[i] == " " and text[i + 1:i + 2].isdigit())):
        return None
    iban = "".join(chars).upper()
    if not 2 <= int(iban[2:4]) <= 98:  # check digits 00, 01 and 99 are never issued
        return None
    rearranged = iban[4:] + iban[:4]
    return i if int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1 else None


def redact_texts(redactor: PiiRedactor | None, texts: Sequence[str]) -> tuple[list[str], dict[str, int]]:
    """Redact each text (when a redactor is given) and add up what was found, by kind."""
    if redactor is None:
        return list(texts), {}
    out: list[str] = []
    counts: dict[str, int] = {}
    for text in texts:
        found = redactor.redact(text)
        out.append(found.text)
        for kind, n in found.counts.items():
            counts[kind] = counts.get(kind, 0) + n
    return out, counts
