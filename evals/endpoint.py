"""One remote service's limits: concurrency, requests and tokens per minute, timeout, retries.

Variants that call out (OpenAI-compatible, HTTP bots, later judges) wrap each call in
`Endpoint.call`; they translate their client's failures into `Retryable` so that the retry
policy is the same everywhere: exponential backoff with jitter, at least `Retry-After`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TypeVar

from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from evals.errors import UserError

T = TypeVar("T")


class Retryable(Exception):
    """A failure worth trying again (429, 5xx, timeout, dropped connection)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class EndpointLimits:
    concurrency: int = 16
    rpm: float | None = None  # requests per minute; None = unlimited
    tpm: float | None = None  # tokens per minute (prompt estimate + max completion); None = unlimited
    timeout_s: float = 60.0  # per attempt
    max_retries: int = 5  # attempts after the first
    backoff_s: float = 0.5  # first backoff; doubles each retry, with jitter
    max_backoff_s: float = 30.0

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise UserError(f"concurrency must be at least 1, got {self.concurrency}")
        for name in ("rpm", "tpm"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise UserError(f"{name} must be positive or null, got {value}")
        if self.timeout_s <= 0 or self.max_retries < 0:
            raise UserError("timeout_s must be positive and max_retries at least 0")


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


class Endpoint:
    def __init__(self, limits: EndpointLimits) -> None:
        self.limits = limits
        self._loop: asyncio.AbstractEventLoop | None = None
        self._backoff = wait_exponential_jitter(multiplier=limits.backoff_s, max=limits.max_backoff_s,
                                                jitter=limits.backoff_s)
        self.attempts = 0  # calls made, retries included
        self.retries = 0

    def _wait(self, state: RetryCallState) -> float:
        """Exponential backoff with jitter, but never sooner than the server's Retry-After."""
        exc = state.outcome.exception() if state.outcome else None
        return max(self._backoff(state), getattr(exc, "retry_after", None) or 0.0)

    async def call(self, attempt: Callable[[], Awaitable[T]], tokens: int = 0) -> T:
        """Run `attempt` within the limits, retrying `Retryable` failures; the last one is raised."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.limits.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type(Retryable),
            reraise=True,
        )
        async for trial in retrying:
            with trial:
                if trial.retry_state.attempt_number > 1:
                    self.retries += 1
                return await self._once(attempt, tokens)
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _bind(self) -> None:
        """asyncio primitives belong to one event loop: make them anew when the loop changes
        (each replay or scoring pass of a run may use its own)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._slots = asyncio.Semaphore(self.limits.concurrency)
            self._requests = AsyncLimiter(self.limits.rpm, 60) if self.limits.rpm else None
            self._tokens = AsyncLimiter(self.limits.tpm, 60) if self.limits.tpm else None

    async def _once(self, attempt: Callable[[], Awaitable[T]], tokens: int) -> T:
        self._bind()
        async with self._slots:
            if self._requests is not None:
                await self._requests.acquire()
            if self._tokens is not None and tokens:
                await self._tokens.acquire(min(tokens, self.limits.tpm or tokens))
            self.attempts += 1
            try:
                async with asyncio.timeout(self.limits.timeout_s):
                    return await attempt()
            except TimeoutError:
                raise Retryable(f"no answer within {self.limits.timeout_s:g} s") from None


def read_api_key(env: str | None, owner: str, base_url: str) -> str:
    """The key from the environment variable a config names (never from the config itself).

    `env: null` is for servers that need no key; the client still sends a placeholder.
    """
    if not env:
        return "not-needed"
    key = os.environ.get(env, "")
    if not key:
        raise UserError(f"{owner}: set the environment variable {env} to the API key for {base_url} "
                        "(or set its api_key_env to null if the server needs none)")
    return key
