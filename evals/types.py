"""The data flowing through the harness: conversations in, replies and scores out.

Input records (`Conversation`, `Turn`, `Reference`) are pydantic models so that loading can
report exactly which field of which row is wrong. Everything downstream is a frozen dataclass.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    from evals.memory import Memory

Role = Literal["customer", "agent", "bot"]
EscalationSource = Literal[
    "human_review",  # a person judged whether a hand-off was needed
    "intent_policy",  # derived from the inquiry's intent label by a rule
    "written_policy",  # derived from a written hand-off policy
    "gold_action",  # a gold tool action such as transfer_to_human_agents
    "agent_phrase",  # the human agent's own reply contains a hand-off phrase
]


# Deeper than this is no chat log; it is a mistake or an attack (json and pydantic would recurse on it).
MAX_NESTING = 20

# ISO 639-1: the 183 codes registered since 2021, plus the withdrawn 'bh' and 'sh' that older logs still use.
ISO_639_1 = frozenset("""
    aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz
    ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik
    io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml
    mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd
    se sg sh si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve
    vi vo wa wo xh yi yo za zh zu
""".split())
# A base code, then optional BCP 47 style subtags (region 'BR', script 'Hant', '419'), '-' or '_' separated.
_LANGUAGE_TAG = re.compile(r"([A-Za-z]{2})((?:[-_][A-Za-z0-9]{2,8})*)")


def nesting_depth(value: Any) -> tuple[int, list[str]]:
    """(How many containers deep `value` goes, the path to its deepest one), without recursing.

    A scalar is depth 0, `{"a": 1}` depth 1. Iterative so that a hostile row cannot blow the stack.
    """
    # Each entry links to its parent's (key, entry), so a path is built only for the deepest container.
    Entry = tuple[Any, int, Any]
    deepest_depth, deepest_link = 0, None
    stack: list[Entry] = [(value, 0, None)]
    while stack:
        entry = stack.pop()
        node, depth, _ = entry
        if isinstance(node, dict):
            children: Any = node.items()
        elif isinstance(node, list):
            children = enumerate(node)
        else:
            continue
        if depth + 1 > deepest_depth:
            deepest_depth, deepest_link = depth + 1, entry
            if deepest_depth > MAX_NESTING:
                break  # far enough to report; the rest may be huge
        stack.extend((child, depth + 1, (key, entry)) for key, child in children if isinstance(child, (dict, list)))
    path: list[str] = []
    while deepest_link is not None and deepest_link[2] is not None:
        key, deepest_link = deepest_link[2]
        path.append(str(key))
    return deepest_depth, path[::-1]


def non_finite_at(value: Any) -> tuple[list[str], float] | None:
    """(Path, value) of the first NaN or infinity in a JSON-like value, or None. Python's json reads
    NaN and Infinity although JSON has neither; they would poison every mean downstream."""
    stack: list[tuple[Any, list[str]]] = [(value, [])]
    while stack:
        node, path = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            return path, node
        if isinstance(node, dict):
            stack.extend((child, [*path, str(key)]) for key, child in node.items())
        elif isinstance(node, list):
            stack.extend((child, [*path, str(i)]) for i, child in enumerate(node))
    return None


def _has_words(value: str) -> str:
    if not value.strip():
        raise ValueError("empty or only whitespace (leave it out when there is no text)")
    return value


def _finite(value: Any) -> Any:
    if found := non_finite_at(value):
        path, number = found
        where = f"{'.'.join(path)}: " if path else ""
        raise ValueError(f"{where}{number} is not a finite number (NaN and Infinity are not accepted)")
    return value


# A text that must say something: "" or "  " is a broken export, not a message.
Words = Annotated[str, AfterValidator(_has_words)]


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
            except RecursionError:
                raise ValueError(f"nested deeper than {MAX_NESTING} levels") from None
            if not isinstance(parsed, dict):
                raise ValueError("a JSON string must hold an object")
            value_to_check: Any = parsed
        else:
            value_to_check = value
        if nesting_depth(value_to_check)[0] > MAX_NESTING:
            raise ValueError(f"nested deeper than {MAX_NESTING} levels")
        _finite(value_to_check)
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
    translation: Words | None = None
    timestamp: str | None = None
    tool_calls: list[ToolCall] = []
    # Whether this turn handed the conversation to a person, when the log says so; it wins over
    # any reading of the tool calls or the text.
    handoff: bool | None = None

    @field_validator("timestamp")
    @classmethod
    def _iso_8601(cls, value: str | None) -> str | None:
        # Kept as written; only checked, so that a typo is caught here and not in some later analysis.
        if value is not None:
            try:
                datetime.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{value!r} is not an ISO 8601 date and time (e.g. 2024-05-17T14:03:00Z)") from None
        return value

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
        if not self.text.strip() and not self.tool_calls:
            raise ValueError("text: only whitespace; a turn needs words unless it is a bot or agent tool call "
                             "(tool_calls)")
        return self


class Reference(_Record):
    """What a human did (or should have done) at one decision point."""

    turn: int = Field(ge=0, description="index of the customer turn this reference answers")
    reply: Words | None = None
    # The reply as the customer read it, when agents and customers wrote different languages.
    reply_translation: Words | None = None
    should_escalate: bool | None = None
    escalation_source: EscalationSource | None = None
    required_facts: list[Words] = []

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
    outcome: Annotated[dict[str, str | int | float | bool | None] | None, AfterValidator(_finite)] = None
    turns: list[Turn] = Field(min_length=1)
    references: list[Reference] = []

    @field_validator("language", "agent_language")
    @classmethod
    def _iso_639_1(cls, code: str | None) -> str | None:
        # Kept as written ('EN', 'pt_BR' stay so); readers take the base code case-insensitively.
        if code is None:
            return code
        tag = _LANGUAGE_TAG.fullmatch(code)
        if tag is None or tag[1].lower() not in ISO_639_1:
            raise ValueError(f"{code!r} is not an ISO 639-1 language code ('en', 'de'; a region may follow: "
                             "'pt-BR', 'en_US')")
        return code

    @model_validator(mode="after")
    def _consistent(self) -> Conversation:
        if not any(t.role == "customer" for t in self.turns):
            raise ValueError("turns: the conversation has no customer turn")
        answered: dict[int, int] = {}  # customer turn -> index of its reference
        for i, ref in enumerate(self.references):
            if ref.turn >= len(self.turns) or self.turns[ref.turn].role != "customer":
                raise ValueError(
                    f"references.{i}.turn: {ref.turn} is not the index of a customer turn"
                )
            if ref.turn in answered:
                # two cases would share one case id and the per-reply table would mix their labels
                raise ValueError(f"references.{i}.turn: turn {ref.turn} already has a reference "
                                 f"(references.{answered[ref.turn]}); give one reference per customer turn")
            answered[ref.turn] = i
        return self


View = Literal["agent", "customer"]


@dataclass(frozen=True)
class Case:
    """One decision point: the conversation up to a customer turn, and what a human did next."""

    conversation: Conversation
    turn_index: int
    reference: Reference
    view: View = "agent"
    repeat: int = 0  # which trial of this decision point (replay.repeats); the first is 0

    @property
    def decision_point(self) -> str:
        """`<conversation_id>#<customer turn index>`: the same for every trial of this point."""
        return f"{self.conversation.conversation_id}#{self.turn_index}"

    @property
    def case_id(self) -> str:
        """The decision point, and `~<trial>` from the second trial on (the first keeps the plain id, so a
        run with repeats pairs with one without)."""
        return self.decision_point + (f"~{self.repeat + 1}" if self.repeat else "")

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
            repeat=self.repeat,
        )


@dataclass(frozen=True)
class Inquiry:
    """What a bot variant may see: the history so far, never the reference."""

    case_id: str
    conversation_id: str
    language: str
    channel: str | None
    history: tuple[Turn, ...]
    repeat: int = 0  # the trial (replay.repeats): a bot that takes a seed may vary it with this

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
    # The data holds no reply here (the human or recorded variant): an error, not a failure of a bot.
    missing: bool = False


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

    def prepare(self, memory: Memory) -> None:
        """Called once before replay with what a bot may know beforehand (see `evals.memory`): the
        run's transcripts without labels, e.g. to build a retrieval index. Never the answer key."""

    async def respond(self, inquiry: Inquiry) -> Answer: ...


Direction = Literal["higher", "lower", "neither"]


@dataclass(frozen=True)
class Ratio:
    """A metric that is a ratio of weighted label counts, e.g. recall = TP / (TP + FN).

    Ratios of sums let the aggregator bootstrap every metric the same way.
    """

    numerator: dict[str, float]
    denominator: dict[str, float]
    direction: Direction = "higher"  # which way is better, for the report, the gate and the plots
    counts: str = "labelled replies"  # what n counts: the rows in the denominator
    label: str = ""  # how the report names it; "" = not a headline metric


class Scorer(Protocol):
    """Scores one criterion. `ratios` are extra per-variant metrics over the score labels.

    Optional: `names` (the score names it emits, when more than its own: companions), `direction`
    and `label` of its mean (default "higher" and the name), `score_batch(cases, replies,
    on_progress)` to score many replies at once, and for remote judges `prepare(cache)`,
    `score_reply(case, reply)` (async) and `aclose()`.
    """

    name: str
    ratios: dict[str, Ratio]

    def score(self, case: Case, reply: Reply) -> Score: ...
