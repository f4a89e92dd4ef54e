"""Variant x cases -> replies: each decision point replayed, errors recorded per reply."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from evals.errors import UserError
from evals.types import Case, Reply, Variant

OnReply = Callable[[Reply], None]


async def replay(
    variant: Variant,
    cases: Sequence[Case],
    concurrency: int = 8,
    on_reply: OnReply | None = None,
) -> list[Reply]:
    """Ask the variant at every case; replies come back in case order.

    A variant that raises does not stop the run: the reply carries the error and is
    counted as unscored downstream.
    """
    if concurrency < 1:
        raise UserError(f"replay.concurrency must be at least 1, got {concurrency}")
    gate = asyncio.Semaphore(concurrency)

    async def one(case: Case) -> Reply:
        async with gate:
            reply = await _ask(variant, case)
        if on_reply is not None:
            on_reply(reply)
        return reply

    return list(await asyncio.gather(*(one(c) for c in cases)))


async def _ask(variant: Variant, case: Case) -> Reply:
    start = time.perf_counter()
    try:
        answer = await variant.respond(case.inquiry())
    except Exception as exc:  # any bot failure is data about the bot, not a crash
        return Reply(case.case_id, variant.name, "", False, time.perf_counter() - start,
                     error=f"{type(exc).__name__}: {exc}")
    return Reply(case.case_id, variant.name, answer.text, answer.escalated,
                 time.perf_counter() - start, note=answer.note)


def replay_sync(variant: Variant, cases: Sequence[Case], concurrency: int = 8,
                on_reply: OnReply | None = None) -> list[Reply]:
    return asyncio.run(replay(variant, cases, concurrency, on_reply))
