"""A bot that is a Python function: `package.module:function`, sync or async.

The function receives the `Inquiry` (history so far, language, ids) plus any configured keyword
arguments, and returns the reply text (hand-off then read by the phrase detector), a mapping
{"reply": str, "handoff": bool, "reason": str}, or an `Answer`.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from evals.errors import UserError
from evals.handoff import HandoffDetector
from evals.types import Answer, Case, Inquiry


def load_callable(target: str) -> Callable[..., Any]:
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise UserError(f"target must look like 'package.module:function', got {target!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(f"cannot import {module_name!r} for target {target!r}: {exc}") from None
    func = module
    for part in attr.split("."):
        func = getattr(func, part, None)
        if func is None:
            raise UserError(f"{module_name!r} has no attribute {attr!r} (target {target!r})")
    if not callable(func):
        raise UserError(f"target {target!r} is not callable")
    return func


class PythonBot:
    def __init__(self, name: str, target: str, kwargs: Mapping[str, Any] | None = None,
                 concurrency: int = 8, cache: bool = False) -> None:
        """`cache: true` only for deterministic functions: replies are then reused across runs."""
        self.name = name
        self.target = target
        self.kwargs = dict(kwargs or {})
        self.concurrency = concurrency
        self.cache = cache
        self.detector = HandoffDetector()
        self._func: Callable[..., Any] | None = None

    def prepare(self, cases: Sequence[Case]) -> None:
        self._func = load_callable(self.target)

    def fingerprint(self) -> dict[str, Any] | None:
        return {"kind": "python", "target": self.target, "kwargs": self.kwargs} if self.cache else None

    async def respond(self, inquiry: Inquiry) -> Answer:
        if self._func is None:
            raise RuntimeError("prepare() was not called")
        if inspect.iscoroutinefunction(self._func):
            result = await self._func(inquiry, **self.kwargs)
        else:  # a blocking function must not stall the other inquiries
            result = await asyncio.to_thread(self._func, inquiry, **self.kwargs)
        return self._answer(result)

    def _answer(self, result: Any) -> Answer:
        if isinstance(result, Answer):
            return result
        if isinstance(result, str):
            return Answer(result, *self.detector.read(result))
        if isinstance(result, Mapping) and isinstance(result.get("reply"), str):
            handoff = bool(result.get("handoff", False))
            return Answer(result["reply"], handoff, f"handoff: {result.get('reason')}" if handoff else "")
        raise TypeError(f"{self.target} returned {type(result).__name__}; expected str, "
                        "{'reply': str, 'handoff': bool} or Answer")
