"""The hybrid routing what-if: a bot and the people on the same conversations, split by a policy.

Replayed on one run's results (a bot variant and the people's variant, usually `human`, answering the
same decision points), a `Policy` decides at each decision point who answers:

- a rule routes by the conversation's intent or language, or by the customer's emotion at that turn
  (read from the empathy scorer's labels, e.g. `upset/flat`), else everything goes to `default`;
- on the bot's share, the bot's own hand-offs go to a person ("the bot keeps what it does not hand off");
- once a person has a conversation they keep it: its later decision points are the person's.

The blended quality is every metric recomputed (`evals.aggregate.summarise`) over the routed replies: the
bot's scores where the bot answered, the people's where a person did. One exception: whether the
customer is with a person is the router's doing, not the agent's, so escalation-type scores read
"handed off" at the point where a conversation goes to a person (`correct_handoff` when it should,
`premature` when not) and `correct_handoff` at its later points that should be with a person; at later
points that need no person, what the agent did stands. Cost and workload follow `evals.business`
(one hand-off per conversation a person takes).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import pandas as pd

from evals.aggregate import summarise
from evals.business import (
    EMOTION_LABEL,
    ESCALATION_LABELS,
    HUMAN_COST_UNKNOWN,
    NA,
    Costs,
    Estimate,
    Workload,
    aggregate_settings,
    bot_cost_per_conversation,
    mean_estimate,
    scorers_with_labels,
)
from evals.errors import UserError
from evals.results import EvalResult
from evals.scorers.escalation import CORRECT_CONTAINMENT, CORRECT_HANDOFF, MISSED, PREMATURE

Route = Literal["bot", "human"]
By = Literal["none", "intent", "language", "emotion"]
ROUTES: tuple[str, ...] = get_args(Route)
BY: tuple[str, ...] = get_args(By)

COLUMNS = ["policy", "bot", "human", "measure", "label", "value", "ci_low", "ci_high", "n", "too_few", "counts",
           "unit", "direction", "note"]


class NoEmotion(UserError):
    """Routing by emotion needs the empathy scorer's labels, and the results have none."""


@dataclass(frozen=True)
class Policy:
    """Who answers: `routes` maps a value of `by` (an intent, a language code, an emotion) to bot or human;
    other values, and decision points without one, go to `default`. `by: none` sends everything to
    `default`. The bot's hand-offs always go to a person."""

    name: str
    by: By = "none"
    routes: Mapping[str, Route] = field(default_factory=dict)
    default: Route = "bot"

    def __post_init__(self) -> None:
        where = f"business.policies.{self.name}"
        if self.by not in BY:
            raise UserError(f"{where}.by: {self.by!r} is not allowed (allowed: {', '.join(BY)})")
        for key, target in {"default": self.default, **{f"routes.{k}": v for k, v in self.routes.items()}}.items():
            if target not in ROUTES:
                raise UserError(f"{where}.{key}: {target!r} is not allowed (allowed: {', '.join(ROUTES)})")
        if self.by == "none" and self.routes:
            raise UserError(f"{where}.routes: given with by: none (allowed: by: intent, language or emotion)")

    @classmethod
    def from_config(cls, name: str, node: Mapping[str, Any] | None) -> Policy:
        node = dict(node or {})
        for key in node:
            if key not in ("by", "routes", "default"):
                raise UserError(f"business.policies.{name}.{key}: unknown key (known keys: by, routes, default)")
        routes = node.get("routes") or {}
        if not isinstance(routes, Mapping):
            raise UserError(f"business.policies.{name}.routes: {routes!r} is not allowed (allowed: value -> bot|human)")
        return cls(name, node.get("by", "none"), {str(k): v for k, v in routes.items()}, node.get("default", "bot"))

    @classmethod
    def bot_then_people(cls, name: str = "bot, hand-offs to people") -> Policy:
        """The bot keeps what it does not hand off."""
        return cls(name)

    @classmethod
    def people_only(cls, name: str = "people only") -> Policy:
        return cls(name, default="human")

    def target(self, value: str | None) -> Route:
        """Where a decision point with this intent, language or emotion goes."""
        if value is None or self.by == "none":
            return self.default
        if value in self.routes:
            return self.routes[value]
        if self.by == "language":  # 'pt-BR' and 'pt_br' as written, then the base code 'pt'
            folded = {k.lower().replace("_", "-"): v for k, v in self.routes.items()}
            code = value.lower().replace("_", "-")
            return folded.get(code, folded.get(code.split("-")[0], self.default))
        return self.default


