"""The reviewers' web page: log in, label one item after another with the keyboard, skip, undo.

A thin adapter over `evals.review.store.Store`: every request opens the queue file in its own thread
(sqlite3 connections are not shared) and every answer is committed before the redirect that follows it.
Reviewers see candidate replies as "Reply A/B" only; the variant behind a reply is never sent to them.
Owner pages (agreement, disputes, scorers versus people) are in evals/review/owner_pages.py.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from evals.errors import UserError
from evals.review import web_auth as auth
from evals.review import web_render as view
from evals.review.owner_pages import owner_router
from evals.review.store import NOTE, Item, Store

log = logging.getLogger(__name__)
Field = Annotated[str, Form()]  # every form field is optional here: a missing one is judged by the handler


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def item_id_of(text: str) -> int:
    if not text.isdigit():
        raise HTTPException(404, f"There is no item '{text}' in this queue.")
    return int(text)


def slot_of(text: str) -> int | None:
    if text == "":
        return None
    if not text.isdigit():
        raise HTTPException(400, f"'{text}' is not a reply slot.")
    return int(text)


def found_item(store: Store, item_id: int) -> Item:
    item = store.item(item_id)
    if item is None:
        raise HTTPException(404, f"There is no item {item_id} in this queue.")
    return item


def after_item(store: Store, item: Item, who: auth.Visitor) -> str:
    """Where to go once an item's answer is saved: its next open question, else the next item."""
    if store.open_questions(item, who.name):
        return f"/item/{item.item_id}"
    following = store.next_item(who.name)
    return f"/item/{following.item_id}" if following else "/"


def item_page(store: Store, item: Item, who: auth.Visitor) -> HTMLResponse:
    given = store.answers(item.item_id, who.name)
    asked = store.questions_for(item)
    open_questions = [(slot, q) for slot, q in asked if (slot, q.name) not in given]
    current = None
    if open_questions:
        slot, question = open_questions[0]
        current = {"slot": "" if slot is None else str(slot), "name": question.name, "about": view.about(slot),
                   "text": question.text, "options": view.option_views(question)}
    answered = [{"slot": "" if slot is None else str(slot), "name": q.name, "about": view.about(slot),
                 "text": q.text, "answer": view.answer_text(q, given[(slot, q.name)]),
                 "options": view.option_views(q, given[(slot, q.name)])}
                for slot, q in asked if (slot, q.name) in given]
    return view.render("item.html", item_id=item.item_id, language=item.language,
                       turns=view.conversation(item), replies=view.blind_replies(item), current=current,
                       answered=answered, note=given.get((None, NOTE), ""), asked_count=len(asked),
                       progress=view.progress_text(store.progress(who.name)), me=who.reviewer,
                       csrf=who.csrf, queue=store.meta.name)


def save_note(store: Store, item: Item, who: auth.Visitor, note: str | None) -> None:
    """Store the note when it changed (an unchanged or absent note writes nothing)."""
    if note is None:
        return
    if note.strip()[:4000] != store.answers(item.item_id, who.name).get((None, NOTE), ""):  # as Store keeps it
        store.answer(item.item_id, None, NOTE, who.name, note)


