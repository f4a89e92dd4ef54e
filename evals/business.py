"""The business view of a run: what each variant would mean for the service and what it costs.

Per variant (`view`): containment (conversations the bot kept), hand-off rate, missed and premature
hand-offs, refused requests for a person, bot cost and the cost of the people who take the hand-offs,
and response time (the bot's latency against the agents' historic delay, when the data has timestamps).
Every figure comes with n and a CI from resampling whole conversations, like `evals.aggregate`; an
unknown figure is n/a with the reason in `note`, never 0.

Two conventions: a conversation handed off at two decision points costs one hand-off (after the first,
a person has it); a failed reply (`error`) is left out of the hand-off figures and the bot cost.
The hybrid routing what-if is `evals.hybrid`, the cost-quality frontier `evals.frontier`; `analyse` runs
all three from the `business` config section and `write` saves them (docs/business.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evals.aggregate import DEFAULT_MAX_UNDEFINED, DEFAULT_MIN_N, MetricSpec, summarise
from evals.errors import UserError
from evals.results import EvalResult
from evals.scorers.customer_emotion import DISTRESSED
from evals.scorers.escalation import CORRECT_CONTAINMENT, CORRECT_HANDOFF, MISSED, PREMATURE
from evals.scorers.human_access import HONOURED, NO_REQUEST, REFUSED
from evals.types import Conversation, Ratio

# Scorers are recognised by the labels they write, not by their configured names (a run may call its
# escalation scorer anything); the first scorer in the results with only these labels is used.
ESCALATION_LABELS = frozenset({CORRECT_HANDOFF, CORRECT_CONTAINMENT, MISSED, PREMATURE})
ACCESS_LABELS = frozenset({NO_REQUEST, HONOURED, REFUSED})
EMOTION_LABEL = re.compile(rf"^({'|'.join((*DISTRESSED, 'neutral'))})/(flat|warm)$")  # the empathy scorer's

COLUMNS = ["variant", "measure", "value", "ci_low", "ci_high", "n", "too_few", "counts", "unit", "direction", "note"]


# --- settings ---------------------------------------------------------------------------------------
def _number_or_none(where: str, value: Any, *, positive: bool = True) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0 or (positive and value == 0):
        raise UserError(f"{where}: {value!r} is not allowed (allowed: a number {'> 0' if positive else '>= 0'}, "
                        "or null for n/a)")
    return float(value)


def _known_keys(where: str, given: Mapping[str, Any], known: Iterable[str]) -> None:
    known = list(known)
    for key in given:
        if key not in known:
            raise UserError(f"{where}.{key}: unknown key (known keys: {', '.join(known)})")


@dataclass(frozen=True)
class Costs:
    """What people and the bot cost. None = not known: every figure resting on it is n/a."""

    minutes_per_handoff: float | None = None  # agent minutes per conversation a person takes (to its end)
    hourly_rate_usd: float | None = None  # loaded cost of one agent hour
    # Price of a bot reply whose tokens were not priced (a self-hosted bot, a rules bot); None = n/a.
    bot_cost_per_reply_usd: float | None = None

    def __post_init__(self) -> None:
        _number_or_none("business.costs.minutes_per_handoff", self.minutes_per_handoff)
        _number_or_none("business.costs.hourly_rate_usd", self.hourly_rate_usd, positive=False)
        _number_or_none("business.costs.bot_cost_per_reply_usd", self.bot_cost_per_reply_usd, positive=False)

    @property
    def usd_per_human_conversation(self) -> float | None:
        if self.minutes_per_handoff is None or self.hourly_rate_usd is None:
            return None
        return self.minutes_per_handoff * self.hourly_rate_usd / 60.0

    @classmethod
    def from_config(cls, node: Mapping[str, Any] | None, where: str = "business.costs") -> Costs:
        node = dict(node or {})
        _known_keys(where, node, (f.name for f in fields(cls)))
        return cls(**node)


@dataclass(frozen=True)
class Workload:
    """The service's volume, to turn people's minutes per conversation into agent-hours and FTEs."""

    conversations_per_month: float | None = None  # None: workload n/a
    hours_per_fte_month: float = 160.0  # paid hours of one full-time agent in a month

    def __post_init__(self) -> None:
        _number_or_none("business.workload.conversations_per_month", self.conversations_per_month)
        if _number_or_none("business.workload.hours_per_fte_month", self.hours_per_fte_month) is None:
            raise UserError("business.workload.hours_per_fte_month: null is not allowed (allowed: a number > 0)")

    @classmethod
    def from_config(cls, node: Mapping[str, Any] | None, where: str = "business.workload") -> Workload:
        node = dict(node or {})
        _known_keys(where, node, (f.name for f in fields(cls)))
        return cls(**node)


# --- estimates --------------------------------------------------------------------------------------
def aggregate_settings(result: EvalResult) -> dict[str, Any]:
    """The run's own bootstrap settings (resamples, confidence, seed, min_n), so business figures and
    metrics rest on the same resampling."""
    stats = {"n_boot": 1000, "confidence": 0.95, "seed": 0, "min_n": DEFAULT_MIN_N,
             "max_undefined": DEFAULT_MAX_UNDEFINED}
    stats.update({k: v for k, v in (result.manifest.get("aggregate") or {}).items() if k in stats})
    return stats


@dataclass(frozen=True)
class Estimate:
    value: float
    ci_low: float
    ci_high: float
    n: int
    too_few: bool

    def scaled(self, factor: float) -> Estimate:
        return Estimate(self.value * factor, self.ci_low * factor, self.ci_high * factor, self.n, self.too_few)


def mean_estimate(conversation_ids: Sequence[Any], values: Sequence[float], agg: Mapping[str, Any]) -> Estimate:
    """Mean of `values` (one per row) with a CI from resampling whole conversations: the same cluster
    bootstrap as the metrics (`evals.aggregate.summarise`, a mean being a ratio of sums)."""
    ids = list(conversation_ids)
    if not ids:
        return Estimate(math.nan, math.nan, math.nan, 0, True)
    rows = pd.DataFrame({"variant": "x", "case_id": [str(i) for i in range(len(ids))], "conversation_id": ids,
                         "scorer": "m", "value": np.asarray(values, dtype=float), "label": None})
    row = summarise(rows, [MetricSpec("m", "m", None)], **agg).iloc[0]
    return Estimate(float(row["value"]), float(row["ci_low"]), float(row["ci_high"]), int(row["n"]),
                    bool(row["too_few"]))


def ratio_estimate(scores: pd.DataFrame, scorer: str, ratio: Ratio, agg: Mapping[str, Any]) -> Estimate:
    """A ratio of label counts of one scorer's rows (e.g. missed / should hand off), as the metrics are."""
    rows = scores[scores["scorer"] == scorer].assign(variant="x")
    if rows.empty:
        return Estimate(math.nan, math.nan, math.nan, 0, True)
    row = summarise(rows, [MetricSpec("r", scorer, ratio)], **agg).iloc[0]
    return Estimate(float(row["value"]), float(row["ci_low"]), float(row["ci_high"]), int(row["n"]),
                    bool(row["too_few"]))


