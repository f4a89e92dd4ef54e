"""Customer side: does a customer turn ask for a person, and does it accept or decline an offered hand-off?"""

from __future__ import annotations

import re

from evals.handoff.detector import language_key

_PERSON_EN = (
    r"(?:human(?: being)?|real person|actual person|person|agent|live agent|representative|rep|operator|manager"
    r"|supervisor|someone|somebody|employee|staff member|customer service)"
)
# Asking for a person, per language.
_ASKS: dict[str, str] = {
    "en": (
        r"\b(?:speak|talk|chat)\s+(?:to|with)\s+(?:a|an|the|your|some|one of your)?\s*(?:real\s+|actual\s+|live\s+)?"
        + _PERSON_EN + r"\b|\b(?:transfer|connect|put)\s+me\s+(?:to|with|through)\b|\bget me\s+(?:a|an)\s+"
        r"(?:real\s+)?(?:human|person|agent|manager|supervisor)\b"
        r"|\bescalate\s+(?:this|it|my (?:case|issue|complaint))\b"
        r"|\b(?:want|need|like)\s+(?:a|an)\s+(?:real\s+)?(?:human|person|manager|supervisor)\b|\bcall me back\b"
        r"|^\W*(?:human|agent|representative|operator)(?:\s+please)?\W*$"
    ),
    "de": (
        r"\b(?:mit|zu)\s+(?:einem|einer|einen|dem|der|Ihrem|Ihrer)?\s*(?:echten\s+|richtigen\s+)?(?:Menschen|Mitarbeiter\w*"
        r"|Person|Berater\w*|Vorgesetzten|Manager|Kundenberater\w*|Ansprechpartner\w*|jemandem)\s+(?:\w+\s+){0,2}?"
        r"(?:sprechen|reden|verbunden|verbinden|chatten)\b|\bverbinden Sie mich\b|\bRückruf\b"
    ),
    "fr": (
        r"\b(?:parler|discuter)\s+(?:à|avec)\s+(?:un|une|le|la|quelqu['’]un)?\s*(?:vrai\s+|vraie\s+)?(?:humain|personne"
        r"|conseill\w*|agent|responsable|opérat\w*|quelqu['’]un|superviseur|interlocut\w*)|\b(?:transférez|passez|mettez)"
        r"[- ]moi\b|\bmettre en relation avec\b"
    ),
    "pt": (
        r"\b(?:falar|conversar)\s+com\s+(?:um|uma|o|a|alguém)?\s*(?:atendente|humano|pessoa|agente|supervisor|gerente"
        r"|alguém|representante)|\bme\s+transfir\w*|\btransferir-me\b"
    ),
    "nl": (
        r"\b(?:spreken|praten|chatten)\s+(?:met|tegen)\s+(?:een|de|iemand)?\s*(?:echte\s+)?(?:mens|medewerker|persoon"
        r"|leidinggevende|manager|iemand)|\bmet\s+(?:een|de)\s+(?:echte\s+)?(?:medewerker|mens|persoon|leidinggevende"
        r"|manager)\s+(?:\w+\s+){0,2}?(?:spreken|praten)\b|\bverbind (?:me|mij) door\b|\bterugbellen\b"
    ),
}
# A negation before the request ("I don't want to talk to a human") cancels it.
_NOT_ASKING = re.compile(
    r"\b(?:don't|do not|no need to|never|nicht|kein\w*|ne|pas|não|niet|geen)\b[^.,;!?]{0,30}$", re.IGNORECASE
)
_ACCEPT: dict[str, str] = {
    "en": r"^\W*(?:yes|yeah|yep|yup|sure|ok(?:ay)?|please do|please|go ahead|that would be great|sounds good"
    r"|alright|of course|absolutely|definitely|fine)\b",
    "de": r"^\W*(?:ja|jawohl|gerne|gern|bitte|klar|okay|ok|einverstanden|machen Sie das)\b",
    "fr": r"^\W*(?:oui|ouais|d['’]accord|ok|volontiers|avec plaisir|je veux bien|allez-y|bien sûr)\b",
    "pt": r"^\W*(?:sim|claro|pode ser|pode sim|por favor|ok|beleza|com certeza|quero)\b",
    "nl": r"^\W*(?:ja|graag|prima|goed|oké|ok|doe maar|alstublieft|alsjeblieft)\b",
}
_DECLINE: dict[str, str] = {
    "en": r"^\W*(?:no|nope|nah|not now|not yet|never ?mind|don't|do not)\b(?!\s+(?:problem|worries))"
    r"|\bno,? thanks?\b|\bno,? thank you\b|\bI(?:'ll| will) wait\b|\bI(?:'m| am) (?:fine|good|ok)\b",
    "de": r"^\W*(?:nein|nee|nö|lieber nicht|bitte nicht|nicht nötig)\b|\bnein,? danke\b",
    "fr": r"^\W*(?:non|pas besoin|pas la peine|ce n['’]est pas la peine)\b|\bnon,? merci\b",
    "pt": r"^\W*(?:não|nao|não precisa)\b|\bnão,? obrigad[oa]\b",
    "nl": r"^\W*(?:nee|neen|liever niet|niet nodig)\b|\bnee,? dank(?:je| je| u)\b",
}


def _compiled(table: dict[str, str], language: str | None) -> list[re.Pattern[str]]:
    key = language_key(language)
    keys = [key] if key is not None else list(table)
    return [re.compile(table[k], re.IGNORECASE) for k in keys if k in table]


def asks_for_human(text: str, language: str | None = None) -> str | None:
    """The words in a customer turn that ask for a person ("can I speak to a human?"), or None.

    `language` picks one language ("de", "fr", "pt", "nl", "en"); None tries all. Negated requests
    ("I don't need to talk to a person") are not requests.
    """
    for pattern in _compiled(_ASKS, language):
        for m in pattern.finditer(text):
            if not _NOT_ASKING.search(text[: m.start()]):
                return m.group(0)
    return None


def answers_offer(text: str, language: str | None = None) -> bool | None:
    """Whether a customer turn accepts (True) or declines (False) an offered hand-off; None: neither.

    Read from how the turn starts ("yes please", "ja bitte", "no thanks", "nein danke", "no, I'll wait");
    a decline is checked first, so "no, please don't" declines.
    """
    if any(p.search(text) for p in _compiled(_DECLINE, language)):
        return False
    if any(p.search(text) for p in _compiled(_ACCEPT, language)):
        return True
    return None
