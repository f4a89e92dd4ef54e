import asyncio
import time

import pytest

from evals.calls.failures import Retryable
from evals.calls.limits import Limits as EndpointLimits
from evals.calls.retry import Endpoint, retry_after_seconds
from evals.errors import UserError


def run(coro):
    return asyncio.run(coro)


def flaky(failures: list[Exception]):
    calls = []

    async def attempt() -> str:
        calls.append(time.perf_counter())
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]
        return "ok"

    return attempt, calls


def test_retryable_failures_are_retried_until_success() -> None:
    endpoint = Endpoint(EndpointLimits(backoff_s=0.001, max_backoff_s=0.01))
    attempt, calls = flaky([Retryable("HTTP 429"), Retryable("HTTP 500")])
    assert run(endpoint.call(attempt)) == "ok"
    assert len(calls) == 3 and endpoint.attempts == 3 and endpoint.retries == 2


def test_retry_after_is_honoured_even_above_the_backoff() -> None:
    endpoint = Endpoint(EndpointLimits(backoff_s=0.001, max_backoff_s=0.002))
    attempt, calls = flaky([Retryable("HTTP 429", retry_after=0.2)])
    run(endpoint.call(attempt))
    assert calls[1] - calls[0] >= 0.2


def test_final_failures_are_not_retried_and_retries_stop() -> None:
    endpoint = Endpoint(EndpointLimits(backoff_s=0.001, max_retries=2))
    attempt, calls = flaky([ValueError("HTTP 400")])
    with pytest.raises(ValueError):
        run(endpoint.call(attempt))
    assert len(calls) == 1
    attempt, calls = flaky([Retryable("HTTP 503")] * 5)
    with pytest.raises(Retryable, match="503"):
        run(endpoint.call(attempt))
    assert len(calls) == 3  # the first try and max_retries more


def test_a_hanging_call_times_out_and_is_retried() -> None:
    endpoint = Endpoint(EndpointLimits(timeout_s=0.05, backoff_s=0.001))
    calls = []

    async def attempt() -> str:
        calls.append(1)
        if len(calls) == 1:
            await asyncio.sleep(10)
        return "ok"

    assert run(endpoint.call(attempt)) == "ok" and len(calls) == 2


def test_concurrency_is_bounded() -> None:
    endpoint = Endpoint(EndpointLimits(concurrency=3))
    running, peak = 0, 0

    async def attempt() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1

    async def many() -> None:
        await asyncio.gather(*(endpoint.call(attempt) for _ in range(20)))

    run(many())
    assert peak == 3


def test_requests_per_minute_are_limited() -> None:
    # 600 rpm = 10 per second: after the initial burst capacity, 5 more need about 0.5 s.
    endpoint = Endpoint(EndpointLimits(rpm=600))

    async def attempt() -> None:
        return None

    async def many() -> float:
        start = time.perf_counter()
        await asyncio.gather(*(endpoint.call(attempt) for _ in range(605)))
        return time.perf_counter() - start

    assert run(many()) >= 0.4


def test_retry_after_header_forms_and_invalid_limits() -> None:
    assert retry_after_seconds("2.5") == 2.5
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a past date: no wait
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
    with pytest.raises(UserError, match="concurrency"):
        EndpointLimits(concurrency=0)
    with pytest.raises(UserError, match="rpm"):
        EndpointLimits(rpm=-1)


def test_one_endpoint_serves_several_event_loops() -> None:
    """A run replays and scores in separate event loops; the endpoint must follow them."""
    endpoint = Endpoint(EndpointLimits(concurrency=2, rpm=6000))

    async def attempt() -> str:
        await asyncio.sleep(0)
        return "ok"

    async def some() -> list[str]:
        return await asyncio.gather(*(endpoint.call(attempt) for _ in range(5)))

    assert run(some()) == ["ok"] * 5
    assert run(some()) == ["ok"] * 5
