"""The data flowing through the harness: conversations in, replies and scores out.

Input records (`Conversation`, `Turn`, `Reference`) are pydantic models so that loading can
report exactly which field of which row is wrong. Everything downstream is a frozen dataclass.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Role = Literal["customer", "agent", "bot"]
EscalationSource = Literal[
    "human_review",  # a person judged whether a hand-off was needed
    "intent_policy",  # derived from the inquiry's intent label by a rule
    "written_policy",  # derived from a written hand-off policy
    "gold_action",  # a gold tool action such as transfer_to_human_agents
    "agent_phrase",  # the human agent's own reply contains a hand-off phrase
]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class ToolCall(_Record):
    """A tool the bot or agent called, as chat logs record it (e.g. `transfer_to_human`)."""

    name: str = Field(min_length=1)
    # OpenAI logs keep the arguments as a JSON string; other logs as an object. Both are kept as given.
    arguments: dict[str, Any] | str = Field(default_factory=dict)
    id: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _openai_shape(cls, data: Any) -> Any:
        """Accept OpenAI's {"id", "type": "function", "function": {"name", "arguments"}} as well."""
        if isinstance(data, dict) and isinstance(data.get("function"), dict) and "name" not in data:
            if data.get("type", "function") != "function":
                raise ValueError(f"type: only 'function' tool calls are read, got {data.get('type')!r}")
            flat = {"name": data["function"].get("name"), "id": data.get("id")}
            if "arguments" in data["function"]:
                flat["arguments"] = data["function"]["arguments"]
            return {k: v for k, v in flat.items() if v is not None}
        return data

    @field_validator("arguments", mode="before")
    @classmethod
    def _json_object(cls, value: Any) -> Any:
        if not isinstance(value, (dict, str)):
            raise ValueError(f"a JSON object, or a JSON string holding one; got {type(value).__name__}")
        if isinstance(value, str) and value.strip():
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not valid JSON: {exc.msg} at column {exc.colno}") from None
            if not isinstance(parsed, dict):
                raise ValueError("a JSON string must hold an object")
        return value

    def parsed_arguments(self) -> dict[str, Any]:
        """The arguments as an object, whichever way the log wrote them."""
        if isinstance(self.arguments, dict):
            return self.arguments
        return json.loads(self.arguments) if self.arguments.strip() else {}


class Turn(_Record):
    role: Role
    # Empty only for a bot or agent turn that is nothing but tool calls.
    text: str = ""
    # The same message in the other party's language (what the other side actually read).
    translation: str | None = None
    timestamp: str | None = None
    tool_calls: list[ToolCall] = []
    # Whether this turn handed the conversation to a person, when the log says so; it wins over
    # any reading of the tool calls or the text.
    handoff: bool | None = None

    @model_validator(mode="after")
    def _speaker_can_do_it(self) -> Turn:
        if self.role == "customer":
            if self.tool_calls:
                raise ValueError("tool_calls: a customer turn cannot call tools (only bot and agent turns)")
            if self.handoff is not None:
                raise ValueError("handoff: a customer turn cannot hand off (only bot and agent turns)")
        if not self.text and not self.tool_calls:
            raise ValueError("text: required, and not empty, unless the turn is a bot or agent tool call "
                             "(tool_calls)")
        return self


class Reference(_Record):
    """What a human did (or should have done) at one decision point."""

    turn: int = Field(ge=0, description="index of the customer turn this reference answers")
    reply: str | None = None
    # The reply as the customer read it, when agents and customers wrote different languages.
    reply_translation: str | None = None
    should_escalate: bool | None = None
    escalation_source: EscalationSource | None = None
    required_facts: list[str] = []

    @model_validator(mode="after")
    def _source_named(self) -> Reference:
        if self.should_escalate is not None and self.escalation_source is None:
            raise ValueError(
                "escalation_source: required when should_escalate is given (human_review, "
                "intent_policy, written_policy, gold_action or agent_phrase)"
            )
        return self


class Conversation(_Record):
    conversation_id: str = Field(min_length=1)
    language: str = Field(min_length=2, description="the customer's language (ISO 639-1)")
    agent_language: str | None = Field(
        default=None, description="language the agents wrote in; defaults to `language`"
    )
    intent: str | None = None
    channel: str | None = None
    outcome: dict[str, str | int | float | bool | None] | None = None
    turns: list[Turn] = Field(min_length=1)
    references: list[Reference] = []

    @model_validator(mode="after")
    def _consistent(self) -> Conversation:
        if not any(t.role == "customer" for t in self.turns):
            raise ValueError("turns: the conversation has no customer turn")
        for i, ref in enumerate(self.references):
            if ref.turn >= len(self.turns) or self.turns[ref.turn].role != "customer":
                raise ValueError(
                    f"references.{i}.turn: {ref.turn} is not the index of a customer turn"
                )
        return self