NA = Estimate(math.nan, math.nan, math.nan, 0, True)


def row(variant: str, measure: str, estimate: Estimate, counts: str, unit: str, direction: str,
        note: str = "") -> dict[str, Any]:
    return {"variant": variant, "measure": measure, "value": estimate.value, "ci_low": estimate.ci_low,
            "ci_high": estimate.ci_high, "n": estimate.n, "too_few": estimate.too_few, "counts": counts,
            "unit": unit, "direction": direction, "note": note}


def scorers_with_labels(scores: pd.DataFrame, labels: frozenset[str] | re.Pattern[str]) -> list[str]:
    """The scorers whose labels are all among `labels` (or all match the pattern), in the results' order."""
    named = []
    for name, rows in scores.groupby("scorer", sort=False):
        found = {str(x) for x in rows["label"].dropna()}
        if found and (found <= labels if isinstance(labels, frozenset)
                      else all(labels.fullmatch(x) for x in found)):
            named.append(str(name))
    return named


def scorer_with_labels(scores: pd.DataFrame, labels: frozenset[str] | re.Pattern[str]) -> str | None:
    """The first scorer whose labels are all among `labels` (or all match the pattern), or None."""
    return next(iter(scorers_with_labels(scores, labels)), None)


# --- money ------------------------------------------------------------------------------------------
def bot_cost_per_conversation(replies: pd.DataFrame, costs: Costs) -> tuple[pd.Series | None, str]:
    """Bot cost summed per conversation over the answered replies given, or (None, why it is unknown).

    A reply without a cost takes `costs.bot_cost_per_reply_usd`; with neither, the total is unknown."""
    answered = replies[replies["error"].isna()]
    cost = pd.to_numeric(answered["cost_usd"], errors="coerce").astype(float)
    note = ""
    unpriced = int(cost.isna().sum())
    if unpriced and costs.bot_cost_per_reply_usd is not None:
        cost = cost.fillna(costs.bot_cost_per_reply_usd)
        note = f"{unpriced} of {len(cost)} replies priced at business.costs.bot_cost_per_reply_usd"
    elif unpriced:
        return None, (f"no cost recorded for {unpriced} of {len(cost)} replies (add the model's price to "
                      "conf/prices, or set business.costs.bot_cost_per_reply_usd)")
    failed = int(replies["error"].notna().sum())
    if failed:
        note = "; ".join(filter(None, [note, f"{failed} failed replies not costed"]))
    return cost.groupby(answered["conversation_id"], sort=False).sum(), note


