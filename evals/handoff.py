"""Phrase-based hand-off detector: does a reply pass the customer's case to a person or team?

Why phrases: the WMT24 chat data has no escalation labels, but its human agents say so in words
when they hand a case on ("I will escalate your case to our Terms of Service team", "my colleague
will call you"). The same detector derives the `agent_phrase` labels of the shipped datasets and
reads whether any reply (human or bot) hands off, so labels and predictions use one definition.

The patterns were tuned on the English agent lines of `wmt24_chat` (`{train,valid}/en-*.csv`).
They aim at precision: a hand-off needs a hand-off verb *and* a case/team, so everyday uses such as
"transfer the eBook to your eReader", "the transfer market", "transfer points" or "looking forward
to hearing from you" do not match. A match is dropped when it is negated ("we cannot escalate it
again") or when the customer is the one told to act ("I request you to report this to the game
team"). Feedback relayed to a team ("I will pass your feedback to the team") is not a hand-off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

# What a reply does about a human hand-off (see HandoffDetector.classify).
HandoffKind = Literal["handoff", "offer", "redirect", "refusal", "none"]


@dataclass(frozen=True)
class HandoffReading:
    """How one reply reads: its hand-off kind and the words that decided it."""

    kind: HandoffKind
    phrase: str | None = None

    @property
    def escalated(self) -> bool:
        """Done or promised hand-off; offers and redirects are decided by the scoring policy."""
        return self.kind == "handoff"

# Someone (or a unit) who can take over a case. Word-bounded by the patterns that use it.
_TEAM = (
    r"(?:team|teams|department|departments|dept|colleague|colleagues|specialist|specialists"
    r"|supervisor|supervisors|superiors?|manager|managers|agent|agents|advisor|advisors"
    r"|higher[- ]ups?|higher (?:tier|level|authorities)|next[- ]level(?: of support)?"
    r"|level of support|tier [23]|TOS|Terms of Services?|refunds? area|finance)"
)
# What an agent hands on: the customer's case, not a file, a book or a comment.
_CASE = (
    r"(?:case|cases|issue|request|query|queries|ticket|concern|concerns|complaint|matter|dispute"
    r"|appeal|details|information|situation|problem|question)"
)
# Filler words between the parts of a phrase; never feedback, which is relayed, not handed off.
_W = r"(?:(?!feedback\b|suggestions?\b|comments?\b)[\w'#][\w'#-]*[ ,]+)"

DEFAULT_PATTERNS: tuple[str, ...] = (
    # "I will escalate your case", "escalating this to", "it has been escalated already"
    r"\bescalat(?:e|es|ed|ing)\b[ ,]+(?:(?:it|this|that|the|your|my|our|a)\b[ ,]*)?"
    r"(?:" + _W + r"{0,2})?(?:" + _CASE + r"|to|with|it|this|that)\b",
    r"\b(?:" + _CASE + r"|it|this|that)\s+(?:has|have|had|was|were|is|are|will be|would be|been"
    r"|already|also|successfully|now|just|created and|\s)+escalated\b",
    # "I am escalating again for you", "I have escalated and ...", "it's to escalate so our team"
    r"\b(?:I|we)(?:'ve|'ll|'m| have| will| am| can| had| would| shall)?\s+"
    r"(?:(?!not\b|cannot\b|never\b|unable\b|could\b|would\b|should\b)\w+\s+){0,3}?"
    r"(?:re-?)?escalat(?:e|ed|ing)\b",
    r"\bescalat(?:e|ed|ing) so (?:that )?(?:our|the|my) (?:\w+ )?team\b",
    r"\b(?:complet|process|rais|creat|submitt?)(?:e|es|ed|ing) (?:the|an|this|your) escalation\b",
    # "I have forwarded your issue", "transferring your case", "your request has been forwarded"
    r"\b(?:forward|transferr?)(?:ed|ing)? (?:your|the|this) (?:case|issue|request"
    r"|concern|complaint|ticket|dispute|appeal)\b(?! number)",
    r"\b(?:case|issue|request|concern|complaint|ticket|dispute|appeal|this|it)\s+(?:has|have|was"
    r"|were|is|are|will be|been|already|also|successfully|now|just|\s)+(?:forwarded|transferred"
    r"|passed(?: over| on)?|referred|sent|routed)\s+(?:over\s+)?to\s+(?:them|" + _W + r"{0,4}?"
    + _TEAM + r"\b)",
    r"\bpass(?:ed|ing)? (?:the|your|this) (?:information|details|case|question|query)"
    r" (?:over|on)\b",
    r"\b(?:case|request|issue|concern|complaint|ticket)\s+(?:has|have|was|were|is|are|been|already"
    r"|also|successfully|now|just|\s)+(?:forwarded|transferred)\b",
    r"\bask (?:the|our|my) (?:\w+ ){0,2}?(?:team|department|colleague|manager|supervisor) to\b",
    r"\b(?:have|has|I've) (?:\w+ )?taken your (?:case|issue|concern) to\b",
    # "forward / transfer / pass / send / refer / redirect your case to our team"
    r"\b(?:forward(?:ed|ing)?|transferr?(?:ed|ing)?|pass(?:ed|ing)?|send(?:ing)?|sent"
    r"|refer(?:red|ring)?|redirect(?:ed|ing)?|process(?:ed|ing)?)\s+"
    + _W + r"{0,3}?" + _CASE + r"\b[ ,]+" + _W + r"{0,5}?(?:to|with)\s+" + _W + r"{0,4}?(?:"
    + _TEAM + r"|them|him|her|another \w+)\b",
    # "forward it to the concerned department", "pass this over to our products team"
    r"\b(?:forward(?:ed|ing)?|transferr?(?:ed|ing)?|pass(?:ed|ing)?|send(?:ing)?|sent"
    r"|refer(?:red|ring)?|redirect(?:ed|ing)?|escalat(?:e|ed|ing)|rout(?:e|ed|ing)"
    r"|highlight(?:ed|ing)?)\s+(?!(?:an? |the )?(?:e-?mail|message)\b)"
    + _W + r"{0,4}?(?:over |on |through )?(?:to|with)\s+" + _W + r"{0,4}?" + _TEAM + r"\b",
    # "I will transfer you to ...", "let me transfer you over to"
    r"\btransferr?(?:ed|ing)?\s+you\s+(?:over\s+|back\s+)?to\b",
    # "raise a query with our warehouse team", "I have raised this internally"
    r"\brais(?:e|ed|es|ing)\s+" + _W + r"{0,3}?(?:with|to)\s+" + _W + r"{0,4}?" + _TEAM + r"\b",
    r"\brais(?:e|ed|es|ing)\s+(?:this|it|your \w+)\s+internally\b",
    # ban disputes and appeals go to the Terms of Service team
    r"\b(?:rais(?:e|ed|ing)|submit(?:ted|ting)?|fil(?:e|ed|ing)|creat(?:e|ed|ing)|prepared"
    r"|send(?:ing)?|sent)\s+(?:(?:a|an|the|this|your|new|another|formal)\s+)*"
    r"(?:dispute|appeal)\b",
    r"\bdispute (?:the|this|your) (?:ban|sanction|suspension)",
    # "I am going to create a case on your behalf", "create a case right away to the department"
    r"\bcreat(?:e|ed|ing) (?:a|an|the) (?:new )?case (?:on your behalf|for (?:you|the|this))",
    r"\bcreat(?:e|ed|ing) (?:a|an|the) (?:new )?case\b[ ,]+" + _W + r"{0,3}?to (?:the|our|a)\s+"
    + _W + r"{0,3}?" + _TEAM + r"\b",
    # "I need to report this to my concerned team now" (not "it has been reported to the team":
    # known bugs that many players reported are not this customer's hand-off)
    r"\breport(?:ing)? (?:this|it|your case|your issue) to (?:my|our|the)"
    r" (?:concern(?:ed)? )?team\b",
    # "our dedicated team will contact you", "the TOS team will reach out to you" (not "our team
    # will guide you through the steps": the team has to take the case over)
    r"\b(?:our|the|my|a)\s+(?:[\w-]+\s+){0,3}?team\s+(?:will|would|shall|is going to|are going to)"
    r"\s+(?:\w+\s+){0,2}?(?:contact you|reach out to you|get back to you|be in (?:touch|contact)"
    r"|get in touch with you|notify you|call you|e-?mail you|re-?evaluate|take over|review (?:your"
    r"|the|this) (?:case|request|account|ban|dispute|appeal|claim|details))",
    r"\bthey(?:'ll| will) (?:\w+ )?(?:be in touch|get back to you|reach out to you)\b"
    r"(?:\W+\w+){0,4}?\W+(?:email|e-mail|mail)\b",
    # "my colleague will contact you", "one of our agents will call you", "someone will be in touch"
    r"\b(?:my|a|an|another|one of (?:my|our)|our)\s+(?:[\w-]+\s+){0,2}?(?:colleague|agent"
    r"|advisor|specialist|supervisor|manager)s?\b[ ,]+" + _W + r"{0,6}?(?:will|is going to|can"
    r"|shall|would)\s+(?:\w+\s+){0,2}?(?:contact(?:ing)? you|call(?:ing)? you|email(?:ing)? "
    r"(?:you|this to you)|reach(?:ing)? out to you|get(?:ting)? back to you|be in touch"
    r"|take over|take your chat)",
    r"\bsomeone (?:will|can|is going to) (?:\w+ )?(?:be in touch|contact you|call you"
    r"|get back to you)",
    r"\b(?:is|are) ready to (?:take|receive) your chat\b",
    # call-backs: "I will request a call back for you", "arrange a call back from another agent"
    r"\b(?:request|arrange|book)(?:ed|ing)?\s+(?:a\s+|you\s+a\s+)?call(?:\s*-?\s*back)?"
    r"\s+(?:for you|from)\b",
    r"\b(?:request|arrange|book)(?:ed|ing)?\s+(?:a\s+|you\s+a\s+)?call\s*-?\s*back\b",
    r"\bget an? (?:\w+ )?(?:agent|colleague|advisor|specialist) to (?:call|contact) you\b",
    r"\bask (?:for a call\s*-?\s*back|(?:my|a) (?:colleague|manager|supervisor) to (?:call|email"
    r"|contact))",
    r"\bwait for (?:the |our |my )?(?:\w+ )?team to (?:contact|reach out|get back)",
    r"\bthey(?:'ll| will) review your (?:account|case)\b",
    r"\b(?:help|assistance|support) from (?:our|the|my) (?:\w+ )?(?:next[- ]level |higher |senior )"
    r"?(?:team|department|colleagues?|specialists?|supervisor|manager)\b",
    r"\b(?:refer|redirect|direct)(?:ing)? you to (?:the|our|a|another) " + _W + r"{0,3}?(?:"
    + _TEAM + r"|hotline|customer service|support)\b",
    r"\b(?:my|our) (?:superiors|higher[- ]ups|supervisor|manager) will\b",
)

# A negation or a counterfactual right before the verb cancels a match ("we cannot escalate it
# again", "I could have escalated the case").
_NEGATED = re.compile(
    r"\b(?:not|no|cannot|can't|cant|can ?not|unable to|won't|don't|doesn't|didn't|never"
    r"|without|(?:could|would|should) have)\s+(?:[\w']+\s+){0,2}$",
    re.IGNORECASE,
)
# The customer is the one told to act ("I request you to please report this to the game team",
# "please send an email to our support team").
_CUSTOMER_ACTS = re.compile(
    r"(?:\byou\s+(?:to|can|could|may|might|should|must|need to|have to|will need to"
    r"|would need to|just need to)\s+(?:[\w']+\s+){0,2}|\bplease\s+(?:kindly\s+)?)$",
    re.IGNORECASE,
)
# Feedback relayed to a team is not a hand-off of the case ("I will take it as feedback and pass
# it on to the relevant department").
_FEEDBACK = re.compile(r"\b(?:feedback|suggestions?)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?;:](?:\s|$)")
_LOOKBEHIND = 40  # characters before a match inspected for negation and customer action


@lru_cache(maxsize=8)
def _compile(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)


@dataclass(frozen=True)
class HandoffDetector:
    """Finds phrases in which a reply hands the customer's case to a person or team.

    Counts: escalating, forwarding, transferring or passing the case to a team, department or
    colleague (done, under way or offered), raising a ban dispute or appeal with the Terms of
    Service team, a colleague or team that will contact the customer, arranged call-backs.
    Does not count: consulting a manager while keeping the case, couriers that will call,
    pointing the customer to a forum, retailer or third-party support, known bugs "reported to
    the team", feedback passed on.
    """

    patterns: tuple[str, ...] = field(default=DEFAULT_PATTERNS, repr=False)
    _compiled: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", _compile(tuple(self.patterns)))

    def match(self, text: str) -> str | None:
        """The earliest hand-off phrase in `text` (a substring of it), or None."""
        best: re.Match[str] | None = None
        for pattern in self._compiled:
            for m in pattern.finditer(text):
                if best is not None and m.start() >= best.start():
                    break
                if not _cancelled(text, m.start(), m.end()):
                    best = m
                    break
        return best.group(0) if best is not None else None

    def __call__(self, text: str) -> bool:
        return self.match(text) is not None

    def classify(self, text: str, language: str | None = None) -> HandoffReading:
        """handoff (done or promised), offer, redirect to another channel, refusal, or none."""
        phrase = self.match(text)  # placeholder: only 'handoff' and 'none' until the classes land
        return HandoffReading("handoff", phrase) if phrase else HandoffReading("none")

    def read(self, text: str) -> tuple[bool, str]:
        """(hands off?, the note a reply records about why), as variants report it."""
        phrase = self.match(text)
        return phrase is not None, f"hand-off phrase: {phrase!r}" if phrase else ""


def _cancelled(text: str, start: int, end: int) -> bool:
    """A negated, customer-performed or feedback-only match is not a hand-off."""
    before = _SENTENCE_END.split(text[max(0, start - _LOOKBEHIND) : start])[-1]
    if _NEGATED.search(before) or _CUSTOMER_ACTS.search(before):
        return True
    sentence_start = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
    after = _SENTENCE_END.search(text, end)
    sentence = text[sentence_start : after.start() if after else len(text)]
    return bool(_FEEDBACK.search(sentence))


def asks_for_human(text: str, language: str | None = None) -> str | None:
    """The words in a customer turn that ask for a person ("can I speak to a human?"), or None."""
    return None  # placeholder until the customer-side detector lands


def answers_offer(text: str, language: str | None = None) -> bool | None:
    """Whether a customer turn accepts (True) or declines (False) an offered hand-off; None: neither."""
    return None  # placeholder until the customer-side detector lands
