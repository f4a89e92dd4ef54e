"""`Endpoint`: every call to one remote service runs through `Endpoint.call`, within its limits.

Retries: a `Retryable` failure is tried again with exponential backoff and jitter, waiting at least
the server's Retry-After. Bounds (see `Limits`): a Retry-After above `max_retry_after_s` ends the call
at once (counted as a failure, not slept on); each attempt has `timeout_s`; the whole call, from its
first attempt, has `deadline_s` (a backoff never sleeps past it).

Fail fast: `EndpointUnusable` (naming the URL, never the key) is raised
* on a connection failure (refused, DNS, connect timeout) before the endpoint has ever answered, and
* on HTTP 401/403 before the endpoint has ever answered a call with success,
at the first such attempt, without retries. From then on every call of this endpoint raises it at
once, so the inquiries still queued cost nothing. After a success the same failures are ordinary
(a connection drop is retried, a 401 is that call's error).

Every failure leaving `call` is a `CallError` (or `EndpointUnusable`) whose message has been scrubbed
of the endpoint's secrets, with no chained cause that could carry them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from email.utils import parsedate_to_datetime
from typing import TypeVar

from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from evals.calls.failures import CallError, DeadlineExceeded, Refused, Retryable, Unreachable
from evals.calls.limits import Limits
from evals.calls.secrets import Secrets, safe_url
from evals.errors import EndpointUnusable

T = TypeVar("T")


def retry_after_seconds(value: str | None) -> float | None:
    """Parse a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        import datetime as dt

        return max(0.0, (parsedate_to_datetime(value) - dt.datetime.now(dt.timezone.utc)).total_seconds())
    except (TypeError, ValueError):
        return None


class _Clock:
    """The deadline of one call, started by its first attempt (not by waiting for a slot)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.start: float | None = None

    def remaining(self) -> float:
        if self.start is None:
            self.start = time.monotonic()
        return self.seconds - (time.monotonic() - self.start)


class Endpoint:
    def __init__(self, limits: Limits, url: str = "", owner: str = "endpoint",
                 secrets: Secrets | None = None) -> None:
        self.limits = limits
        self.url = safe_url(url) if url else "(no URL)"
        self.owner = owner
        self.secrets = secrets or Secrets()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._backoff = wait_exponential_jitter(multiplier=limits.backoff_s, max=limits.max_backoff_s,
                                                jitter=limits.backoff_s)
        self.attempts = 0  # calls made, retries included
        self.retries = 0
        self._answered = False  # any HTTP response yet
        self._succeeded = False  # any successful call yet
        self._unusable: str | None = None

    async def call(self, attempt: Callable[[], Awaitable[T]], tokens: int = 0) -> T:
        """Run `attempt` within the limits, retrying `Retryable` failures; the last one is raised."""
        if self._unusable is not None:
            raise EndpointUnusable(self._unusable)
        clock = _Clock(self.limits.deadline_s)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.limits.max_retries + 1),
            wait=lambda state: self._wait(state, clock),
            retry=retry_if_exception_type(Retryable),
            reraise=True,
        )
        try:
            async for trial in retrying:
                with trial:
                    if trial.retry_state.attempt_number > 1:
                        self.retries += 1
                    return await self._once(attempt, tokens, clock)
        except EndpointUnusable:
            raise
        except CallError as exc:
            exc.args = (self.secrets.scrub(str(exc)),)
            raise exc from None
        except Exception as exc:  # a failure no translation foresaw: kept as it is unless it holds a secret
            text = f"{type(exc).__name__}: {exc}"
            if self.secrets.scrub(text) != text:
                raise CallError(self.secrets.scrub(text)) from None
            raise
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _wait(self, state: RetryCallState, clock: _Clock) -> float:
        """Exponential backoff with jitter, never sooner than Retry-After, never past the deadline."""
        exc = state.outcome.exception() if state.outcome else None
        wanted = max(self._backoff(state), getattr(exc, "retry_after", None) or 0.0)
        return max(0.0, min(wanted, clock.remaining()))

    def _bind(self) -> None:
        """asyncio primitives belong to one event loop: make them anew when the loop changes
        (each replay or scoring pass of a run may use its own)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._slots = asyncio.Semaphore(self.limits.concurrency)
            self._requests = AsyncLimiter(self.limits.rpm, 60) if self.limits.rpm else None
            self._tokens = AsyncLimiter(self.limits.tpm, 60) if self.limits.tpm else None

    async def _once(self, attempt: Callable[[], Awaitable[T]], tokens: int, clock: _Clock) -> T:
        self._bind()
        async with self._slots:
            if self._unusable is not None:  # decided while this call waited for its slot
                raise EndpointUnusable(self._unusable)
            if self._requests is not None:
                await self._requests.acquire()
            if self._tokens is not None and tokens:
                await self._tokens.acquire(min(tokens, self.limits.tpm or tokens))
            remaining = clock.remaining()
            if remaining <= 0:
                raise DeadlineExceeded(f"no answer from {self.url} within the call deadline of "
                                       f"{self.limits.deadline_s:g} s (limits.deadline_s), retries included")
            self.attempts += 1
            try:
                async with asyncio.timeout(min(self.limits.timeout_s, remaining)):
                    result = await attempt()
            except TimeoutError:
                raise Retryable(f"no answer within {self.limits.timeout_s:g} s") from None
            except Unreachable as exc:
                if not self._answered:
                    self._give_up(f"cannot connect ({exc})")
                raise
            except Refused as exc:
                if not self._succeeded:
                    self._give_up(f"it refused the credentials ({exc})")
                raise
            except Retryable as exc:
                self._answered = self._answered or exc.status is not None
                cap = self.limits.max_retry_after_s
                if exc.retry_after is not None and exc.retry_after > cap:
                    raise CallError(f"{exc}: the server asked to retry after {exc.retry_after:g} s, more than "
                                    f"limits.max_retry_after_s = {cap:g} s; not retried", status=exc.status) from None
                raise
            except CallError as exc:
                self._answered = self._answered or exc.status is not None
                raise
            self._answered = self._succeeded = True
            return result

    def _give_up(self, why: str) -> None:
        self._unusable = self.secrets.scrub(
            f"{self.owner}: the endpoint {self.url} is unusable: {why}. Nothing more is sent to it; "
            "check the URL and the key's environment variable, then run again")
        raise EndpointUnusable(self._unusable) from None
