"""A real headless Chromium for the tests: Debian's `chromium` binary, driven by Playwright for Python.

Playwright's own browser download is never used (no network at run time): the system binary is passed as
`executable_path`. `.ci/run` installs both. Without them a test is skipped with the reason, except under
CI (the CI variable set), where a missing browser is a failure: CI must prove the page really renders.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

# Where Debian, Ubuntu and Chrome put the binary; CHROMIUM names another.
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_path() -> str | None:
    named = os.environ.get("CHROMIUM")
    if named:
        return named if os.access(named, os.X_OK) else None
    return next((found for name in CANDIDATES if (found := shutil.which(name))), None)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the browser test may not be skipped; .ci/run installs it)")
    pytest.skip(f"{reason}; install with `apt-get install -y chromium` and `pip install playwright`")


def require_browser() -> str:
    """The Chromium binary, after checking Playwright imports; skips (fails under CI) otherwise."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("Playwright for Python is not installed")
    path = chromium_path()
    if path is None:
        _unavailable(f"no Chromium found (looked for {', '.join(CANDIDATES)} on PATH and $CHROMIUM)")
    return path  # type: ignore[return-value]


@contextmanager
def open_page(url: str) -> Iterator[tuple[Any, list[str], list[str]]]:
    """(page, requested URLs, page errors) with `url` loaded in a fresh headless Chromium."""
    from playwright.sync_api import sync_playwright

    executable = require_browser()
    # Chromium refuses to start as root with its sandbox on; the tests run as root in CI containers.
    args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=args, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            requests: list[str] = []
            errors: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(url, wait_until="load")
            yield page, requests, errors
        finally:
            browser.close()
