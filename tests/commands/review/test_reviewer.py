"""`chatbot-evals review reviewer`: the token is printed once and stored only as a digest."""

from __future__ import annotations

import sqlite3

import pytest

from evals.commands.review import main
from evals.errors import UserError
from evals.review.store import NewItem, QueueMeta, Store


@pytest.fixture()
def queue(tmp_path) -> str:
    items = [NewItem("c0#0", "c0", 0, "en", [{"role": "customer", "text": "hi"}], [("bot", "hello", False)])]
    Store.create(tmp_path / "q.db", QueueMeta("q", "runs/x", "random", 0, ("empathy",), 1), items).close()
    return str(tmp_path / "q.db")


def test_the_owner_gets_a_token_once_and_the_queue_keeps_its_digest(queue, capsys):
    assert main(["reviewer", queue, "olga", "--owner"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    with Store(queue) as store:
        found = store.reviewer_for_token(token)
        assert found is not None and (found.name, found.role) == ("olga", "owner")
    with sqlite3.connect(queue) as db:
        assert token not in str(db.execute("SELECT * FROM reviewers").fetchall())


def test_revoke_ends_access(queue, capsys):
    main(["reviewer", queue, "ana"])
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert main(["reviewer", queue, "ana", "--revoke"]) == 0
    assert "access revoked" in capsys.readouterr().out
    with Store(queue) as store:
        assert store.reviewer_for_token(token) is None
    with pytest.raises(UserError, match="no active reviewer 'ana'"):
        main(["reviewer", queue, "ana", "--revoke"])


def test_mistakes_are_one_line_errors(queue, tmp_path):
    with pytest.raises(UserError, match="no such queue"):
        main(["reviewer", str(tmp_path / "none.db"), "ana"])
    with pytest.raises(UserError, match="reviewer name 'a b'"):
        main(["reviewer", queue, "a b"])
    with pytest.raises(UserError, match="not allowed with argument"):
        main(["reviewer", queue, "ana", "--owner", "--revoke"])
