"""The queue file: answers land at once, undo, skip, per-item reviewer counts, tokens, sessions."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from evals.errors import UserError
from evals.review.store import NewItem, QueueMeta, Store


def make_queue(path: Path, n: int = 3, per_item: int = 1, asked=("empathy", "should_escalate")) -> Store:
    items = [NewItem(f"c{i}#0", f"c{i}", 0, "en", [{"role": "customer", "text": f"help {i}"}],
                     [("bot", f"reply {i}", False), ("human", f"agent {i}", True)])
             for i in range(n)]
    return Store.create(path, QueueMeta("q", "runs/x", "random", 0, tuple(asked), per_item), items)


def answer_all(store: Store, item_id: int, who: str, value: str = "3") -> None:
    item = store.item(item_id)
    for slot, question in store.questions_for(item):
        store.answer(item_id, slot, question.name, who, value if question.name == "empathy" else "no")


def test_answers_are_on_disk_before_the_call_returns(tmp_path):
    store = make_queue(tmp_path / "q.db")
    store.answer(1, 0, "empathy", "ana", "4")
    # another connection (as after a crash and restart) sees it without any close or commit
    with sqlite3.connect(tmp_path / "q.db") as other:
        assert other.execute("SELECT value FROM labels").fetchall() == [("4",)]


def test_a_changed_answer_and_undo_keep_history(tmp_path):
    store = make_queue(tmp_path / "q.db")
    store.answer(1, 0, "empathy", "ana", "4")
    store.answer(1, 0, "empathy", "ana", "2")
    assert [lab.value for lab in store.labels("ana")] == ["2"]
    undone = store.undo("ana")
    assert undone is not None and undone.value == "2"
    assert [lab.value for lab in store.labels("ana")] == ["4"]
    store.undo("ana")
    assert store.labels("ana") == [] and store.undo("ana") is None


def test_bad_answers_are_refused(tmp_path):
    store = make_queue(tmp_path / "q.db")
    with pytest.raises(UserError, match="allowed: 1, 2, 3, 4, 5"):
        store.answer(1, 0, "empathy", "ana", "9")
    with pytest.raises(UserError, match="does not ask 'accuracy'"):
        store.answer(1, 0, "accuracy", "ana", "correct")
    with pytest.raises(UserError, match="does not ask 'should_escalate' of reply slot 0"):
        store.answer(1, 0, "should_escalate", "ana", "yes")
    with pytest.raises(UserError, match="no item 99"):
        store.answer(99, 0, "empathy", "ana", "3")


def test_next_item_respects_reviewers_per_item_and_skips(tmp_path):
    store = make_queue(tmp_path / "q.db", n=3, per_item=1)
    assert store.next_item("ana").item_id == 1
    store.skip(1, "ana")
    assert store.next_item("ana").item_id == 2
    answer_all(store, 2, "ana")
    assert store.next_item("bob").item_id == 1  # item 2 has its one reviewer
    answer_all(store, 1, "bob")
    assert store.next_item("ana").item_id == 3
    answer_all(store, 3, "ana")
    assert store.next_item("ana") is None
    progress = store.progress("ana")
    assert (progress.done_by_me, progress.open_to_me, progress.total, progress.complete) == (2, 0, 3, 3)


def test_a_started_item_stays_open_to_its_reviewer(tmp_path):
    store = make_queue(tmp_path / "q.db", n=1, per_item=1)
    store.answer(1, 0, "empathy", "ana", "3")
    answer_all(store, 1, "bob")  # bob finished it first: ana may still finish what she started
    assert store.next_item("ana").item_id == 1
    assert store.next_item("cy") is None


def test_tokens_are_stored_hashed_and_revocable(tmp_path):
    store = make_queue(tmp_path / "q.db")
    token = store.add_reviewer("ana")
    assert store.reviewer_for_token(token).name == "ana"
    assert store.reviewer_for_token(token + "x") is None
    raw = (tmp_path / "q.db").read_bytes() + (tmp_path / "q.db-wal").read_bytes()
    assert token.encode() not in raw
    session, csrf = store.open_session(store.reviewer_for_token(token))
    assert store.session(session)[1] == csrf
    store.revoke("ana")
    assert store.reviewer_for_token(token) is None and store.session(session) is None
    with pytest.raises(UserError, match="already exists"):
        make_queue(tmp_path / "q.db")


def test_concurrent_reviewers_lose_nothing(tmp_path):
    make_queue(tmp_path / "q.db", n=20, per_item=2).close()

    def label(who: str) -> None:
        with Store(tmp_path / "q.db") as store:
            for item_id in range(1, 21):
                answer_all(store, item_id, who, value=str(1 + item_id % 5))

    threads = [threading.Thread(target=label, args=(who,)) for who in ("ana", "bob", "cy")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Store(tmp_path / "q.db") as store:
        labels = store.labels()
        assert len(labels) == 3 * 20 * 3  # 3 reviewers x 20 items x (2 replies + 1 item question)
        assert {lab.reviewer for lab in labels} == {"ana", "bob", "cy"}


def test_adjudication_replaces_an_earlier_one(tmp_path):
    store = make_queue(tmp_path / "q.db")
    store.adjudicate(1, None, "should_escalate", "yes", "olga")
    store.adjudicate(1, None, "should_escalate", "no", "olga")
    assert store.adjudications() == {(1, None, "should_escalate"): ("no", "olga")}
    with pytest.raises(UserError):
        store.adjudicate(1, 0, "should_escalate", "yes", "olga")


def test_opening_something_else_is_a_one_line_error(tmp_path):
    (tmp_path / "x.db").write_text("not a database")
    with pytest.raises(UserError, match="not a labelling queue"):
        Store(tmp_path / "x.db")
    with pytest.raises(UserError, match="no such queue"):
        Store(tmp_path / "missing.db")


def test_the_name_of_final_labels_is_no_reviewer_name(tmp_path):
    store = make_queue(tmp_path / "q.db")
    with pytest.raises(UserError, match="'adjudicated' is reserved"):
        store.add_reviewer("adjudicated")
