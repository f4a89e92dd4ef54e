"""One rule for every variant: when does a reply hand the customer to a person?

In order, the first that applies decides:
1. an explicit hand-off flag (a log's `handoff: true|false`, an HTTP bot's `handoff` field);
2. a call of a hand-off tool (`transfer_to_human` ...), with or without words;
3. the text's reading (evals.handoff): `handoff` is one; `offer` counts when the customer accepts it
   (`offer: accepted`, the default), always or never; `redirect` (call the hotline) never by default.

An offer nobody could answer (a live bot, or a retrieved reply shown to a new customer: the next
historic turn did not answer it) counts as a hand-off attempt under `offer: accepted`. See
docs/escalation.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from evals import handoff
from evals.errors import UserError
from evals.handoff import HandoffDetector, HandoffReading
from evals.types import Conversation, ToolCall, Turn

DEFAULT_HANDOFF_TOOLS = ("transfer_to_human", "transfer_to_human_agents", "escalate", "handoff",
                         "escalate_to_human")
OFFER_RULES = ("accepted", "always", "never")
REDIRECT_RULES = ("never", "always")
# How the customer took an offer: accepted / declined in their next turn, that turn says neither
# (or there is none), or no customer ever saw the reply.
Reaction = Literal["accepted", "declined", "silent", "unseen"]


class Reader(Protocol):
    """Reads hand-off language: the bot side (`classify`) and the customer side."""

    def classify(self, text: str, language: str | None = None) -> HandoffReading: ...

    def asks_for_human(self, text: str, language: str | None = None) -> str | None: ...

    def answers_offer(self, text: str, language: str | None = None) -> bool | None: ...


@dataclass(frozen=True)
class DefaultReader:
    """evals.handoff's detector and customer-side readers."""

    detector: HandoffDetector = field(default_factory=HandoffDetector)

    def classify(self, text: str, language: str | None = None) -> HandoffReading:
        return self.detector.classify(text, language)

    # Looked up at call time, so the module's current functions are the ones used.
    def asks_for_human(self, text: str, language: str | None = None) -> str | None:
        return handoff.asks_for_human(text, language)

    def answers_offer(self, text: str, language: str | None = None) -> bool | None:
        return handoff.answers_offer(text, language)


def make_reader(reader: str | Reader | None = None, patterns: Sequence[str] | None = None) -> Reader:
    """The default reader, `package.module:Class` (made without arguments) naming another, or a reader."""
    if not reader:
        return DefaultReader(HandoffDetector(tuple(patterns)) if patterns else HandoffDetector())
    if not isinstance(reader, str):
        return reader
    from evals.variants.python_bot import load_callable

    made_by = load_callable(reader)
    try:
        made = made_by()
    except TypeError as exc:
        raise UserError(f"reader {reader!r}: cannot be made without arguments ({exc})") from None
    missing = [m for m in ("classify", "asks_for_human", "answers_offer") if not callable(getattr(made, m, None))]
    if missing:
        raise UserError(f"reader {reader!r}: has no {', '.join(missing)} method (see evals.variants.handoff_policy)")
    return made


@dataclass(frozen=True)
class Decision:
    escalated: bool
    kind: str  # the reading's kind (see evals.handoff.HandoffKind)
    note: str  # which rule decided, and on what


