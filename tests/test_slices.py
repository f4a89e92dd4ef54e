"""Metrics per slice of the decision points, with n and CI; too-few slices flagged, the worst one named."""

from __future__ import annotations

import pandas as pd
import pytest
from builders import conversation

from evals.aggregate import summarise
from evals.api import Settings, evaluate
from evals.errors import UserError
from evals.scorers.escalation import EscalationScorer
from evals.slices import slices, worst_slices
from evals.types import Answer, Inquiry


class EnglishOnlyBot:
    """Hands off when the customer asks for a 'human', so it misses every German request ('Mensch')."""

    name = "bot"

    def prepare(self, memory) -> None:
        pass

    async def respond(self, inquiry: Inquiry) -> Answer:
        wants = "human" in inquiry.history[-1].text
        return Answer(text="A colleague will take over." if wants else "Noted.", escalated=wants)


ASK = {"en": "I want a human now", "de": "Ich will einen Mensch sprechen", "fr": "Je veux un human maintenant"}


def chats(counts: dict[str, int]) -> list:
    """Every other conversation asks for a person; `counts` conversations per language."""
    convs = []
    for language, count in counts.items():
        for i in range(count):
            asks = i % 2 == 0
            conv = conversation(f"{language}{i}", turns=[("customer", ASK[language] if asks else "Where is my parcel?"),
                                                         ("agent", "ok")], should_escalate=asks, language=language)
            convs.append(conv.model_copy(update={"channel": "chat" if i % 4 < 2 else "email"}))
    return convs


@pytest.fixture(scope="module")
def result():
    return evaluate(chats({"en": 30, "de": 30, "fr": 4}), [EnglishOnlyBot()], [EscalationScorer()],
                    Settings(bootstrap=0))


def test_each_slice_has_its_metrics_with_n_and_ci_the_worst_named_by_direction(result) -> None:
    table = slices(result, "language", n_boot=300, seed=1).set_index(["slice", "metric"])
    assert table.loc[("en", "escalation.recall"), "value"] == 1.0
    assert table.loc[("de", "escalation.recall"), "value"] == 0.0
    assert table.loc[("en", "escalation.recall"), "n"] == 15  # the English decision points that should hand off
    assert table.loc[("en", "escalation.mean"), "ci_low"] <= table.loc[("en", "escalation.mean"), "value"]
    worst = worst_slices(slices(result, "language", n_boot=100)).set_index("metric")["slice"]
    assert worst["escalation.recall"] == "de"  # higher is better: the lowest
    assert worst["escalation.missed_rate"] == "de"  # lower is better: the highest
    assert "escalation.mean" not in worst  # neither way is better: nothing to rank


def test_a_slice_below_min_n_is_flagged_too_few_and_not_ranked(result) -> None:
    table = slices(result, "language", n_boot=100, min_n=10).set_index(["slice", "metric"])
    french = table.loc[("fr", "escalation.recall")]
    assert french["n"] == 2 and french["too_few"] and pd.isna(french["rank"]) and not french["worst"]
    assert table.loc[("de", "escalation.recall"), "rank"] == 1 and table.loc[("en", "escalation.recall"), "rank"] == 2


def test_a_slice_is_the_whole_runs_metric_recomputed_on_its_rows(result) -> None:
    table = slices(result, "channel", n_boot=200, seed=3)
    chat = table[(table["slice"] == "chat")].set_index("metric")
    rows = result.replies[result.replies["channel"] == "chat"]["case_id"]
    expected = summarise(result.scores[result.scores["case_id"].isin(rows)], result.metric_specs(), n_boot=200,
                         seed=3).set_index("metric")
    pd.testing.assert_frame_equal(chat[["value", "ci_low", "ci_high", "n"]], expected[["value", "ci_low", "ci_high",
                                                                                       "n"]], check_dtype=False)


def test_a_column_that_is_not_there_or_not_a_slice_is_a_one_line_error(result) -> None:
    with pytest.raises(UserError, match=r"--by region: no column 'region' in replies.parquet \(columns: variant"):
        slices(result, "region")
    with pytest.raises(UserError, match="--by case_id: 64 distinct values"):
        slices(result, "case_id")


def test_rows_without_a_value_form_their_own_slice(result) -> None:
    table = slices(result, "intent", n_boot=0)  # builders' conversations have no intent
    assert set(table["slice"]) == {"(missing)"} and not table["worst"].any()


def test_among_equal_slices_none_is_named_worst() -> None:
    perfect = evaluate(chats({"en": 12, "fr": 12}), [EnglishOnlyBot()], [EscalationScorer()], Settings(bootstrap=0))
    table = slices(perfect, "language", n_boot=0, min_n=1)  # both languages: every hand-off caught
    recall = table[table["metric"] == "escalation.recall"]
    assert (recall["value"] == 1.0).all() and (recall["rank"] == 1).all() and not recall["worst"].any()