def route(result: EvalResult, bot: str, human: str, policy: Policy) -> pd.DataFrame:
    """Per decision point of the bot's conversations, in turn order: `value` (what the policy read),
    `answered_by` (bot or human), `bot_replied` (the bot answered, perhaps to hand off: its cost counts),
    `handover` (the point where the conversation goes to a person) and `why`."""
    for variant in (bot, human):
        if variant not in result.variants:
            raise UserError(f"no variant {variant!r} in these results (variants: {', '.join(result.variants)})")
    points = result.replies[result.replies["variant"] == bot].sort_values(["conversation_id", "turn"], kind="stable")
    values = _values(result, points, policy)
    rows = []
    with_person: set[str] = set()
    columns = (points["conversation_id"], points["case_id"], points["turn"], points["escalated"],
               points["error"].notna())
    for (conv, case, turn, escalated, failed), value in zip(zip(*columns), values):
        if conv in with_person:
            rows.append((conv, case, turn, value, "human", False, False, "a person already has the conversation"))
        elif policy.target(value) == "human":
            with_person.add(conv)
            rows.append((conv, case, turn, value, "human", False, True, _why(policy, value)))
        elif bool(escalated) and not failed:
            with_person.add(conv)
            rows.append((conv, case, turn, value, "human", True, True, "the bot handed off"))
        else:
            rows.append((conv, case, turn, value, "bot", True, False, _why(policy, value)))
    return pd.DataFrame(rows, columns=["conversation_id", "case_id", "turn", "value", "answered_by", "bot_replied",
                                       "handover", "why"])


def _why(policy: Policy, value: str | None) -> str:
    target = policy.target(value)
    if policy.by == "none":
        return f"policy {policy.name}: everything to {target}"
    if value is None:
        return f"policy {policy.name}: no {policy.by} known, default {target}"
    return f"policy {policy.name}: {policy.by} {value!r} to {target}"


def _values(result: EvalResult, points: pd.DataFrame, policy: Policy) -> list[str | None]:
    """What the policy routes on at each decision point (None: not known there)."""
    if policy.by == "none":
        return [None] * len(points)
    if policy.by in ("intent", "language"):
        return [v if isinstance(v, str) and v else None for v in points[policy.by]]
    scorers = scorers_with_labels(result.scores, EMOTION_LABEL)
    if not scorers:
        raise NoEmotion(f"policy {policy.name}: routing by emotion needs the empathy scorer's labels "
                        "(e.g. upset/flat), and these results have none")
    labelled = result.scores[result.scores["scorer"].isin(scorers) & result.scores["label"].notna()]
    emotion = labelled.drop_duplicates("case_id").set_index("case_id")["label"].str.split("/").str[0]
    return [emotion.get(case) for case in points["case_id"]]


def blend(result: EvalResult, bot: str, human: str, routes: pd.DataFrame, name: str) -> pd.DataFrame:
    """The scores of the routed replies (variant `name`), with the router's hand-off decision at each handover."""
    scores = result.scores
    by_bot = set(routes.loc[routes["answered_by"] == "bot", "case_id"])
    by_human = set(routes.loc[routes["answered_by"] == "human", "case_id"])
    rows = pd.concat([scores[(scores["variant"] == bot) & scores["case_id"].isin(by_bot)],
                      scores[(scores["variant"] == human) & scores["case_id"].isin(by_human)]], ignore_index=True)
    handovers = set(routes.loc[routes["handover"], "case_id"])
    why = routes.set_index("case_id")["why"]
    changed: dict[int, tuple[float, str | None, str]] = {}  # row -> value, label, explanation; set at once below
    for scorer in scorers_with_labels(scores, ESCALATION_LABELS):
        mine = scores[scores["scorer"] == scorer]
        should = {**_should(mine[mine["variant"] == human]), **_should(mine[mine["variant"] == bot])}
        for i in rows.index[(rows["scorer"] == scorer) & rows["case_id"].isin(by_human)]:
            case = rows.at[i, "case_id"]
            wanted = should.get(case)
            if case in handovers:  # the router's decision: to a person here
                label = None if wanted is None else CORRECT_HANDOFF if wanted else PREMATURE
                said = ("no label says whether it should" if wanted is None else
                        "it should hand off" if wanted else "it should not hand off")
            elif wanted:  # a person already has it, as it should be; else what the agent did stands
                label, said = CORRECT_HANDOFF, "it should be with a person"
            else:
                continue
            changed[i] = (math.nan if label is None else float(label == CORRECT_HANDOFF), label, f"{why[case]}; {said}")
    if changed:  # one assignment per column: row by row, pandas took seconds on a few thousand rows
        at = list(changed)
        for k, column in enumerate(("value", "label", "explanation")):
            rows.loc[at, column] = [v[k] for v in changed.values()]
    return rows.assign(variant=name)


def _should(rows: pd.DataFrame) -> dict[str, bool]:
    """Whether each decision point should hand off, as an escalation-type scorer's labels say."""
    wanted = {CORRECT_HANDOFF: True, MISSED: True, PREMATURE: False, CORRECT_CONTAINMENT: False}
    return {case: wanted[label] for case, label in zip(rows["case_id"], rows["label"]) if label in wanted}


