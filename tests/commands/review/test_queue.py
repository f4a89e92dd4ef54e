"""`chatbot-evals review queue`: a run's decision points into a queue file, in-process."""

from __future__ import annotations

import pytest
from review.review_runs import run, write_dataset

from evals.commands.review import main
from evals.errors import UserError
from evals.review.store import Store


@pytest.fixture()
def results(tmp_path):
    folder = tmp_path / "run"
    run(write_dataset(tmp_path / "chats.jsonl")).save(folder / "results")
    return folder


def test_a_queue_is_made_from_a_results_folder(results, tmp_path, capsys):
    out = tmp_path / "review.db"
    assert main(["queue", str(results), "--out", str(out), "--size", "6", "--strategy", "stratified",
                 "--seed", "2", "--ask", "empathy,should_escalate", "--per-item", "3"]) == 0
    said = capsys.readouterr().out
    assert f"{out}: 6 items (stratified, seed 2)" in said and "candidates from human, rules" in said
    assert "1 of 16 decision points left out: no usable reply" in said
    with Store(out) as store:
        assert (store.meta.strategy, store.meta.seed, store.meta.asked, store.meta.per_item) == \
            ("stratified", 2, ("empathy", "should_escalate"), 3)
        assert store.meta.extra["results"] == str((results / "results").resolve())
        assert store.meta.extra["without_candidate"] == 1
        assert {i.slice for i in store.items()} == {"language=en", "language=de", "language=fr"}
        assert all(len(i.history) >= 1 for i in store.items())


def test_one_variant_from_the_run_reference(results, tmp_path):
    out = tmp_path / "one.db"
    assert main(["queue", f"{results}#rules", "--out", str(out), "--size", "3"]) == 0
    with Store(out) as store:
        assert {c.variant for i in store.items() for c in i.candidates} == {"rules"}


@pytest.mark.parametrize(("extra", "message"), [
    (["--ask", "empathy,kindness"], "--ask kindness: unknown question"),
    (["--labels", "x.jsonl"], "no such label file"),
    (["--strategy", "contested"], "needs --labels"),
    (["--per-item", "0"], "--per-item 0: give at least 1"),
    (["--variants", "human,bot"], "--variants bot: the run has no such variant"),
    (["--strategy", "best"], "argument --strategy: invalid choice"),
])
def test_mistakes_are_one_line_errors(results, tmp_path, extra, message):
    with pytest.raises(UserError, match=message):
        main(["queue", str(results), "--out", str(tmp_path / "q.db"), *extra])
    assert not (tmp_path / "q.db").exists()


def test_an_existing_queue_is_never_overwritten(results, tmp_path):
    out = tmp_path / "q.db"
    out.write_text("precious")
    with pytest.raises(UserError, match="already exists"):
        main(["queue", str(results), "--out", str(out)])
    assert out.read_text() == "precious"
