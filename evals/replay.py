"""Variant x cases -> replies: cached replies first, then the rest by a bounded worker pool.

A variant that raises does not stop the run: the reply carries the error (after the
variant's own retries) and is counted as unscored downstream. Two exceptions stop it: an endpoint
that refuses every call (`EndpointUnusable`, raised by the call layer), and Ctrl-C. After the
run's deadline (its time budget) no new inquiry is asked; the rest carry an error saying so. Replies of variants with a
fingerprint are written to the cache the moment they arrive, so a killed run loses nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import time
from collections.abc import Callable, Sequence
from typing import Any

from evals.cache import ReplyCache, cache_key
from evals.errors import EndpointUnusable, NoReplyInData, UserError
from evals.types import Answer, Case, Inquiry, Reply, Variant

OnReply = Callable[[Reply], None]
_CACHED_FIELDS = ("text", "escalated", "latency_s", "note", "prompt_tokens", "completion_tokens",
                  "cost_usd", "redacted", "handoff_kind")


async def replay(
    variant: Variant,
    cases: Sequence[Case],
    concurrency: int = 8,
    on_reply: OnReply | None = None,
    cache: ReplyCache | None = None,
    deadline: float | None = None,
) -> list[Reply]:
    """Ask the variant at every case; replies come back in case order."""
    concurrency = int(getattr(variant, "concurrency", None) or concurrency)
    if concurrency < 1:
        raise UserError(f"replay.concurrency must be at least 1, got {concurrency}")
    inquiries = [c.inquiry() for c in cases]
    fingerprint = variant.fingerprint() if cache is not None and hasattr(variant, "fingerprint") else None
    keys = [cache_key(fingerprint, q) for q in inquiries] if fingerprint is not None else []
    replies: list[Reply | None] = [None] * len(cases)

    def done(i: int, reply: Reply) -> None:
        replies[i] = reply
        if on_reply is not None:
            on_reply(reply)

    if keys and cache is not None:
        for i, value in _lookup(cache, keys).items():
            done(i, Reply(inquiries[i].case_id, variant.name, cached=True, **value))

    todo = asyncio.Queue[int]()
    for i, reply in enumerate(replies):
        if reply is None:
            todo.put_nowait(i)

    async def worker() -> None:
        while not todo.empty():
            i = todo.get_nowait()
            if deadline is not None and time.monotonic() > deadline:
                done(i, Reply(inquiries[i].case_id, variant.name, "", False, 0.0,
                              error="not asked: the run's time budget (replay.time_budget_s) ran out"))
                continue
            reply = await _ask(variant, inquiries[i])
            if keys and cache is not None and reply.error is None:
                cache.put(keys[i], variant.name, {f: getattr(reply, f) for f in _CACHED_FIELDS})
            done(i, reply)

    # The cases and conversations live for the whole replay: keeping them out of the cyclic
    # garbage collector's scans removes pauses that stall every request in flight. Objects a caller
    # froze before (the CLI freezes its imports) stay frozen: unfreezing hands them all back.
    frozen_by_caller = gc.get_freeze_count() > 0
    gc.freeze()
    try:
        await asyncio.gather(*(worker() for _ in range(min(concurrency, todo.qsize()))))
    finally:
        if not frozen_by_caller:
            gc.unfreeze()
        close = getattr(variant, "aclose", None)
        if close is not None:  # network clients belong to this event loop: close them in it
            await close()
    return [r for r in replies if r is not None]


def _lookup(cache: ReplyCache, keys: Sequence[str]) -> dict[int, dict[str, Any]]:
    found = cache.get_many(keys)
    return {i: found[k] for i, k in enumerate(keys) if k in found}


async def _ask(variant: Variant, inquiry: Inquiry) -> Reply:
    start = time.perf_counter()
    try:
        answer: Answer = await variant.respond(inquiry)
    except EndpointUnusable:
        raise  # nothing will answer: stop the run now, naming the URL
    except Exception as exc:  # any bot failure is data about the bot, not a crash
        return Reply(inquiry.case_id, variant.name, "", False, time.perf_counter() - start,
                     error=f"{type(exc).__name__}: {exc}", missing=isinstance(exc, NoReplyInData))
    return Reply(inquiry.case_id, variant.name, latency_s=time.perf_counter() - start,
                 **dataclasses.asdict(answer))


def replay_sync(variant: Variant, cases: Sequence[Case], concurrency: int = 8,
                on_reply: OnReply | None = None, cache: ReplyCache | None = None) -> list[Reply]:
    return asyncio.run(replay(variant, cases, concurrency, on_reply, cache))
