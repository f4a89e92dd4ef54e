"""The conversation so far at a decision point: from the dataset, redacted like the results, never another chat."""

from __future__ import annotations

import pandas as pd
from builders import conversation

from evals.history import history_of
from evals.results import EvalResult

TURNS = (("customer", "Hi, my card was charged twice"), ("agent", "Sorry! Which card?"),
         ("customer", "The one ending 4111, mail me at ana@example.com"), ("agent", "Done."))


def test_the_turns_up_to_the_customer_message_the_run_answered():
    lookup = history_of([conversation("c1", TURNS)], "agent", redact=False, where="chats.jsonl")
    turns, note = lookup("c1", 2, "The one ending 4111, mail me at ana@example.com")
    assert note == "" and [t["role"] for t in turns] == ["customer", "agent", "customer"]
    assert turns[1]["text"] == "Sorry! Which card?"


def test_redacted_like_the_results_when_they_are():
    lookup = history_of([conversation("c1", TURNS)], "agent", redact=True, where="chats.jsonl")
    turns, note = lookup("c1", 2, "The one ending 4111, mail me at [EMAIL]")
    assert note == "" and "ana@example.com" not in str(turns) and "[EMAIL]" in turns[-1]["text"]


def test_the_last_message_alone_with_the_reason_otherwise():
    lookup = history_of([conversation("c1", TURNS)], "agent", redact=False, where="chats.jsonl")
    turns, note = lookup("c1", 2, "a message the dataset no longer holds")
    assert turns == [{"role": "customer", "text": "a message the dataset no longer holds"}]
    assert note == ("history: the customer's last message only "
                    "(chats.jsonl no longer holds the message the run answered)")
    assert "conversation c9 not in chats.jsonl" in lookup("c9", 0, "hello")[1]
    assert "turn 1 of c1 has no reference" in lookup("c1", 1, "Sorry! Which card?")[1]


def test_a_run_whose_dataset_is_gone_says_so(tmp_path):
    from evals.history import history_from_dataset

    empty = pd.DataFrame()
    result = EvalResult(empty, empty, empty, empty, {"dataset": {"source": str(tmp_path / "gone.jsonl")}})
    turns, note = history_from_dataset(result)("c1", 0, "hello")
    assert turns == [{"role": "customer", "text": "hello"}] and f"dataset {tmp_path}/gone.jsonl not found" in note