def what_if(result: EvalResult, bot: str, human: str, policy: Policy, costs: Costs,
            workload: Workload) -> pd.DataFrame:
    """`COLUMNS`, one row per measure: every metric over the routed replies (with its report label), then
    containment, bot, human and total cost per conversation, agent-hours per month and FTEs at the
    configured volume. CIs resample whole conversations; an unknown figure is n/a with the reason in
    `note`. Routing by emotion without empathy labels gives n/a rows saying so."""
    agg = aggregate_settings(result)
    base = {"policy": policy.name, "bot": bot, "human": human}
    try:
        routes = route(result, bot, human, policy)
    except NoEmotion as exc:
        return pd.DataFrame([{**base, **_cells("containment", NA, "conversations", "share", "neither", str(exc))}],
                            columns=COLUMNS)
    rows = []
    summary = summarise(blend(result, bot, human, routes, policy.name), result.metric_specs(), **agg)
    specs = {s.name: s for s in result.metric_specs()}
    for r in summary.itertuples():
        estimate = Estimate(r.value, r.ci_low, r.ci_high, int(r.n), bool(r.too_few))
        rows.append({**base, **_cells(r.metric, estimate, specs[r.metric].counts, "", r.direction, "", r.label)})
    conversations = pd.Index(routes["conversation_id"].unique())
    with_person = (routes["answered_by"] == "human").groupby(routes["conversation_id"], sort=False).any()
    with_person = with_person.reindex(conversations)
    kept = mean_estimate(conversations, (~with_person).astype(float).to_numpy(), agg)
    rows.append({**base, **_cells("containment", kept, "conversations", "share", "neither",
                                  "conversations no person took", "containment")})
    bot_rows = result.replies[(result.replies["variant"] == bot)
                              & result.replies["case_id"].isin(routes.loc[routes["bot_replied"], "case_id"])]
    bot_cost, bot_note = bot_cost_per_conversation(bot_rows, costs)
    if bot_cost is not None:
        bot_cost = bot_cost.reindex(conversations, fill_value=0.0)  # no bot reply in it: the bot cost nothing
    price = costs.usd_per_human_conversation
    human_cost = None if price is None else with_person.astype(float) * price
    figures = [
        ("bot_cost_per_conversation_usd", bot_cost, bot_note, "bot cost"),
        ("human_cost_per_conversation_usd", human_cost, HUMAN_COST_UNKNOWN if human_cost is None else
         f"conversations a person took x {costs.minutes_per_handoff:g} min x {costs.hourly_rate_usd:g} USD/h",
         "human cost"),
        ("cost_per_conversation_usd", None if bot_cost is None or human_cost is None else bot_cost + human_cost,
         "; ".join(filter(None, [bot_note if bot_cost is None else "",
                                 HUMAN_COST_UNKNOWN if human_cost is None else ""])) or "bot cost + human cost",
         "cost per conversation")]
    for measure, values, note, label in figures:
        estimate = NA if values is None else mean_estimate(conversations, values.to_numpy(), agg)
        rows.append({**base, **_cells(measure, estimate, "conversations", "USD", "lower", note, label)})
    rows += [{**base, **cells} for cells in _workload(conversations, with_person, costs, workload, agg)]
    return pd.DataFrame(rows, columns=COLUMNS)


def _workload(conversations: pd.Index, with_person: pd.Series, costs: Costs, workload: Workload,
              agg: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Agent-hours per month and FTEs: the mean agent minutes per conversation, scaled to the volume."""
    volume, minutes = workload.conversations_per_month, costs.minutes_per_handoff
    if volume is None or minutes is None:
        why = "; ".join(filter(None, ["set business.workload.conversations_per_month" if volume is None else "",
                                      "set business.costs.minutes_per_handoff" if minutes is None else ""]))
        return [_cells("agent_hours_per_month", NA, "conversations", "hours", "lower", why, "agent-hours / month"),
                _cells("fte", NA, "conversations", "FTE", "lower", why, "full-time agents")]
    per_conversation = mean_estimate(conversations, with_person.astype(float).to_numpy() * minutes, agg)
    hours = per_conversation.scaled(volume / 60.0)
    return [_cells("agent_hours_per_month", hours, "conversations", "hours", "lower",
                   f"{volume:g} conversations / month x agent minutes per conversation / 60", "agent-hours / month"),
            _cells("fte", hours.scaled(1.0 / workload.hours_per_fte_month), "conversations", "FTE", "lower",
                   f"agent-hours / {workload.hours_per_fte_month:g} h per FTE", "full-time agents")]


def _cells(measure: str, estimate: Estimate, counts: str, unit: str, direction: str, note: str,
           label: str = "") -> dict[str, Any]:
    return {"measure": measure, "label": label, "value": estimate.value, "ci_low": estimate.ci_low,
            "ci_high": estimate.ci_high, "n": estimate.n, "too_few": estimate.too_few, "counts": counts,
            "unit": unit, "direction": direction, "note": note}