HUMAN_COST_UNKNOWN = "set business.costs.minutes_per_handoff and hourly_rate_usd"


# --- response time ----------------------------------------------------------------------------------
def human_delays(conversations: Sequence[Conversation]) -> pd.DataFrame:
    """Per decision point, seconds between the customer's turn and the agent's next turn, from the turns'
    timestamps: columns conversation_id, case_id, delay_s. Points without both timestamps are left out
    (an empty table: the data has none); a negative delay (clocks out of order) is left out too."""
    rows = []
    for conv in conversations:
        for ref in conv.references:
            asked = conv.turns[ref.turn]
            answer = next((t for t in conv.turns[ref.turn + 1:] if t.role == "agent"), None)
            if asked.timestamp is None or answer is None or answer.timestamp is None:
                continue
            start, end = datetime.fromisoformat(asked.timestamp), datetime.fromisoformat(answer.timestamp)
            if (start.tzinfo is None) != (end.tzinfo is None):
                continue  # one with a time zone, one without: no honest difference
            delay = (end - start).total_seconds()
            if delay >= 0:
                rows.append((conv.conversation_id, f"{conv.conversation_id}#{ref.turn}", delay))
    return pd.DataFrame(rows, columns=["conversation_id", "case_id", "delay_s"])


def _weighted_medians(values: np.ndarray, cluster: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Median of `values` for each row of `weights` (B x C resampled counts of each cluster)."""
    order = np.argsort(values, kind="stable")
    ordered, clusters = values[order], cluster[order]
    w = weights[:, clusters].cumsum(axis=1)
    half = w[:, -1:] / 2.0
    lower = np.argmax(w >= half, axis=1)
    upper = np.argmax(w > half, axis=1)
    out = (ordered[lower] + ordered[upper]) / 2.0
    return np.where(w[:, -1] > 0, out, np.nan)


def _bootstrap_medians(samples: Sequence[tuple[np.ndarray, np.ndarray]], n_clusters: int,
                       agg: Mapping[str, Any]) -> list[np.ndarray]:
    """Each (values, cluster index) sample's median over the same resamples of the clusters (B each)."""
    n_boot = int(agg["n_boot"])
    rng = np.random.default_rng(agg["seed"])
    out: list[list[np.ndarray]] = [[] for _ in samples]
    for start in range(0, n_boot, 100):
        weights = rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=min(100, n_boot - start))
        for got, (values, cluster) in zip(out, samples):
            got.append(_weighted_medians(values, cluster, weights.astype(float)))
    return [np.concatenate(g) if g else np.empty(0) for g in out]


def _percentile(stats: np.ndarray, confidence: float) -> tuple[float, float]:
    stats = stats[np.isfinite(stats)]
    if len(stats) == 0:
        return math.nan, math.nan
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return float(low), float(high)


