"""Repeated trials: every decision point replayed k times, and how consistent each variant is."""

from __future__ import annotations

import random

import pytest
from builders import conversation
from tests_paths import PROMPT

from evals.api import Settings, evaluate
from evals.scorers.escalation import EscalationScorer
from evals.types import Answer, Inquiry
from evals.variants.openai_chat import OpenAIChatBot
from loopback.server import LoopbackServer, ServerConfig


def chats(n: int = 8) -> list:
    return [conversation(f"c{i}", turns=[("customer", "a human please" if i % 2 == 0 else "where is my order?"),
                                         ("agent", "ok")], should_escalate=i % 2 == 0) for i in range(n)]


class WrongOnSomeTrials:
    """Right about the hand-off except on the trials `wrong` lists per conversation."""

    name = "bot"

    def __init__(self, wrong: dict[str, set[int]]) -> None:
        self.wrong = wrong

    def prepare(self, memory) -> None:
        pass

    async def respond(self, inquiry: Inquiry) -> Answer:
        right = "human" in inquiry.last_message
        flip = inquiry.repeat in self.wrong.get(inquiry.conversation_id, set())
        return Answer(text="ok", escalated=right != flip)


def test_pass_at_k_and_pass_all_k_match_a_count_by_hand() -> None:
    # 8 decision points x 3 trials: c0 wrong on every trial, c1 on one, c2 on two, the other five never
    bot = WrongOnSomeTrials({"c0": {0, 1, 2}, "c1": {1}, "c2": {0, 2}})
    result = evaluate(chats(8), [bot], [EscalationScorer()], Settings(bootstrap=200, repeats=3))
    summary = result.summary.set_index("metric")
    assert summary.loc["escalation.pass_at_3", "value"] == pytest.approx(7 / 8)  # all but c0 right at least once
    assert summary.loc["escalation.pass_all_3", "value"] == pytest.approx(5 / 8)  # c0, c1, c2 slipped
    assert summary.loc["escalation.pass_all_3", "n"] == 8
    assert summary.loc["escalation.mean", "value"] == pytest.approx((24 - 3 - 1 - 2) / 24)  # over every trial
    assert summary.loc["escalation.pass_all_3", "label"] == "escalation: all 3 trials pass"  # a headline metric
    replies = result.replies
    assert len(replies) == 24 and sorted(set(replies["repeat"])) == [0, 1, 2]
    assert set(replies.query("repeat == 0")["case_id"]) == {f"c{i}#0" for i in range(8)}  # pairs with a 1-trial run
    assert "c1#0~2" in set(replies["case_id"]) and result.manifest["dataset"]["decision_points"] == 8
    assert result.manifest["repeats"] == 3


def test_a_single_trial_run_has_no_consistency_rows() -> None:
    result = evaluate(chats(4), [WrongOnSomeTrials({})], [EscalationScorer()], Settings(bootstrap=0))
    assert not result.summary["metric"].str.contains("pass_").any()
    assert set(result.replies["repeat"]) == {0}


def test_a_seeded_bot_is_sampled_with_a_new_seed_on_each_trial(monkeypatch) -> None:
    monkeypatch.setenv("TEST_BOT_KEY", "key-for-tests")
    with LoopbackServer(ServerConfig()) as server:
        bot = OpenAIChatBot("bot", model="test-model", system_prompt=str(PROMPT), base_url=server.openai_url,
                            api_key_env="TEST_BOT_KEY", seed=7, limits={"timeout_s": 5})
        evaluate(chats(2), [bot], [EscalationScorer()], Settings(bootstrap=0, repeats=3))
        seeds = sorted(body["seed"] for body in server.received)
    assert seeds == [7, 7, 8, 8, 9, 9]


def test_trials_of_a_random_bot_disagree_so_pass_all_is_below_pass_at() -> None:
    class Coin(WrongOnSomeTrials):
        async def respond(self, inquiry: Inquiry) -> Answer:
            return Answer(text="ok", escalated=random.Random(inquiry.case_id).random() < 0.5)

    summary = evaluate(chats(40), [Coin({})], [EscalationScorer()],
                       Settings(bootstrap=200, repeats=4)).summary.set_index("metric")
    assert summary.loc["escalation.pass_all_4", "ci_high"] < summary.loc["escalation.pass_at_4", "ci_low"]