def create_app(queue_path: str, n_boot: int = 1000) -> FastAPI:
    """The labelling page for one queue file (the file must exist: a UserError otherwise); `n_boot`:
    bootstrap resamples behind the owner's confidence intervals (as `review stats` computes them)."""
    with Store(queue_path) as store:
        queue_name = store.meta.name
    app = FastAPI(title=f"review: {queue_name}", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=view.STATIC), name="static")
    app.include_router(owner_router(queue_path, n_boot))
    _add_error_pages(app)

    @app.get("/favicon.ico")
    def favicon() -> Response:  # browsers ask for one; no icon, and no 404 in their console
        return Response(status_code=204)

    @app.get("/login")
    def login_form(request: Request) -> Response:
        return _login_page(queue_name)

    @app.post("/login")
    def login(request: Request, token: Field = "", login: Field = "") -> Response:
        auth.check_login_token(request, login)
        with Store(queue_path) as store:
            reviewer = store.reviewer_for_token(token.strip()) if token.strip() else None
            if reviewer is None:
                return _login_page(queue_name, "That token is not valid for this queue.", 401)
            session, _ = store.open_session(reviewer)
        response = see_other("/")
        auth.start_session(response, session)
        return response

    @app.post("/logout")
    def logout(request: Request, csrf: Field = "") -> Response:
        with Store(queue_path) as store:
            who = auth.visitor(request, store)
            auth.check_csrf(who, csrf)
            store.close_session(who.session)
        response = see_other("/login")
        auth.end_session(response)
        return response

    @app.get("/")
    def next_page(request: Request) -> Response:
        with Store(queue_path) as store:
            who = auth.visitor(request, store)
            following = store.next_item(who.name)
            if following is not None:
                return see_other(f"/item/{following.item_id}")
            progress = store.progress(who.name)
            return view.render("done.html", done=progress.done_by_me, me=who.reviewer, csrf=who.csrf,
                               queue=store.meta.name, progress=view.progress_text(progress))

    @app.get("/item/{item_id}")
    def show_item(request: Request, item_id: str) -> Response:
        with Store(queue_path) as store:
            who = auth.visitor(request, store)
            return item_page(store, found_item(store, item_id_of(item_id)), who)

    @app.post("/item/{item_id}/answer")
    def answer(request: Request, item_id: str, csrf: Field = "", slot: Field = "", question: Field = "",
               value: Field = "", note: Annotated[str | None, Form()] = None) -> Response:
        with Store(queue_path) as store:
            who = auth.visitor(request, store)
            auth.check_csrf(who, csrf)
            item = found_item(store, item_id_of(item_id))
            target_slot = slot_of(slot)
            was_open = bool(store.open_questions(item, who.name))
            save_note(store, item, who, note)
            # the same answer twice (a double click) is one label, so one undo takes it back
            if store.answers(item.item_id, who.name).get((target_slot, question)) != value:
                store.answer(item.item_id, target_slot, question, who.name, value)
            return see_other(after_item(store, item, who) if was_open else f"/item/{item.item_id}")

    @app.post("/item/{item_id}/note")
    def note(request: Request, item_id: str, csrf: Field = "", note: Field = "") -> Response:
        with Store(queue_path) as store:
            who = auth.visitor(request, store)
            auth.check_csrf(who, csrf)
            item = found_item(store, item_id_of(item_id))
            save_note(store, item, who, note)
            return see_other(f"/item/{item.item_id}")

    @app.post("/item/{item_id}/skip")
    def skip(request: Request, item_id: str, csrf: Field = "") -> Response:
        with Store(queue_path) as store:
            who = auth.visitor(request, store)
            auth.check_csrf(who, csrf)
            item = found_item(store, item_id_of(item_id))
            store.skip(item.item_id, who.name)
            following = store.next_item(who.name)
            return see_other(f"/item/{following.item_id}" if following else "/")

    @app.post("/undo")
    def undo(request: Request, csrf: Field = "") -> Response:
        with Store(queue_path) as store:
            who = auth.visitor(request, store)
            auth.check_csrf(who, csrf)
            undone = store.undo(who.name)
            return see_other(f"/item/{undone.item_id}" if undone else "/")

    return app


def _login_page(queue_name: str, error: str = "", status: int = 200) -> Response:
    token = auth.new_login_token()
    response = view.render("login.html", status, queue=queue_name, login=token, error=error)
    auth.set_login_cookie(response, token)
    return response


def _error_page(status: int, message: str) -> HTMLResponse:
    return view.render("error.html", status, status_code=status, message=message)


def _add_error_pages(app: FastAPI) -> None:
    """Every error is a short page with one line (never a traceback), and every response carries the
    security headers."""
    titles = {400: "Bad request.", 401: "Log in first.", 403: "Not allowed.", 404: "Not found.",
              405: "Method not allowed."}

    async def http_error(request: Request, error: Exception) -> Response:
        status = getattr(error, "status_code", 500)
        detail = getattr(error, "detail", "")
        return _error_page(status, detail if detail and detail not in ("Not Found", "Method Not Allowed")
                           else titles.get(status, "Error."))

    for status in titles:
        app.add_exception_handler(status, http_error)

    async def login_required(request: Request, error: Exception) -> Response:
        if request.method in ("GET", "HEAD"):
            return see_other("/login")
        return _error_page(401, "Log in first: your session is missing or has expired.")

    async def user_error(request: Request, error: Exception) -> Response:
        return _error_page(400, str(error))

    async def bad_request(request: Request, error: Exception) -> Response:
        return _error_page(400, "Bad request: a form field or the address is malformed.")

    app.add_exception_handler(auth.LoginRequired, login_required)
    app.add_exception_handler(UserError, user_error)
    app.add_exception_handler(RequestValidationError, bad_request)

    @app.middleware("http")
    async def secure(request: Request, call_next) -> Response:  # type: ignore[no-untyped-def]
        try:
            response = await call_next(request)
        except Exception:  # the operator sees the traceback in the server's log; the browser never does
            log.exception("review page error on %s %s", request.method, request.url.path)
            response = _error_page(500, "Something went wrong on the server; the error is in its log.")
        response.headers.update(auth.SECURITY_HEADERS)
        return response