def median_estimate(conversation_ids: Sequence[Any], values: Sequence[float], agg: Mapping[str, Any]) -> Estimate:
    """Median with a CI from resampling whole conversations."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return NA
    codes, uniques = pd.factorize(pd.Series(list(conversation_ids)))
    point = float(np.median(values))
    if int(agg["n_boot"]) < 1 or len(uniques) < 2:
        return Estimate(point, math.nan, math.nan, len(values), len(values) < agg["min_n"])
    (boot,) = _bootstrap_medians([(values, codes)], len(uniques), agg)
    low, high = _percentile(boot, agg["confidence"])
    return Estimate(point, low, high, len(values), len(values) < agg["min_n"])


def faster_estimate(bot: pd.DataFrame, human: pd.DataFrame, agg: Mapping[str, Any]) -> Estimate:
    """1 - median(bot latency) / median(human delay) ("the bot responds X % faster"), on the conversations
    both have, with a paired CI (both medians from the same resampled conversations)."""
    shared = pd.Index(bot["conversation_id"].unique()).intersection(pd.Index(human["conversation_id"].unique()))
    bot, human = bot[bot["conversation_id"].isin(shared)], human[human["conversation_id"].isin(shared)]
    if bot.empty or human.empty:
        return NA
    bot_median, human_median = float(np.median(bot["value"])), float(np.median(human["value"]))
    point = 1.0 - bot_median / human_median if human_median > 0 else math.nan
    n = min(len(bot), len(human))
    too_few = n < agg["min_n"]
    if int(agg["n_boot"]) < 1 or len(shared) < 2:
        return Estimate(point, math.nan, math.nan, n, too_few)
    at = {c: i for i, c in enumerate(shared)}
    b, h = _bootstrap_medians([(bot["value"].to_numpy(float), bot["conversation_id"].map(at).to_numpy()),
                               (human["value"].to_numpy(float), human["conversation_id"].map(at).to_numpy())],
                              len(shared), agg)
    with np.errstate(divide="ignore", invalid="ignore"):
        stats = np.where(h > 0, 1.0 - b / np.where(h > 0, h, 1.0), np.nan)
    low, high = _percentile(stats, agg["confidence"])
    return Estimate(point, low, high, n, too_few)


NO_TIMESTAMPS = ("the results carry no timestamps: pass human_delays(conversations) from the dataset "
                 "(customer and agent turns need `timestamp`)")
EMPTY_TIMESTAMPS = "the dataset has no timestamps on its customer turns and the agents' replies"


# --- the view ---------------------------------------------------------------------------------------
def view(result: EvalResult, costs: Costs, delays: pd.DataFrame | None = None,
         people: Sequence[str] = ("human",)) -> pd.DataFrame:
    """One row per (variant, measure) with value, CI, n, what n counts, unit, which way is better and a
    note (why a figure is n/a, or what it assumes). `delays`: `human_delays(conversations)` of the
    evaluated dataset, for response time; `people`: variants whose replies people wrote (the human
    variant), for whom the bot figures are zero or n/a and all conversations are people's work."""
    agg = aggregate_settings(result)
    escalation = scorer_with_labels(result.scores, ESCALATION_LABELS)
    access = scorer_with_labels(result.scores, ACCESS_LABELS)
    rows: list[dict[str, Any]] = []
    for variant in result.variants:
        replies = result.replies[result.replies["variant"] == variant]
        scores = result.scores[result.scores["variant"] == variant]
        rows += _handoffs(variant, replies, scores, escalation, access, variant in people, agg)
        rows += _money(variant, replies, costs, variant in people, agg)
        rows += _response_time(variant, replies, delays, variant in people, agg)
    return pd.DataFrame(rows, columns=COLUMNS)


def _handoffs(variant: str, replies: pd.DataFrame, scores: pd.DataFrame, escalation: str | None,
              access: str | None, by_people: bool, agg: Mapping[str, Any]) -> list[dict[str, Any]]:
    answered = replies[replies["error"].isna()]
    handed = answered.groupby("conversation_id", sort=False)["escalated"].any()
    if by_people:
        kept = Estimate(0.0, 0.0, 0.0, len(handed), len(handed) < agg["min_n"])
        kept_note = "answered by people: no conversation is kept by a bot"
    else:
        kept, kept_note = mean_estimate(handed.index, (~handed).astype(float), agg), ""
    rate_note = "the agents' own hand-offs to another person" if by_people else ""
    out = [row(variant, "containment", kept, "conversations", "share", "neither", kept_note),
           row(variant, "handoff_rate", mean_estimate(answered["conversation_id"], answered["escalated"].astype(float),
                                                      agg), "answered decision points", "share", "neither", rate_note)]
    for measure, ratio, counts in (
            ("missed_handoff_rate", Ratio({MISSED: 1}, {CORRECT_HANDOFF: 1, MISSED: 1}),
             "decision points that should hand off"),
            ("premature_handoff_rate", Ratio({PREMATURE: 1}, {PREMATURE: 1, CORRECT_CONTAINMENT: 1}),
             "decision points that should not hand off")):
        if escalation is None:
            out.append(row(variant, measure, NA, counts, "share", "lower", "no escalation scores in these results"))
        else:
            out.append(row(variant, measure, ratio_estimate(scores, escalation, ratio, agg), counts, "share", "lower",
                           f"from scorer '{escalation}'"))
    counts = "turns where the customer asked for a person"
    if access is None:
        out.append(row(variant, "refused_human_rate", NA, counts, "share", "lower",
                       "no human_access scores in these results"))
    else:
        refused = ratio_estimate(scores, access, Ratio({REFUSED: 1}, {REFUSED: 1, HONOURED: 1}), agg)
        out.append(row(variant, "refused_human_rate", refused, counts, "share", "lower", f"from scorer '{access}'"))
    return out


