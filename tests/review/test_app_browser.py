"""The review page for real: uvicorn on 127.0.0.1, a headless Chromium labelling with the keyboard only,
hostile text inert, labels kept across a reload and exported; two reviewers posting at once lose nothing."""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from browser import open_page

from evals.review.app import create_app
from evals.review.export import export
from evals.review.store import NewItem, QueueMeta, Store

# Would change the title or set window.pwned if any of it ran as script or markup.
HOSTILE = ('<script>window.pwned=1; document.title="pwned"</script> <img src=x onerror="window.pwned=2"> '
           '"><svg onload="window.pwned=3">')


def make_queue(path: Path, n: int, per_item: int) -> Path:
    items = [NewItem(f"conv{i}#2", f"conv{i}", 2, "fr",
                     [{"role": "customer", "text": f"Bonjour, commande {i} en retard."},
                      {"role": "agent", "text": "Je regarde."},
                      {"role": "customer", "text": f"Toujours rien pour {i}. {HOSTILE}"}],
                     [("rules", f"Reply text {i} {HOSTILE}", False), ("human", f"Agent text {i}\nline two", True)])
             for i in range(n)]
    Store.create(path, QueueMeta("browser", "runs/x", "random", 0, ("empathy", "should_escalate"), per_item),
                 items).close()
    return path


@contextmanager
def live_server(queue: Path) -> Iterator[str]:
    """The app under uvicorn in a thread, on a free loopback port; stopped (and joined) on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(str(queue)), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def current_labels(queue: Path, who: str) -> list[tuple[int, int | None, str, str]]:
    with Store(queue) as store:
        return [(lab.item_id, lab.slot, lab.question, lab.value) for lab in store.labels(who)]


def test_a_reviewer_labels_with_the_keyboard_in_a_real_browser(tmp_path: Path) -> None:
    queue = make_queue(tmp_path / "q.db", n=3, per_item=1)
    with Store(queue) as store:
        token = store.add_reviewer("ana")
    with live_server(queue) as base, open_page(f"{base}/login") as (page, requests, errors):
        console = []
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        page.fill("#token", token)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url == f"{base}/item/1"

        # hostile text is shown literally and runs nothing (no script but the page's own, no injected element)
        assert page.evaluate("typeof window.pwned") == "undefined" and page.title() != "pwned"
        assert page.evaluate("[...document.scripts].map(s => s.src)") == [f"{base}/static/review.js"]
        assert page.evaluate("document.querySelectorAll('img, svg, b').length") == 0
        assert page.inner_text(".chat .turn:last-child .text") == f"Toujours rien pour 0. {HOSTILE}"
        assert page.inner_text("#reply-A .text") == f"Reply text 0 {HOSTILE}"
        assert page.inner_text("#reply-B .text") == "Agent text 0\nline two"  # line breaks kept
        assert "Customer (fr)" in page.inner_text(".chat") and "rules" not in page.content()

        def press(key: str) -> None:
            with page.expect_navigation():
                page.keyboard.press(key)

        for key in ("4", "2", "1"):  # empathy of Reply A, of Reply B, then should_escalate: 1 = yes
            press(key)
        assert page.url == f"{base}/item/2" and "1 of 3 done · 2 left" in page.inner_text("#progress")
        # in the note box keys are text; Esc leaves it and the next digit answers (and saves the note)
        page.keyboard.press("n")
        page.keyboard.type("slow 5 s u")
        page.keyboard.press("Escape")
        assert page.url == f"{base}/item/2"
        for key in ("5", "3", "2"):
            press(key)
        assert page.url == f"{base}/item/3"
        press("3")
        assert "Reply B:" in page.inner_text("#question")
        press("u")  # undo: back to the same item, Reply A asked again
        assert page.url == f"{base}/item/3" and "Reply A:" in page.inner_text("#question")

        page.reload()
        assert "Reply A:" in page.inner_text("#question")
        page.goto(f"{base}/item/2")
        answered = page.inner_text(".answered")
        assert "5 understood the customer" in answered and "3 neutral" in answered and "no" in answered
        assert page.input_value("#note") == "slow 5 s u"
        assert errors == [] and not [line for line in console if line.startswith("error")], console
    assert all(url.startswith(base) for url in requests), requests

    expected = [(1, 0, "empathy", "4"), (1, 1, "empathy", "2"), (1, None, "should_escalate", "yes"),
                (2, None, "note", "slow 5 s u"), (2, 0, "empathy", "5"), (2, 1, "empathy", "3"),
                (2, None, "should_escalate", "no")]
    assert current_labels(queue, "ana") == expected  # read back from the queue file

    with Store(queue) as store:
        written = export(store, tmp_path / "labels")
    rows = [json.loads(line) for line in (tmp_path / "labels" / "labels-v1.jsonl").read_text().splitlines()]
    assert sorted((r["case_id"], r["variant"], r["label"]) for r in rows) == [
        ("conv0#2", "human", 2), ("conv0#2", "rules", 4), ("conv1#2", "human", 3), ("conv1#2", "rules", 5)]
    references = (tmp_path / "labels" / "references-v1.jsonl").read_text()
    assert written.version == 1 and references.count("\n") == 2


def answer_everything(base: str, token: str, value_of, start: threading.Barrier) -> int:
    """Log in and answer every question of every open item through the real server; the number answered."""
    answered = 0
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as client:
        login = re.search(r'name="login" value="([^"]+)"', client.get("/login").text).group(1)
        assert client.post("/login", data={"token": token, "login": login}).status_code == 303
        start.wait()
        while (step := client.get("/")).status_code == 303:
            page = client.get(step.headers["location"]).text
            current_form = page.split('id="current"')[1].split("</form>")[0]
            fields = dict(re.findall(r'name="(csrf|slot|question)" value="([^"]*)"', current_form))
            item_id = int(step.headers["location"].rsplit("/", 1)[1])
            response = client.post(f"/item/{item_id}/answer",
                                   data={**fields, "value": value_of(item_id, fields["question"])})
            assert response.status_code == 303, response.text
            answered += 1
        assert "Queue done" in step.text
    return answered


def test_two_reviewers_labelling_the_same_items_at_once_lose_nothing(tmp_path: Path) -> None:
    queue = make_queue(tmp_path / "q.db", n=6, per_item=2)
    with Store(queue) as store:
        tokens = {"ana": store.add_reviewer("ana"), "bob": store.add_reviewer("bob")}
    values = {"ana": lambda item, q: "4" if q == "empathy" else "yes",
              "bob": lambda item, q: str(1 + item % 5) if q == "empathy" else "no"}
    start = threading.Barrier(2, timeout=30)
    counts: dict[str, int] = {}
    with live_server(queue) as base:
        threads = [threading.Thread(target=lambda who=who: counts.__setitem__(
            who, answer_everything(base, tokens[who], values[who], start))) for who in tokens]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert counts == {"ana": 18, "bob": 18}  # 6 items x (2 replies' empathy + should_escalate)
    for who in tokens:
        labels = current_labels(queue, who)
        assert len(labels) == 18 and all(value == values[who](item, q) for item, _, q, value in labels)
    with sqlite3.connect(queue) as db:  # nothing overwritten: every row ever written is there, none undone
        assert db.execute("SELECT COUNT(*), SUM(undone) FROM labels").fetchone() == (36, 0)