View = Literal["agent", "customer"]


@dataclass(frozen=True)
class Case:
    """One decision point: the conversation up to a customer turn, and what a human did next."""

    conversation: Conversation
    turn_index: int
    reference: Reference
    view: View = "agent"

    @property
    def case_id(self) -> str:
        return f"{self.conversation.conversation_id}#{self.turn_index}"

    @property
    def reply_language(self) -> str:
        """Language a reply at this point is written in, given whose view is replayed."""
        conv = self.conversation
        return (conv.agent_language or conv.language) if self.view == "agent" else conv.language

    @property
    def reference_reply(self) -> str | None:
        """The human reply in the language of the replayed view."""
        ref = self.reference
        return ref.reply_translation or ref.reply if self.view == "customer" else ref.reply

    def history(self) -> tuple[Turn, ...]:
        """Turns up to and including the customer turn, as the chosen side read them.

        In the agent view a customer turn shows its translation (what the agent read); in the
        customer view an agent turn does.
        """
        translate = "customer" if self.view == "agent" else "agent"
        return tuple(
            t.model_copy(update={"text": t.translation, "translation": None})
            if t.role == translate and t.translation
            else t
            for t in self.conversation.turns[: self.turn_index + 1]
        )

    def inquiry(self) -> Inquiry:
        return Inquiry(
            case_id=self.case_id,
            conversation_id=self.conversation.conversation_id,
            language=self.reply_language,
            channel=self.conversation.channel,
            history=self.history(),
        )


@dataclass(frozen=True)
class Inquiry:
    """What a bot variant may see: the history so far, never the reference."""

    case_id: str
    conversation_id: str
    language: str
    channel: str | None
    history: tuple[Turn, ...]

    @property
    def last_message(self) -> str:
        return self.history[-1].text


@dataclass(frozen=True)
class Answer:
    """A variant's answer to one inquiry."""

    text: str  # may be empty: a reply that is only a tool call
    escalated: bool
    note: str = ""  # why it answered so (e.g. retrieved case, matched rule, tool call)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None  # None: unknown (no price for the model), never a silent 0
    redacted: dict[str, int] = field(default_factory=dict)  # PII kind -> count, never the values
    # What the reply does about a person (handoff, offer, redirect, refusal, none; see
    # evals.handoff); "" when the variant did not read it. `escalated` is the decision taken on it.
    handoff_kind: str = ""


@dataclass(frozen=True)
class Reply:
    case_id: str
    variant: str
    text: str
    escalated: bool
    latency_s: float
    note: str = ""
    error: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    redacted: dict[str, int] = field(default_factory=dict)
    cached: bool = False  # served from the reply cache (no call made in this run)
    handoff_kind: str = ""  # see Answer.handoff_kind


@dataclass(frozen=True)
class Score:
    """One scorer's verdict on one reply. `value` is NaN when the reply could not be scored."""

    case_id: str
    variant: str
    scorer: str
    value: float
    label: str | None = None
    explanation: str = ""
    version: str | None = None  # e.g. a judge's rubric hash, model and parameters

    @property
    def scored(self) -> bool:
        return not math.isnan(self.value)


class Variant(Protocol):
    """A chatbot (or the human agents) answering inquiries.

    Optional: `concurrency` (int, how many inquiries at once) and `fingerprint()` (a dict of
    everything that determines its answers; a variant that has one gets its replies cached).
    """

    name: str

    def prepare(self, cases: Sequence[Case]) -> None:
        """Called once before replay with every case of the run (e.g. to build an index)."""

    async def respond(self, inquiry: Inquiry) -> Answer: ...


@dataclass(frozen=True)
class Ratio:
    """A metric that is a ratio of weighted label counts, e.g. recall = TP / (TP + FN).

    Ratios of sums let the aggregator bootstrap every metric the same way.
    """

    numerator: dict[str, float]
    denominator: dict[str, float]


class Scorer(Protocol):
    """Scores one criterion. `ratios` are extra per-variant metrics over the score labels."""

    name: str
    ratios: dict[str, Ratio]

    def score(self, case: Case, reply: Reply) -> Score: ...
