"""Who is asking: login with a reviewer's token, the session cookie, CSRF checks and security headers.

- A reviewer logs in with the token the owner printed for them (`review reviewer`); the server answers
  with a random session id in a cookie (HttpOnly, SameSite=Strict, Path=/). Tokens and session ids are
  stored only as SHA-256 digests (evals/review/store.py).
- Every POST form carries the session's CSRF token in a hidden field, compared in constant time.
- The login form has no session yet, so it is protected by a double submit: GET /login sets a random
  token in a SameSite=Strict cookie and in the form; POST /login needs both, equal. A cross-site page
  can neither read the cookie nor make the browser send it.
- Secure is not set on the cookies: the page is served over plain http on the loopback interface.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from fastapi import HTTPException, Request, Response

from evals.review.store import SESSION_HOURS, Reviewer, Store

SESSION_COOKIE = "review_session"
LOGIN_COOKIE = "review_login"

SECURITY_HEADERS: dict[str, str] = {
    # no inline script or style anywhere: the page's script and style are files under /static
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",  # conversations must not stay in a shared browser's cache
}


class LoginRequired(Exception):
    """No live session: a page read is sent to /login, anything else is answered 401."""


@dataclass(frozen=True)
class Visitor:
    """A logged-in reviewer and their session's CSRF token (put in every form)."""

    reviewer: Reviewer
    session: str
    csrf: str

    @property
    def name(self) -> str:
        return self.reviewer.name


def visitor(request: Request, store: Store) -> Visitor:
    """The logged-in reviewer behind this request; LoginRequired when there is none."""
    session = request.cookies.get(SESSION_COOKIE, "")
    found = store.session(session) if session else None
    if found is None:
        raise LoginRequired()
    reviewer, csrf = found
    return Visitor(reviewer, session, csrf)


def owner(request: Request, store: Store) -> Visitor:
    """The logged-in queue owner; a reviewer who is not the owner gets 403."""
    who = visitor(request, store)
    if not who.reviewer.is_owner:
        raise HTTPException(403, "Only the queue owner may open this page.")
    return who


def check_csrf(who: Visitor, sent: str) -> None:
    """403 unless the form's CSRF field is this session's token (checked before anything is written)."""
    if not sent or not hmac.compare_digest(sent.encode(), who.csrf.encode()):
        raise HTTPException(403, "The form's security token is missing or wrong: reload the page and try again.")


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


def check_login_token(request: Request, sent: str) -> None:
    """403 unless the login form's hidden token equals the one in its cookie (double submit)."""
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not sent or not hmac.compare_digest(sent.encode(), cookie.encode()):
        raise HTTPException(403, "The login form expired: open the login page again.")


def set_login_cookie(response: Response, token: str) -> None:
    response.set_cookie(LOGIN_COOKIE, token, max_age=3600, path="/login", httponly=True, samesite="strict")


def start_session(response: Response, session: str) -> None:
    response.set_cookie(SESSION_COOKIE, session, max_age=SESSION_HOURS * 3600, path="/", httponly=True,
                        samesite="strict")
    response.delete_cookie(LOGIN_COOKIE, path="/login", httponly=True, samesite="strict")


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
