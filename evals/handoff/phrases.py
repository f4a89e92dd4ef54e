"""One language's hand-off phrase set: the regexes `HandoffDetector.classify` reads a reply with."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class PhraseSet:
    """Regular expressions (matched case-insensitively) for one language.

    A `handoff` phrase is a hand-off verb with its case or team ("forward your case to our team"). Within
    its sentence, a negation in the same clause before it makes it a refusal; a question lead, a condition
    or a modal ("I can") makes it an offer; otherwise it is a done or promised hand-off.
    """

    language: str
    handoff: tuple[str, ...]  # hand-off phrases: done, promised, or (with an offer cue) offered
    offer_lead: str  # before the phrase in its sentence: "would you like me to", "shall I"
    offer_modal: str  # right before the phrase, anchored with $: "I can ", "the option is to "
    offer_condition: str  # anywhere in the sentence: "if you want"
    offer: tuple[str, ...]  # offers without a hand-off phrase: "do you want to speak to a human?"
    negation: str  # in the clause before a hand-off phrase or verb: refused
    not_negation: str  # negations that refuse nothing: "don't worry", "no problem"
    refusal_verb: str  # looser hand-off verbs that a negation in the same clause refuses
    refusal: tuple[str, ...]  # refusals with the negation after the noun: "escalation is not possible"
    redirect: tuple[str, ...]  # the customer is sent to another channel or party
    closing: str  # a conditional sign-off ("if you have further questions, contact us"): not a redirect
    clause_break: str  # where a new clause starts, bounding a negation's reach
    customer_acts: str  # right before a hand-off phrase, anchored with $: the customer is told to do it
    cancel: str = r"(?!)"  # right before a phrase, anchored with $: counterfactual ("could have escalated")
    feedback: str = r"(?!)"  # in the sentence: only feedback is passed on

    @cached_property
    def compiled(self) -> CompiledPhrases:
        return CompiledPhrases(self)


class CompiledPhrases:
    """The compiled regexes of one `PhraseSet` (compiled once, on first use)."""

    def __init__(self, phrases: PhraseSet) -> None:
        def one(pattern: str) -> re.Pattern[str]:
            return re.compile(pattern, re.IGNORECASE)

        def many(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
            return tuple(one(p) for p in patterns)

        self.handoff = many(phrases.handoff)
        self.offer_lead = one(phrases.offer_lead)
        self.offer_modal = one(phrases.offer_modal)
        self.offer_condition = one(phrases.offer_condition)
        self.offer = many(phrases.offer)
        self.negation = one(phrases.negation)
        self.not_negation = one(phrases.not_negation)
        self.refusal_verb = one(phrases.refusal_verb)
        self.refusal = many(phrases.refusal)
        self.redirect = many(phrases.redirect)
        self.closing = one(phrases.closing)
        self.clause_break = one(phrases.clause_break)
        self.customer_acts = one(phrases.customer_acts)
        self.cancel = one(phrases.cancel)
        self.feedback = one(phrases.feedback)