@dataclass(frozen=True)
class HandoffPolicy:
    handoff_tools: tuple[str, ...] = DEFAULT_HANDOFF_TOOLS
    offer: str = "accepted"
    redirect: str = "never"

    @classmethod
    def configured(cls, variant: str, handoff_tools: Sequence[str] | None = None, offer: str = "accepted",
                   redirect: str = "never") -> HandoffPolicy:
        """The policy from a variant's config keys, or a one-line error naming the key."""
        if offer not in OFFER_RULES:
            raise UserError(f"variant.{variant}.offer: must be {', '.join(OFFER_RULES)}; got {offer!r}")
        if redirect not in REDIRECT_RULES:
            raise UserError(f"variant.{variant}.redirect: must be {', '.join(REDIRECT_RULES)}; got {redirect!r}")
        tools = DEFAULT_HANDOFF_TOOLS if handoff_tools is None else tuple(handoff_tools)
        if any(not isinstance(t, str) or not t for t in tools):
            raise UserError(f"variant.{variant}.handoff_tools: a list of tool names; got {list(tools)!r}")
        return cls(tools, offer, redirect)

    def decide(self, text: str, reader: Reader, language: str | None = None, explicit: bool | None = None,
               tool_calls: Sequence[ToolCall] = (), reaction: Callable[[], Reaction] | None = None) -> Decision:
        """Explicit flag, then a hand-off tool, then the text's reading.

        `reaction` says how the customer took an offer, and is asked only for one; without it the
        reply was seen by no customer ("unseen")."""
        if explicit is True:
            return Decision(True, "handoff", "explicit handoff: true")
        if explicit is None:
            tool = next((c for c in tool_calls if c.name in self.handoff_tools), None)
            if tool is not None:
                return Decision(True, "handoff", f"tool call: {tool.name}{_reason(tool)}")
        reading = reader.classify(text, language) if text.strip() else HandoffReading("none")
        if explicit is False:
            return Decision(False, reading.kind, "explicit handoff: false"
                            + (f" (the text reads as {reading.kind})" if reading.kind != "none" else ""))
        return self.read(reading, reaction)

    def read(self, reading: HandoffReading, reaction: Callable[[], Reaction] | None = None) -> Decision:
        """The decision on a text's reading alone (see `decide` for `reaction`)."""
        kind, words = reading.kind, f": {reading.phrase!r}" if reading.phrase else ""
        if kind == "handoff":
            return Decision(True, kind, f"hand-off phrase{words}")
        if kind == "offer":
            if self.offer != "accepted":
                return Decision(self.offer == "always", kind, f"offered a person{words} (offer: {self.offer})")
            taken = reaction() if reaction is not None else "unseen"
            escalated = taken in ("accepted", "unseen")
            return Decision(escalated, kind, f"offered a person{words}; {_REACTIONS[taken]}")
        if kind == "redirect":
            return Decision(self.redirect == "always", kind, f"pointed to another channel{words} "
                            f"(redirect: {self.redirect})")
        if kind == "refusal":
            return Decision(False, kind, f"refused a person{words}")
        return Decision(False, kind, getattr(reading, "note", None) or "")  # e.g. an unsupported language


_REACTIONS: dict[str, str] = {
    "accepted": "the customer accepted",
    "declined": "the customer declined",
    "silent": "the customer did not take it up",
    "unseen": "no customer answered this reply (counted as a hand-off attempt)",
}


def _reason(call: ToolCall) -> str:
    try:
        reason = call.parsed_arguments().get("reason")
    except ValueError:
        return ""
    return f" ({reason})" if reason else ""


def reply_turns(conversation: Conversation, turn_index: int, role: str) -> tuple[list[Turn], Turn | None]:
    """The reply of `role` to the customer turn at `turn_index`: its first turn and the ones right after
    it (a text, then a tool call), before the next customer turn; and that next customer turn."""
    reply: list[Turn] = []
    later = conversation.turns[turn_index + 1:]
    for i, turn in enumerate(later):
        if turn.role == "customer":
            return reply, turn
        if turn.role == role:
            reply.append(turn)
        elif reply:  # the other side spoke: the reply is over
            return reply, next((t for t in later[i + 1:] if t.role == "customer"), None)
    return reply, None


def reaction_to(answer: Turn | None, reader: Reader, language: str) -> Reaction:
    """How the customer's next turn (as they wrote it) takes an offer."""
    if answer is None or not answer.text.strip():
        return "silent"
    taken = reader.answers_offer(answer.text, language)
    return "silent" if taken is None else "accepted" if taken else "declined"


def explicit_flag(turns: Sequence[Turn]) -> bool | None:
    """A reply's explicit hand-off flag: true if any of its turns says true, else false if one says false."""
    flags = [t.handoff for t in turns if t.handoff is not None]
    return True if True in flags else False if flags else None
