"""`chatbot-evals review serve`: checks the queue before serving, prints the address and how to log in."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from ray_cluster import free_port

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
    port = free_port()
    seen: list = []
    monkeypatch.setattr("uvicorn.Server.run", lambda self, sockets=None: sockets_seen(sockets, into=seen))
    assert serve.main([str(queue), "--port", str(port)]) == 0
    out = capsys.readouterr().out
    assert f"Labelling queue 'q' (1 items) at http://127.0.0.1:{port}/" in out and "Reviewers (ana) log in" in out
    assert "warning" not in out
    assert seen == [("127.0.0.1", port)]  # the socket uvicorn was given is bound where the page says


def sockets_seen(sockets, into: list) -> None:
    for sock in sockets:
        into.append(sock.getsockname())
        sock.close()


def test_a_port_in_use_is_one_line_before_any_address_is_printed(tmp_path, capsys):
    queue = make_queue(tmp_path / "q.db")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UserError) as raised:  # uvicorn logged the error and exited 3, after the address
            serve.main([str(queue), "--port", str(port)])
    assert str(raised.value) == (f"--host 127.0.0.1 --port {port}: cannot listen there (Address already in use); "
                                 "another server may have it: choose another --port")
    assert "Labelling queue" not in capsys.readouterr().out


def test_serve_warns_off_loopback_and_without_reviewers(tmp_path, monkeypatch, capsys):
    queue = make_queue(tmp_path / "q.db")
    monkeypatch.setattr("uvicorn.Server.run", lambda self, sockets=None: sockets_seen(sockets, into=[]))
    assert serve.main([str(queue), "--host", "0.0.0.0", "--port", str(free_port())]) == 0
    out = capsys.readouterr().out
    assert "No reviewer can log in yet" in out and "warning: listening on 0.0.0.0" in out


def test_serve_refuses_a_missing_queue_or_a_bad_port(tmp_path):
    with pytest.raises(UserError, match="no such queue"):
        serve.main([str(tmp_path / "missing.db")])
    with pytest.raises(UserError, match="--port 70000: use 1-65535"):
        serve.main([str(make_queue(tmp_path / "q.db")), "--port", "70000"])
    assert serve.main(["--help"]) == 0
