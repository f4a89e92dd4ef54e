"""What a failed call is. Every message here may be stored (Reply.error, a judge's explanation):
the call layer scrubs configured secrets from it before it leaves `Endpoint.call`."""

from __future__ import annotations

import re

_SPACE = re.compile(r"\s+")
SHOWN_CHARS = 200  # how much of what a server sent an error quotes


def shorten(text: str, limit: int = SHOWN_CHARS) -> str:
    """One line, at most `limit` characters: enough to recognise an HTML page or an error body."""
    flat = _SPACE.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class CallError(Exception):
    """A call that failed for good (not retried). `status` is the HTTP status, if one came back."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Retryable(CallError):
    """A failure worth trying again: 429, 5xx, a timeout, a dropped connection, a garbled body."""

    def __init__(self, message: str, retry_after: float | None = None, *, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class Unreachable(Retryable):
    """No connection at all (refused, DNS failure, connect timeout). Before the endpoint has
    ever answered, this makes it unusable at once (see `Endpoint`)."""


class Refused(CallError):
    """HTTP 401 or 403: the credentials were refused. Before any success, the endpoint is unusable."""


class BadStatus(CallError):
    """Any other HTTP error status (400, 404, 422 ...): the same request would fail again."""


class MalformedReply(Retryable):
    """A 2xx whose body is not what the API promises (not JSON, an HTML page, no choices).
    Retried: such bodies come from proxies, gateways and overloaded servers, and pass."""


class InvalidAnswer(CallError):
    """A well-formed reply whose answer is unusable (empty content without a tool call, tool-call
    arguments that are not JSON). Not retried: at temperature 0 with a seed it comes back the same."""


class ReplyTooLarge(CallError):
    """A body above `limits.max_reply_bytes`; not retried (the same request gets the same body)."""


class DeadlineExceeded(CallError):
    """The call's overall deadline (`limits.deadline_s`) passed before an answer."""
