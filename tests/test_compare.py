"""Comparing variants across runs: paired on the decision points both answered, from results alone."""

from __future__ import annotations

import pandas as pd
import pytest
from builders import conversation

from evals.api import Settings, evaluate
from evals.compare import pair
from evals.errors import UserError
from evals.scorers.escalation import EscalationScorer
from evals.types import Answer, Inquiry
from evals.variants.human import HumanVariant


class KeywordBot:
    """Hands off when the customer says 'human'."""

    def __init__(self, name: str = "rules") -> None:
        self.name = name

    def prepare(self, memory) -> None:
        pass

    async def respond(self, inquiry: Inquiry) -> Answer:
        wants = "human" in inquiry.history[-1].text
        return Answer(text="A colleague will take over." if wants else "It ships tomorrow.", escalated=wants)


def chats(n: int = 30) -> list:
    return [conversation(f"c{i}", turns=[("customer", "I want to speak to a human agent now" if i % 3 == 0
                                          else f"Where is my order {i}?"),
                                         ("agent", "Let me transfer you to a colleague." if i % 4 == 0
                                          else "It ships tomorrow.")], should_escalate=i % 3 == 0)
            for i in range(n)]


def test_pairing_within_one_run_reproduces_the_runs_own_differences() -> None:
    result = evaluate(chats(), [HumanVariant(name="human"), KeywordBot()], [EscalationScorer()],
                      Settings(bootstrap=300, seed=1))
    paired = pair(result, "human", result, "rules", n_boot=300, seed=1)
    own = result.differences[result.differences["variant"] == "rules"]
    pd.testing.assert_frame_equal(paired.reset_index(drop=True), own.reset_index(drop=True), check_dtype=False)


def test_two_runs_pair_on_their_shared_decision_points_only_and_name_both_sides() -> None:
    first = evaluate(chats(30), [KeywordBot()], [EscalationScorer()], Settings(bootstrap=100))
    second = evaluate(chats(30)[10:], [KeywordBot()], [EscalationScorer()], Settings(bootstrap=100))
    paired = pair(first, "rules", second, "rules", n_boot=100).set_index("metric")
    assert set(paired["variant"]) == {"rules@2"} and set(paired["baseline"]) == {"rules"}
    assert paired.loc["escalation.mean", "n"] == 20 and paired.loc["escalation.mean", "diff"] == 0
    with pytest.raises(UserError, match="no variant 'bot'"):
        pair(first, "bot", second, "rules")
