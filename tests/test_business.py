"""The business view on a constructed shop: hand-offs, cost and response time computed by hand."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from evals.api import Settings, evaluate
from evals.business import BusinessSettings, Costs, Workload, analyse, human_delays, view, write
from evals.errors import UserError
from evals.scorers.escalation import EscalationScorer
from evals.scorers.human_access import HumanAccessScorer
from evals.types import Answer, Conversation, Inquiry, Score
from evals.variants.human import HumanVariant

BOT_PRICE = 0.002  # USD per bot reply, what ShopBot reports
START = datetime(2024, 5, 17, 14, 0, tzinfo=timezone.utc)


class ShopBot:
    """Hands off when the customer writes 'human'; each reply costs BOT_PRICE (or an unknown cost)."""

    def __init__(self, name: str = "bot", priced: bool = True) -> None:
        self.name, self.priced = name, priced

    def prepare(self, memory) -> None:
        pass

    async def respond(self, inquiry: Inquiry) -> Answer:
        wants = "human" in inquiry.history[-1].text
        return Answer("A colleague will take over." if wants else "It ships tomorrow.", escalated=wants,
                      cost_usd=BOT_PRICE if self.priced else None)


class Polite:
    """1 when the reply says sorry: the agents do, the bot does not, so a blend shows whose replies it holds."""

    name, ratios, label = "polite", {}, "polite"

    def score(self, case, reply) -> Score:
        return Score(case.case_id, reply.variant, self.name, float("sorry" in reply.text.lower()))


def chat(cid: str, customer: list[str], intent: str, should: bool, delays_s: list[int] | None = None,
         language: str = "en") -> Conversation:
    """Customer turns each answered by an agent ("Sorry, ..."), one reference per customer turn; with
    `delays_s`, timestamps with the agent answering that many seconds after each customer turn."""
    turns, refs, clock = [], [], START
    for i, text in enumerate(customer):
        turn = {"role": "customer", "text": text}
        answer = {"role": "agent", "text": f"Sorry for the trouble, I am on it ({i})."}
        if delays_s is not None:
            turn["timestamp"] = clock.isoformat()
            clock += timedelta(seconds=delays_s[i])
            answer["timestamp"] = clock.isoformat()
            clock += timedelta(seconds=30)
        refs.append({"turn": len(turns), "reply": answer["text"], "should_escalate": should,
                     "escalation_source": "human_review"})
        turns += [turn, answer]
    return Conversation.model_validate({"conversation_id": cid, "language": language, "intent": intent,
                                        "turns": turns, "references": refs})


def shop(delays: bool = False) -> list[Conversation]:
    """c0: one turn, asks for a human; c1: two turns, kept; c2: asks for a human twice; c3: one turn, kept,
    in German."""
    return [chat("c0", ["I want a human now"], "refund", True, [60] if delays else None),
            chat("c1", ["Where is my parcel?", "And the invoice?"], "refund", False, [30, 90] if delays else None),
            chat("c2", ["Get me a human", "Let me talk to a human"], "delivery", True, [120, 45] if delays else None),
            chat("c3", ["When do you open?"], "delivery", False, [20] if delays else None, language="de")]


def shop_result(priced: bool = True, scorers: list | None = None, delays: bool = False):
    return evaluate(shop(delays), [HumanVariant(name="human"), ShopBot(priced=priced)],
                    scorers if scorers is not None else [EscalationScorer(), HumanAccessScorer(), Polite()],
                    Settings(bootstrap=200, seed=3, min_n=1))


COSTS = Costs(minutes_per_handoff=6, hourly_rate_usd=30)  # one conversation a person takes: 6 / 60 * 30 = 3 USD


def measure(table, variant: str, name: str):
    return table.set_index(["variant", "measure"]).loc[(variant, name)]


def test_containment_handoffs_and_cost_equal_the_hand_arithmetic() -> None:
    table = view(shop_result(), COSTS)
    # Bot: hand-offs at c0#0, c2#0 and c2#2 of 6 decision points; c0 and c2 handed off, c1 and c3 kept.
    assert measure(table, "bot", "containment")["value"] == pytest.approx(2 / 4)
    assert measure(table, "bot", "containment")["n"] == 4
    assert measure(table, "bot", "handoff_rate")["value"] == pytest.approx(3 / 6)
    assert measure(table, "bot", "handoff_rate")["n"] == 6
    # Every reply costs 0.002: 6 replies over 4 conversations.
    assert measure(table, "bot", "bot_cost_per_conversation_usd")["value"] == pytest.approx(6 * 0.002 / 4)
    # c2 was handed off twice but a person takes it once: 2 conversations x 6 min x 30 USD/h / 60.
    assert measure(table, "bot", "human_cost_per_conversation_usd")["value"] == pytest.approx(2 * 6 * 30 / 60 / 4)
    assert measure(table, "bot", "cost_per_conversation_usd")["value"] == pytest.approx(6 * 0.002 / 4 + 1.5)
    low, high = measure(table, "bot", "containment")[["ci_low", "ci_high"]]
    assert 0 <= low <= 0.5 <= high <= 1 and low < high  # resampled whole conversations, not a point


def test_missed_premature_and_refused_come_from_the_scorers_labels() -> None:
    table = view(shop_result(), COSTS)
    # The bot hands off exactly where it should (c0, c2) and asked-for-a-human turns are honoured.
    assert measure(table, "bot", "missed_handoff_rate")["value"] == 0
    assert measure(table, "bot", "missed_handoff_rate")["n"] == 3  # c0#0, c2#0, c2#2 should hand off
    assert measure(table, "bot", "premature_handoff_rate")["value"] == 0
    assert measure(table, "bot", "refused_human_rate")["value"] == 0
    assert measure(table, "bot", "refused_human_rate")["n"] == 3
    # The agents answered but never handed off: all three should-hand-off points are missed by the labels.
    assert measure(table, "human", "missed_handoff_rate")["value"] == 1


def test_without_the_scorers_the_rates_are_na_with_the_reason() -> None:
    table = view(shop_result(scorers=[Polite()]), COSTS)
    missed, refused = measure(table, "bot", "missed_handoff_rate"), measure(table, "bot", "refused_human_rate")
    assert math.isnan(missed["value"]) and "no escalation scores" in missed["note"]
    assert math.isnan(refused["value"]) and "no human_access scores" in refused["note"]


def test_unknown_bot_cost_is_na_not_zero_and_so_is_the_total() -> None:
    table = view(shop_result(priced=False), COSTS)
    bot, total = measure(table, "bot", "bot_cost_per_conversation_usd"), measure(table, "bot",
                                                                                "cost_per_conversation_usd")
    assert math.isnan(bot["value"]) and math.isnan(total["value"])
    assert "no cost recorded for 6 of 6 replies" in bot["note"]
    # A configured price per reply fills the gap, and says so.
    priced = view(shop_result(priced=False), Costs(6, 30, bot_cost_per_reply_usd=0.01))
    assert measure(priced, "bot", "bot_cost_per_conversation_usd")["value"] == pytest.approx(6 * 0.01 / 4)
    assert "bot_cost_per_reply_usd" in measure(priced, "bot", "bot_cost_per_conversation_usd")["note"]


def test_no_configured_human_cost_is_na() -> None:
    human = measure(view(shop_result(), Costs()), "bot", "human_cost_per_conversation_usd")
    assert math.isnan(human["value"]) and "minutes_per_handoff" in human["note"]


def test_people_variant_costs_every_conversation_in_people_time_and_has_no_bot() -> None:
    table = view(shop_result(), COSTS)
    assert measure(table, "human", "containment")["value"] == 0
    assert measure(table, "human", "bot_cost_per_conversation_usd")["value"] == 0
    assert measure(table, "human", "cost_per_conversation_usd")["value"] == pytest.approx(3.0)  # 6 min x 30 USD/h
    assert math.isnan(measure(table, "human", "latency_s")["value"])


def test_human_delays_from_timestamps_and_the_bot_faster_share() -> None:
    conversations = shop(delays=True)
    delays = human_delays(conversations)
    assert sorted(delays["delay_s"]) == [20, 30, 45, 60, 90, 120]
    result = shop_result(delays=True)
    table = view(result, COSTS, delays)
    assert measure(table, "bot", "human_delay_s")["value"] == pytest.approx(np.median([20, 30, 45, 60, 90, 120]))
    bot_latency = result.replies.loc[result.replies["variant"] == "bot", "latency_s"]
    assert measure(table, "bot", "latency_s")["value"] == pytest.approx(bot_latency.median())
    faster = measure(table, "bot", "faster_share")
    assert faster["value"] == pytest.approx(1 - bot_latency.median() / 52.5)
    assert faster["ci_low"] <= faster["value"] <= faster["ci_high"]


def test_without_timestamps_response_time_is_na_with_the_reason() -> None:
    result = shop_result()
    assert human_delays(shop()).empty
    for delays, reason in ((None, "results carry no timestamps"), (human_delays(shop()), "no timestamps")):
        table = view(result, COSTS, delays)
        for name in ("human_delay_s", "faster_share"):
            row = measure(table, "bot", name)
            assert math.isnan(row["value"]) and reason in row["note"]


def test_a_mistyped_setting_names_the_key_and_what_is_allowed() -> None:
    with pytest.raises(UserError, match=r"business.costs.minutes_per_handoff: -1 is not allowed"):
        Costs(minutes_per_handoff=-1)
    with pytest.raises(UserError, match=r"business.costs.minutes: unknown key"):
        Costs.from_config({"minutes": 5})
    with pytest.raises(UserError, match=r"business.workload.hours_per_fte_month: 0"):
        Workload(hours_per_fte_month=0)
    with pytest.raises(UserError, match=r"business.policies.vip.default: 'robot' is not allowed"):
        BusinessSettings.from_config({"policies": {"vip": {"default": "robot"}}})


def test_analyse_from_the_config_section_writes_tables_and_the_frontier(tmp_path) -> None:
    settings = BusinessSettings.from_config({
        "costs": {"minutes_per_handoff": 6, "hourly_rate_usd": 30},
        "workload": {"conversations_per_month": 10000},
        "quality_metric": "polite.mean",
        "policies": {"bot_then_people": {"by": "none"}, "people_only": {"default": "human"}}})
    business = analyse(shop_result(), settings)
    assert set(business.what_if["policy"]) == {"bot_then_people", "people_only"}
    assert {p.name for p in business.points} == {"human", "bot", "bot + bot_then_people", "bot + people_only"}
    files, svg = write(business, tmp_path)
    assert [f.name for f in files] == ["business.csv", "what_if.csv", "frontier.png"]
    assert all(f.stat().st_size > 0 for f in files)
    assert svg is not None and "<svg" in svg  # the same frontier, for the HTML report
