"""The bounds of one remote service: how many calls, how fast, how long, how big."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evals.errors import UserError


@dataclass(frozen=True)
class Limits:
    concurrency: int = 16
    rpm: float | None = None  # requests per minute; None = unlimited
    tpm: float | None = None  # tokens per minute (prompt estimate + max completion); None = unlimited
    timeout_s: float = 60.0  # per attempt
    max_retries: int = 5  # attempts after the first
    backoff_s: float = 0.5  # first backoff; doubles each retry, with jitter
    max_backoff_s: float = 30.0
    # A server asking to wait longer than this (Retry-After) gets no retry: the call fails at once,
    # saying so, rather than sleeping for hours (one `Retry-After: 86400` once stalled a run for a day).
    max_retry_after_s: float = 60.0
    max_reply_bytes: int = 1_000_000  # a longer reply body is refused, never read whole into memory
    deadline_s: float = 300.0  # one call, from its first attempt: attempts, backoffs and waits included

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise UserError(f"limits.concurrency must be at least 1, got {self.concurrency}")
        for name in ("rpm", "tpm"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise UserError(f"limits.{name} must be positive or null, got {value}")
        if self.timeout_s <= 0 or self.max_retries < 0:
            raise UserError("limits.timeout_s must be positive and limits.max_retries at least 0")
        for name in ("backoff_s", "max_backoff_s", "max_retry_after_s"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise UserError(f"limits.{name} must be a number >= 0, got {value!r}")
        if not (isinstance(self.max_reply_bytes, int) and self.max_reply_bytes >= 1):
            raise UserError(f"limits.max_reply_bytes must be a whole number >= 1, got {self.max_reply_bytes!r}")
        if not (isinstance(self.deadline_s, (int, float)) and math.isfinite(self.deadline_s)
                and self.deadline_s > 0):
            raise UserError(f"limits.deadline_s must be a positive number of seconds, got {self.deadline_s!r}")

    @classmethod
    def from_config(cls, values: Mapping[str, Any] | None, owner: str) -> Limits:
        """From a config's `limits` mapping; an unknown key is a one-line error naming the known ones."""
        values = dict(values or {})
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise UserError(f"{owner}: limits.{unknown[0]} is not a known limit (known: {', '.join(known)})")
        try:
            return cls(**values)
        except UserError as exc:
            raise UserError(f"{owner}: {exc}") from None

    def share(self, shards: int) -> Limits:
        """One of `shards` equal shares of these limits, so shards running at once stay within them together:
        concurrency split (at least 1 each), requests and tokens per minute divided."""
        if shards <= 1:
            return self
        return dataclasses.replace(
            self, concurrency=max(1, self.concurrency // shards),
            rpm=None if self.rpm is None else self.rpm / shards, tpm=None if self.tpm is None else self.tpm / shards)
