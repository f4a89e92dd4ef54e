"""The review page in process: who may see what, CSRF, hostile text, blind replies, answering, undo, skip."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from evals.errors import UserError
from evals.review.app import create_app
from evals.review.store import NewItem, QueueMeta, Store

HOSTILE = '<script>alert(1)</script> <img src=x onerror=alert(1)> "><b>bold</b>'
VARIANTS = ("secretbotvariant", "humanagentvariant")


def make_queue(path: Path, n: int = 3, asked=("empathy", "should_escalate"), per_item: int = 2) -> Path:
    items = [NewItem(f"conv{i}#1", f"conv{i}", 1, "de",
                     [{"role": "customer", "text": f"Hallo {i}, wo ist mein Paket?"},
                      {"role": "agent", "text": "Einen Moment bitte."},
                      {"role": "customer", "text": f"Immer noch nichts {i}. {HOSTILE}"}],
                     [(VARIANTS[0], f"Bot reply {i} {HOSTILE}", False),
                      (VARIANTS[1], f"Agent reply {i}\nsecond line", True)],
                     slice=f"language={VARIANTS[0]}", reason=f"{VARIANTS[1]} and judges disagree")
             for i in range(n)]
    Store.create(path, QueueMeta("q", "runs/x", "random", 0, tuple(asked), per_item), items).close()
    return path


@pytest.fixture
def queue(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    path = make_queue(tmp_path / "q.db")
    with Store(path) as store:
        tokens = {"ana": store.add_reviewer("ana"), "bob": store.add_reviewer("bob"),
                  "olga": store.add_reviewer("olga", "owner")}
    return path, tokens


def logged_in(path: Path, token: str) -> TestClient:
    client = TestClient(create_app(str(path), n_boot=100), follow_redirects=False)
    form = client.get("/login")
    login = re.search(r'name="login" value="([^"]+)"', form.text).group(1)
    response = client.post("/login", data={"token": token, "login": login})
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie and "Secure" not in cookie
    return client


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def stored(path: Path, who: str | None = None) -> list[tuple[int, int | None, str, str]]:
    with Store(path) as store:
        return [(lab.item_id, lab.slot, lab.question, lab.value) for lab in store.labels(who)]


def test_nobody_without_a_session_sees_a_conversation(queue) -> None:
    path, _ = queue
    client = TestClient(create_app(str(path)), follow_redirects=False)
    for url in ("/", "/item/1", "/owner", "/owner/disputes", "/owner/scorers", "/owner/item/1"):
        response = client.get(url)
        assert response.status_code == 303 and response.headers["location"] == "/login", url
        assert "Paket" not in response.text and "reply" not in response.text
    for url in ("/item/1/answer", "/item/1/skip", "/item/1/note", "/undo", "/logout", "/owner/adjudicate"):
        response = client.post(url, data={"csrf": "x", "slot": "0", "question": "empathy", "value": "3"})
        assert response.status_code == 401 and "Paket" not in response.text, url
    client.cookies.set("review_session", "forged-session-id")
    assert client.get("/item/1").status_code == 303
    assert stored(path) == []


def test_a_wrong_token_or_a_forged_login_form_is_refused(queue) -> None:
    path, tokens = queue
    client = TestClient(create_app(str(path)), follow_redirects=False)
    login = re.search(r'name="login" value="([^"]+)"', client.get("/login").text).group(1)
    wrong = client.post("/login", data={"token": tokens["ana"] + "x", "login": login})
    assert wrong.status_code == 401 and "not valid" in wrong.text and "review_session" not in str(wrong.cookies)
    # a cross-site form has neither the login cookie nor its value: a right token is still refused
    forged = TestClient(create_app(str(path)), follow_redirects=False)
    assert forged.post("/login", data={"token": tokens["ana"], "login": "guess"}).status_code == 403
    assert forged.post("/login", data={"token": tokens["ana"]}).status_code == 403


def test_every_response_carries_the_security_headers(queue) -> None:
    path, tokens = queue
    client = logged_in(path, tokens["ana"])
    for response in (client.get("/login"), client.get("/item/1"), client.get("/item/999"),
                     client.get("/static/review.js"), client.post("/undo")):
        headers = response.headers
        assert headers["content-security-policy"] == (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")
        assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"


def test_a_post_without_the_right_csrf_token_changes_nothing(queue) -> None:
    path, tokens = queue
    client = logged_in(path, tokens["ana"])
    answer = {"slot": "0", "question": "empathy", "value": "4"}
    assert client.post("/item/1/answer", data=answer).status_code == 403
    assert client.post("/item/1/answer", data={**answer, "csrf": "wrong"}).status_code == 403
    assert client.post("/item/1/note", data={"note": "x", "csrf": ""}).status_code == 403
    assert client.post("/item/1/skip").status_code == 403
    # another reviewer's CSRF token does not work in this session
    other = csrf_of(logged_in(path, tokens["bob"]).get("/item/1").text)
    assert client.post("/item/1/answer", data={**answer, "csrf": other}).status_code == 403
    assert stored(path) == []
    assert client.post("/logout").status_code == 403 and client.get("/item/1").status_code == 200


def test_hostile_text_is_escaped_and_variant_names_never_reach_a_reviewer(queue) -> None:
    path, tokens = queue
    client = logged_in(path, tokens["ana"])
    page = client.get("/item/1")
    assert page.status_code == 200
    html = page.text
    assert "<script>alert" not in html and "<img src=x" not in html and '"><b>' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&#34;&gt;&lt;b&gt;" in html
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/review.js" defer>']
    assert "style=" not in html and " on" + "error=" not in html.replace("onerror=alert(1)&gt;", "")
    assert "Customer (de)" in html and "Reply A" in html and "Reply B" in html
    assert "Agent reply 0\nsecond line" in html  # line breaks kept as text (pre-wrap in the CSS)
    # what each reply did about a person is shown: a hand-off by tool call has no words to read it from
    assert re.findall(r"Handed the chat to a person|Kept the chat", html) == ["Kept the chat",
                                                                             "Handed the chat to a person"]
    for text in (html, client.get("/item/2").text, client.get("/item/99").text, client.get("/").text):
        for variant in VARIANTS:
            assert variant not in text  # not in the text, not in an attribute, not via slice or reason
    # the owner's view of the item names variants (and still escapes)
    owner = logged_in(path, tokens["olga"]).get("/owner/item/1").text
    assert all(v in owner for v in VARIANTS) and "<script>alert" not in owner


def test_answers_move_through_the_questions_then_to_the_next_item(queue) -> None:
    path, tokens = queue
    client = logged_in(path, tokens["ana"])
    assert client.get("/").headers["location"] == "/item/1"
    csrf = csrf_of(client.get("/item/1").text)
    steps = [("0", "empathy", "4"), ("1", "empathy", "2"), ("", "should_escalate", "yes")]
    locations = []
    for slot, question, value in steps:
        response = client.post("/item/1/answer", data={"csrf": csrf, "slot": slot, "question": question,
                                                       "value": value, "note": "late reply" if slot == "" else ""})
        assert response.status_code == 303
        locations.append(response.headers["location"])
    assert locations == ["/item/1", "/item/1", "/item/2"]
    assert '<article class="reply asked" id="reply-A">' in client.get("/item/2").text  # the reply asked about
    assert stored(path, "ana") == [(1, 0, "empathy", "4"), (1, 1, "empathy", "2"), (1, None, "note", "late reply"),
                                   (1, None, "should_escalate", "yes")]
    item = client.get("/item/1").text
    assert "All 3 questions on this item are answered." in item and "late reply" in item
    assert "1 of 3 done · 2 left" in client.get("/item/2").text
    # changing an answer of a finished item stays on that item; the same answer twice is one label
    change = {"csrf": csrf, "slot": "0", "question": "empathy", "value": "5"}
    assert client.post("/item/1/answer", data=change).headers["location"] == "/item/1"
    assert client.post("/item/1/answer", data=change).headers["location"] == "/item/1"
    with Store(path) as store:
        assert [lab.value for lab in store.labels("ana") if lab.question == "empathy"] == ["2", "5"]


def test_bad_answers_and_addresses_get_a_one_line_error(queue) -> None:
    path, tokens = queue
    client = logged_in(path, tokens["ana"])
    csrf = csrf_of(client.get("/item/1").text)
    bad = client.post("/item/1/answer", data={"csrf": csrf, "slot": "0", "question": "empathy", "value": "9"})
    assert bad.status_code == 400 and "&#39;9&#39; is not an answer to empathy (allowed: 1, 2, 3, 4, 5)" in bad.text
    assert client.post("/item/1/answer", data={"csrf": csrf, "slot": "x", "question": "empathy",
                                               "value": "3"}).status_code == 400
    assert client.post("/item/1/answer", data={"csrf": csrf, "slot": "0", "question": "should_escalate",
                                               "value": "yes"}).status_code == 400
    for url in ("/item/999", "/item/abc", "/item/-1", "/nowhere"):
        response = client.get(url)
        assert response.status_code == 404 and "Traceback" not in response.text, url
    assert client.post("/item/999/answer", data={"csrf": csrf, "slot": "0", "question": "empathy",
                                                 "value": "3"}).status_code == 404
    assert stored(path) == []


def test_undo_takes_back_the_last_answer_and_returns_to_its_item(queue) -> None:
    path, tokens = queue
    client = logged_in(path, tokens["ana"])
    csrf = csrf_of(client.get("/item/1").text)
    client.post("/item/1/answer", data={"csrf": csrf, "slot": "0", "question": "empathy", "value": "4"})
    client.post("/item/1/answer", data={"csrf": csrf, "slot": "1", "question": "empathy", "value": "3"})
    response = client.post("/undo", data={"csrf": csrf})
    assert response.status_code == 303 and response.headers["location"] == "/item/1"
    assert stored(path, "ana") == [(1, 0, "empathy", "4")]
    assert 'data-key="1"' in client.get("/item/1").text and "Reply B:</span> How empathetic" in client.get(
        "/item/1").text
    client.post("/undo", data={"csrf": csrf})
    assert client.post("/undo", data={"csrf": csrf}).headers["location"] == "/"  # nothing left to undo


def test_skip_puts_the_item_last_and_logout_ends_the_session(queue) -> None:
    path, tokens = queue
    client = logged_in(path, tokens["ana"])
    csrf = csrf_of(client.get("/item/1").text)
    assert client.post("/item/1/skip", data={"csrf": csrf}).headers["location"] == "/item/2"
    assert client.get("/").headers["location"] == "/item/2"
    assert client.post("/logout", data={"csrf": csrf}).headers["location"] == "/login"
    assert client.get("/item/1").status_code == 303  # the old cookie is gone from the client ...
    with sqlite3.connect(path) as db:  # ... and its session from the queue file
        assert db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 0


def test_the_queue_done_page(tmp_path: Path) -> None:
    path = make_queue(tmp_path / "q.db", n=1, asked=("should_escalate",), per_item=1)
    with Store(path) as store:
        token = store.add_reviewer("ana")
    client = logged_in(path, token)
    csrf = csrf_of(client.get("/item/1").text)
    assert client.post("/item/1/answer", data={"csrf": csrf, "slot": "", "question": "should_escalate",
                                               "value": "no"}).headers["location"] == "/"
    done = client.get("/")
    assert done.status_code == 200 and "Queue done" in done.text and "1 item;" in done.text


def test_owner_pages_are_for_the_owner_only(queue) -> None:
    path, tokens = queue
    reviewer = logged_in(path, tokens["ana"])
    csrf = csrf_of(reviewer.get("/item/1").text)
    for url in ("/owner", "/owner/disputes", "/owner/scorers", "/owner/item/1"):
        response = reviewer.get(url)
        assert response.status_code == 403 and "Paket" not in response.text, url
    adjudicate = {"csrf": csrf, "item_id": "1", "slot": "0", "question": "empathy", "value": "3"}
    assert reviewer.post("/owner/adjudicate", data=adjudicate).status_code == 403
    with Store(path) as store:
        assert store.adjudications() == {}


def test_the_owner_sees_disputes_and_adjudicates(queue) -> None:
    path, tokens = queue
    with Store(path) as store:
        store.answer(1, 0, "empathy", "ana", "2")
        store.answer(1, 0, "empathy", "bob", "5")
        store.answer(1, 1, "empathy", "ana", "3")
        store.answer(1, 1, "empathy", "bob", "3")
    owner = logged_in(path, tokens["olga"])
    page = owner.get("/owner/disputes").text
    assert page.count('class="dispute') == 1 and "ana: <strong>2 cold</strong>" in page
    assert "bob: <strong>5 understood the customer</strong>" in page
    csrf = csrf_of(page)
    response = owner.post("/owner/adjudicate", data={"csrf": csrf, "item_id": "1", "slot": "0",
                                                     "question": "empathy", "value": "4", "back": "item"})
    assert response.status_code == 303 and response.headers["location"] == "/owner/item/1"
    with Store(path) as store:
        assert store.adjudications() == {(1, 0, "empathy"): ("4", "olga")}
    assert "No open disputes." in owner.get("/owner/disputes").text
    item = owner.get("/owner/item/1").text
    assert "ana: 2 cold; bob: 5 understood the customer</td>\n      <td>4 warm</td>" in item
    assert owner.post("/owner/adjudicate", data={"csrf": csrf, "item_id": "1", "slot": "0", "question": "empathy",
                                                 "value": "7"}).status_code == 400
    overview = owner.get("/owner").text
    assert "Reviewers do not yet agree enough on empathy, should_escalate" in overview
    assert "1 disputed answer" not in overview and "0 disputed answers" in overview


def test_an_app_for_a_missing_queue_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such queue"):
        create_app(str(tmp_path / "missing.db"))


def test_the_owner_sees_scorers_against_people_with_links_to_items(tmp_path: Path) -> None:
    from review.review_runs import run

    results = tmp_path / "results"
    run(None).save(results)
    items = [NewItem(f"c{i}#2", f"c{i}", 2, "en", [{"role": "customer", "text": f"order {i}"}],
                     [("human", f"human {i}", True), ("rules", f"rules {i}", False)]) for i in range(6)]
    path = tmp_path / "q.db"
    with Store.create(path, QueueMeta("q", str(results), "random", 0, ("empathy",), 2), items) as store:
        token = store.add_reviewer("olga", "owner")
        owner = logged_in(path, token)
        early = owner.get("/owner/scorers")  # nothing labelled yet: the page says so instead of failing
        assert early.status_code == 200 and "no per-reply answers yet" in early.text
        for item in store.items():
            for slot in (0, 1):
                store.answer(item.item_id, slot, "empathy", "ana", "5" if slot == 0 else "1")
                store.answer(item.item_id, slot, "empathy", "bob", "4" if slot == 0 else "2")
    page = owner.get("/owner/scorers")
    assert page.status_code == 200 and 'id="problem"' not in page.text
    scorers = re.findall(r'<h2>(\w+) <span class="lang">against people\'s (\w+)</span>', page.text)
    assert ("judge_empathy", "empathy") in scorers and ("empathy", "empathy") in scorers
    # ana and bob are one step apart on every reply: alpha ~0.62, so the page warns before trusting them
    assert "empathy (empathy): reviewers do NOT agree enough" in page.text
    links = set(re.findall(r'href="/owner/item/(\d+)"', page.text))
    assert links and links <= {str(i) for i in range(1, 7)}