def _money(variant: str, replies: pd.DataFrame, costs: Costs, by_people: bool,
           agg: Mapping[str, Any]) -> list[dict[str, Any]]:
    conversations = pd.Index(replies["conversation_id"].unique())
    answered = replies[replies["error"].isna()]
    if by_people:
        bot, bot_note = pd.Series(0.0, index=conversations), "replies by people: no bot cost"
        with_person = pd.Series(True, index=conversations)
    else:
        bot, bot_note = bot_cost_per_conversation(replies, costs)
        if bot is not None:
            bot = bot.reindex(conversations, fill_value=0.0)  # a conversation of failed replies cost nothing known
        with_person = answered.groupby("conversation_id", sort=False)["escalated"].any().reindex(conversations,
                                                                                                  fill_value=False)
    counts = "conversations"
    out = [row(variant, "bot_cost_per_conversation_usd",
               NA if bot is None else mean_estimate(bot.index, bot.to_numpy(), agg), counts, "USD", "lower", bot_note)]
    price = costs.usd_per_human_conversation
    human = None if price is None else with_person.astype(float) * price
    human_note = HUMAN_COST_UNKNOWN if human is None else (
        f"every conversation x {costs.minutes_per_handoff:g} min x {costs.hourly_rate_usd:g} USD/h" if by_people else
        f"conversations handed off x {costs.minutes_per_handoff:g} min x {costs.hourly_rate_usd:g} USD/h")
    out.append(row(variant, "human_cost_per_conversation_usd",
                   NA if human is None else mean_estimate(human.index, human.to_numpy(), agg), counts, "USD",
                   "lower", human_note))
    total_note = "; ".join(filter(None, [bot_note if bot is None else "", human_note if human is None else ""]))
    total = NA if bot is None or human is None else mean_estimate(conversations, (bot + human).to_numpy(), agg)
    out.append(row(variant, "cost_per_conversation_usd", total, counts, "USD", "lower",
                   total_note or "bot cost + human cost"))
    return out


def _response_time(variant: str, replies: pd.DataFrame, delays: pd.DataFrame | None, by_people: bool,
                   agg: Mapping[str, Any]) -> list[dict[str, Any]]:
    answered = replies[replies["error"].isna() & replies["latency_s"].notna()]
    if by_people:
        latency, latency_note = NA, "replies read from the data, not timed: see human_delay_s"
    else:
        latency, latency_note = median_estimate(answered["conversation_id"], answered["latency_s"], agg), "median"
    out = [row(variant, "latency_s", latency, "answered decision points", "seconds", "lower", latency_note)]
    if delays is None or delays.empty:
        why = NO_TIMESTAMPS if delays is None else EMPTY_TIMESTAMPS
        out.append(row(variant, "human_delay_s", NA, "decision points with timestamps", "seconds", "lower", why))
        out.append(row(variant, "faster_share", NA, "decision points", "share", "higher", why))
        return out
    mine = delays[delays["case_id"].isin(replies["case_id"])]
    out.append(row(variant, "human_delay_s", median_estimate(mine["conversation_id"], mine["delay_s"], agg),
                   "decision points with timestamps", "seconds", "lower",
                   "median delay from the customer's turn to the agent's reply"))
    if by_people:
        out.append(row(variant, "faster_share", NA, "decision points", "share", "higher", latency_note))
    else:
        bot = answered.assign(value=answered["latency_s"].astype(float))[["conversation_id", "value"]]
        human = mine.assign(value=mine["delay_s"].astype(float))[["conversation_id", "value"]]
        out.append(row(variant, "faster_share", faster_estimate(bot, human, agg), "decision points (the fewer side)",
                       "share", "higher", "1 - median latency / median human delay, on shared conversations"))
    return out


