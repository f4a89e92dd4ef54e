"""A bot that is a Python function: `package.module:function`, sync or async.

The function receives the `Inquiry` (history so far, language, ids) plus any configured keyword
arguments, and returns the reply text, a mapping {"reply": str, "handoff": bool, "reason": str},
or an `Answer`. A `handoff` the function gives is its explicit decision; without one (plain
text, or a mapping without `handoff`) the shared hand-off policy reads the text, with `offer` and
`redirect` as configured (an offer counts as an attempt under `accepted`: no customer answers a
live bot's reply; see docs/escalation.md).
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import inspect
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from evals.errors import UserError
from evals.handoff import HandoffDetector
from evals.memory import Memory
from evals.types import Answer, Inquiry
from evals.variants.handoff_policy import DefaultReader, HandoffPolicy


def load_callable(target: str) -> Callable[..., Any]:
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise UserError(f"target must look like 'package.module:function', got {target!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(f"cannot import {module_name!r} for target {target!r}: {exc}") from None
    except Exception as exc:  # the user's module fails as it loads: say where, in one line
        what = exc.msg if isinstance(exc, SyntaxError) else (str(exc).splitlines() or [""])[0]
        raise UserError(f"importing {module_name!r} for target {target!r} raised {type(exc).__name__}: "
                        f"{what} ({_where(exc)})") from None
    func = module
    for part in attr.split("."):
        func = getattr(func, part, None)
        if func is None:
            raise UserError(f"{module_name!r} has no attribute {attr!r} (target {target!r})")
    if not callable(func):
        raise UserError(f"target {target!r} is not callable")
    return func


def _where(exc: BaseException) -> str:
    """File and line of an error in the user's own code: a syntax error's, else the innermost frame's."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{exc.filename}, line {exc.lineno}"
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{frame.filename}, line {frame.lineno}"


class PythonBot:
    def __init__(self, name: str, target: str, kwargs: Mapping[str, Any] | None = None,
                 concurrency: int = 8, cache: bool = False, offer: str = "accepted",
                 redirect: str = "never") -> None:
        """`cache: true` only for deterministic functions: replies are then reused across runs."""
        self.name = name
        self.target = target
        self.kwargs = dict(kwargs or {})
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise UserError(f"variant {name}: concurrency must be a whole number >= 1, got {concurrency!r}")
        self.concurrency = concurrency
        self.cache = cache
        self.detector = HandoffDetector()
        self.reader = DefaultReader(self.detector)
        self.policy = HandoffPolicy.configured(name, None, offer, redirect)
        load_callable(target)  # a bad target stops the run before it starts; each process loads it in prepare()
        self._func: Callable[..., Any] | None = None

    def prepare(self, memory: Memory) -> None:
        self._func = load_callable(self.target)

    def fingerprint(self) -> dict[str, Any] | None:
        return ({"kind": "python", "target": self.target, "kwargs": self.kwargs, "offer": self.policy.offer,
                 "redirect": self.policy.redirect} if self.cache else None)

    async def respond(self, inquiry: Inquiry) -> Answer:
        if self._func is None:
            raise RuntimeError("prepare() was not called")
        if inspect.iscoroutinefunction(self._func):
            result = await self._func(inquiry, **self.kwargs)
        else:  # a blocking function must not stall the other inquiries
            result = await asyncio.to_thread(self._func, inquiry, **self.kwargs)
        return self._answer(result, inquiry.language)

    def _answer(self, result: Any, language: str | None = None) -> Answer:
        if isinstance(result, Answer):
            if result.handoff_kind:
                return result
            kind = "handoff" if result.escalated else self._kind(result.text, language)
            return dataclasses.replace(result, handoff_kind=kind)
        if isinstance(result, str):
            return self._read(result, language)
        if isinstance(result, Mapping) and isinstance(result.get("reply"), str):
            if result.get("handoff") is None:
                return self._read(result["reply"], language)
            handoff = bool(result["handoff"])
            kind = "handoff" if handoff else self._kind(result["reply"], language)
            return Answer(result["reply"], handoff, f"handoff: {result.get('reason')}" if handoff else "",
                          handoff_kind=kind)
        raise TypeError(f"{self.target} returned {type(result).__name__}; expected str, "
                        "{'reply': str, 'handoff': bool} or Answer")

    def _read(self, text: str, language: str | None) -> Answer:
        decision = self.policy.decide(text, self.reader, language)
        return Answer(text, decision.escalated, decision.note, handoff_kind=decision.kind)

    def _kind(self, text: str, language: str | None) -> str:
        return self.reader.classify(text, language).kind if text.strip() else "none"
