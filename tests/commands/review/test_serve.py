"""`chatbot-evals review serve`: checks the queue before serving, prints the address and how to log in."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.commands.review import serve
from evals.errors import UserError
from evals.review.store import NewItem, QueueMeta, Store


def make_queue(path: Path) -> Path:
    item = NewItem("c0#0", "c0", 0, "en", [{"role": "customer", "text": "hi"}], [("bot", "hello", False)])
    Store.create(path, QueueMeta("q", "runs/x", "random", 0, ("empathy",), 1), [item]).close()
    return path


def test_serve_prints_the_address_and_runs_uvicorn_on_loopback(tmp_path, monkeypatch, capsys):
    queue = make_queue(tmp_path / "q.db")
    with Store(queue) as store:
        store.add_reviewer("ana")
    calls = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: calls.append((app, kw)))
    assert serve.main([str(queue), "--port", "9000"]) == 0
    out = capsys.readouterr().out
    assert "Labelling queue 'q' (1 items) at http://127.0.0.1:9000/" in out and "Reviewers (ana) log in" in out
    assert "warning" not in out
    assert calls and calls[0][1]["host"] == "127.0.0.1" and calls[0][1]["port"] == 9000


def test_serve_warns_off_loopback_and_without_reviewers(tmp_path, monkeypatch, capsys):
    queue = make_queue(tmp_path / "q.db")
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: None)
    assert serve.main([str(queue), "--host", "0.0.0.0"]) == 0
    out = capsys.readouterr().out
    assert "No reviewer can log in yet" in out and "warning: listening on 0.0.0.0" in out


def test_serve_refuses_a_missing_queue_or_a_bad_port(tmp_path):
    with pytest.raises(UserError, match="no such queue"):
        serve.main([str(tmp_path / "missing.db")])
    with pytest.raises(UserError, match="--port 70000: use 1-65535"):
        serve.main([str(make_queue(tmp_path / "q.db")), "--port", "70000"])
    assert serve.main(["--help"]) == 0
