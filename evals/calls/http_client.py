"""Size-capped HTTP for the call layer, and the translation of HTTP outcomes into call failures.

A reply body above `limits.max_reply_bytes` is refused from its Content-Length header, or, without
one (chunked), as soon as the bytes read pass the cap: it is never held whole in memory. The cap is
on the bytes as they arrive; `Accept-Encoding: identity` asks servers not to compress, so that is
also the size of the decoded body.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx2 as httpx

from evals.calls.failures import (
    BadStatus,
    CallError,
    MalformedReply,
    Refused,
    ReplyTooLarge,
    Retryable,
    Unreachable,
    shorten,
)
from evals.calls.limits import Limits
from evals.calls.logs import quiet_http_logs
from evals.calls.retry import retry_after_seconds

CONNECT_TIMEOUT_S = 10.0  # an unreachable host should fail in seconds, whatever timeout_s is


class _CappedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, cap: int, url: str) -> None:
        self.inner, self.cap, self.url = inner, cap, url

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in self.inner:
            seen += len(chunk)
            if seen > self.cap:
                await self.inner.aclose()
                raise ReplyTooLarge(f"the reply from {self.url} passed limits.max_reply_bytes = {self.cap} "
                                    "bytes; reading stopped there")
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


class CappedTransport(httpx.AsyncBaseTransport):
    """Wraps a transport so that no response body beyond `cap` bytes is read."""

    def __init__(self, inner: httpx.AsyncBaseTransport, cap: int) -> None:
        self.inner, self.cap = inner, cap

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        url = str(request.url.copy_with(query=None))
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.cap:
            await response.aclose()
            raise ReplyTooLarge(f"the reply from {url} is {int(length)} bytes (Content-Length), above "
                                f"limits.max_reply_bytes = {self.cap}; not read")
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _CappedStream(response.stream, self.cap, url)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def make_client(limits: Limits, headers: Mapping[str, str] | None = None) -> httpx.AsyncClient:
    """An HTTP client within `limits` (made inside the running event loop; close it there)."""
    quiet_http_logs()
    pool = httpx.Limits(max_connections=limits.concurrency, max_keepalive_connections=limits.concurrency)
    return httpx.AsyncClient(
        headers={"Accept-Encoding": "identity", **(headers or {})},
        timeout=httpx.Timeout(limits.timeout_s, connect=min(limits.timeout_s, CONNECT_TIMEOUT_S)),
        transport=CappedTransport(httpx.AsyncHTTPTransport(limits=pool), limits.max_reply_bytes),
    )


def transport_failure(exc: BaseException, url: str) -> CallError:
    """A failure below HTTP: no connection at all is `Unreachable`; a timeout or drop is retried."""
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
        return Unreachable(f"{type(exc).__name__} to {url}: {exc}")
    return Retryable(f"{type(exc).__name__}: {exc}")


def status_failure(status: int, headers: Mapping[str, str], body: str, final: type[CallError] = BadStatus) -> CallError:
    """An HTTP error status as a call failure, quoting (shortened) what the server said."""
    said = f": {shorten(body)}" if body.strip() else ""
    if status == 429 or status >= 500:
        after_ms = headers.get("retry-after-ms")
        try:
            after = float(after_ms) / 1000 if after_ms else retry_after_seconds(headers.get("retry-after"))
        except ValueError:
            after = retry_after_seconds(headers.get("retry-after"))
        return Retryable(f"HTTP {status}", retry_after=after, status=status)
    if status in (401, 403):
        return Refused(f"HTTP {status}{said}", status=status)
    return final(f"HTTP {status}{said}", status=status)


def read_json(response: httpx.Response) -> Any:
    """The JSON body of a 2xx reply, or `MalformedReply` saying what came instead."""
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        text = response.content.decode("utf-8", "replace")
        raise MalformedReply(f"HTTP {response.status_code} but the body is not JSON ({kind}): "
                             f"{shorten(text) or '(empty)'}", status=response.status_code) from None


async def post_json(client: httpx.AsyncClient, url: str, body: Any, final: type[CallError] = BadStatus) -> Any:
    """POST `body`, return the parsed JSON of a 2xx reply; anything else raises a `CallError`
    (`final` for a 4xx other than 401/403/429)."""
    try:
        response = await client.post(url, json=body)
    except httpx.TransportError as exc:
        raise transport_failure(exc, url) from None
    if not 200 <= response.status_code < 300:
        raise status_failure(response.status_code, response.headers, response.text, final)
    return read_json(response)
