"""Hand-off reading: does a reply hand the customer to a person, offer to, redirect, or refuse?

Why phrases: the WMT24 chat data has no escalation labels, but its human agents say so in words when
they hand a case on ("I will escalate your case to our Terms of Service team", "my colleague will call
you"). The same detector derives the `agent_phrase` labels of the shipped datasets and reads whether any
reply (human or bot) hands off, so labels and predictions use one definition. See docs/handoff.md.
"""

from evals.handoff.customer import answers_offer, asks_for_human
from evals.handoff.detector import (
    PHRASE_SETS,
    PRECEDENCE,
    SUPPORTED_LANGUAGES,
    HandoffDetector,
    HandoffKind,
    HandoffReading,
)
from evals.handoff.en import DEFAULT_PATTERNS

__all__ = [
    "DEFAULT_PATTERNS",
    "PHRASE_SETS",
    "PRECEDENCE",
    "SUPPORTED_LANGUAGES",
    "HandoffDetector",
    "HandoffKind",
    "HandoffReading",
    "answers_offer",
    "asks_for_human",
]