# --- the whole analysis, from the config ----------------------------------------------------------------
@dataclass(frozen=True)
class BusinessSettings:
    """The `business` config section (docs/business.md)."""

    costs: Costs = field(default_factory=Costs)
    workload: Workload = field(default_factory=Workload)
    people: tuple[str, ...] = ("human",)
    human: str | None = "human"  # the people's variant the what-if routes to; None = no what-if
    quality_metric: str | None = None  # the frontier's y axis; None = the first headline metric with a direction
    policies: tuple[Any, ...] = ()  # evals.hybrid.Policy

    @classmethod
    def from_config(cls, node: Mapping[str, Any] | None) -> BusinessSettings:
        from evals.hybrid import Policy

        node = dict(node or {})
        _known_keys("business", node, (f.name for f in fields(cls)))
        people = node.get("people", ["human"])
        if isinstance(people, str) or not isinstance(people, Sequence) or not all(isinstance(p, str) for p in people):
            raise UserError(f"business.people: {people!r} is not allowed (allowed: a list of variant names)")
        for key in ("human", "quality_metric"):
            if not (node.get(key) is None or isinstance(node.get(key), str) and node[key].strip()):
                raise UserError(f"business.{key}: {node[key]!r} is not allowed (allowed: a name, or null)")
        policies = node.get("policies") or {}
        if not isinstance(policies, Mapping):
            raise UserError(f"business.policies: {policies!r} is not allowed (allowed: policy name -> "
                            "{by: none|intent|language|emotion, routes: {value: bot|human}, default: bot|human})")
        return cls(costs=Costs.from_config(node.get("costs")), workload=Workload.from_config(node.get("workload")),
                   people=tuple(people), human=node.get("human", "human"), quality_metric=node.get("quality_metric"),
                   policies=tuple(Policy.from_config(name, p) for name, p in policies.items()))


@dataclass(frozen=True)
class Business:
    view: pd.DataFrame  # `view`
    what_if: pd.DataFrame  # `evals.hybrid.what_if` of every bot variant x policy, stacked
    points: list[Any]  # evals.frontier.Point
    quality_metric: str | None
    quality_label: str


def analyse(result: EvalResult, settings: BusinessSettings, delays: pd.DataFrame | None = None) -> Business:
    """The view, every bot variant under every policy (when the people's variant is in the run), and the
    frontier's points."""
    from evals import frontier, hybrid

    table = view(result, settings.costs, delays, settings.people)
    what_ifs = []
    if settings.human is not None and settings.human in result.variants:
        bots = [v for v in result.variants if v not in settings.people]
        for policy in settings.policies:
            everything_to_people = policy.by == "none" and policy.default == "human"  # the same for every bot
            what_ifs += [hybrid.what_if(result, bot, settings.human, policy, settings.costs, settings.workload)
                         for bot in (bots[:1] if everything_to_people else bots)]
    what_if = pd.concat(what_ifs, ignore_index=True) if what_ifs else pd.DataFrame(columns=hybrid.COLUMNS)
    metric = settings.quality_metric or frontier.default_metric(result)
    points = [] if metric is None else frontier.points(result, table, what_if, metric)
    label = frontier.metric_label(result, metric) if metric else ""
    return Business(table, what_if, points, metric, label)


def write(business: Business, folder: str | Path) -> tuple[list[Path], str | None]:
    """business.csv, what_if.csv and (with at least one point to draw) frontier.png in `folder`; and the
    frontier as SVG for the HTML report (None when nothing could be drawn)."""
    from evals import frontier

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    files = [out / "business.csv", out / "what_if.csv"]
    business.view.to_csv(files[0], index=False)
    business.what_if.to_csv(files[1], index=False)
    svg = None
    if any(p.drawable for p in business.points):
        files.append(out / "frontier.png")
        svg = frontier.plot(business.points, files[-1], business.quality_label)
    return files, svg
