"""SIGTERM and SIGINT end a run the same way: unwound like Ctrl-C, so its MLflow runs close as KILLED.

Python turns SIGINT into KeyboardInterrupt (asyncio.run too, after cancelling the replay); SIGTERM
would kill the process outright and leave its MLflow runs RUNNING, so it is raised as `Terminated`,
a KeyboardInterrupt, which every `except KeyboardInterrupt` cleanup (evals.tracking) also sees.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM, unwinding like Ctrl-C."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signum)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()  # only it may set handlers


@contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """Within the block SIGTERM raises `Terminated`; the previous handler is restored after."""
    if not _in_main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def uninterrupted() -> Iterator[None]:
    """Ignore SIGINT/SIGTERM while closing runs, so a second Ctrl-C cannot leave one RUNNING."""
    if not _in_main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def exit_code(exc: KeyboardInterrupt) -> int:
    """128 + the signal number, as shells report it: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + (signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)


def report(exc: KeyboardInterrupt) -> int:
    """One line on stderr instead of a traceback; the exit code to return."""
    name = "SIGTERM" if isinstance(exc, Terminated) else "SIGINT"
    killed = getattr(exc, "killed_run", None)
    ended = f"; MLflow run {killed} ended as KILLED" if killed else ""
    print(f"interrupted by {name}{ended}", file=sys.stderr)
    return exit_code(exc)
