"""A team's own bot service over HTTP, with the JSON contract documented in the README.

Request (POST): {"conversation_id", "case_id", "language", "channel",
                 "messages": [{"role": "customer" | "agent" | "bot", "text"}]}
Response (200): {"reply": str, "handoff": bool, "reason": str | null,
                 "usage": {"prompt_tokens": int, "completion_tokens": int} | null}

`handoff` is the bot's own explicit decision; `handoff_kind` records what the reply's words read
as (evals.handoff), "handoff" whenever the bot says it handed off.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import httpx2 as httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from evals.endpoint import Endpoint, EndpointLimits, Retryable, retry_after_seconds
from evals.errors import UserError
from evals.handoff import HandoffDetector
from evals.pii import PiiRedactor, redact_texts, should_redact
from evals.types import Answer, Case, Inquiry


class _Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int


class BotResponse(BaseModel):
    model_config = ConfigDict(extra="ignore")
    reply: str
    handoff: bool
    reason: str | None = None
    usage: _Usage | None = None


class ContractError(Exception):
    """The bot answered, but not in the documented contract."""


class HttpBot:
    def __init__(
        self,
        name: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        header_env: Mapping[str, str] | None = None,
        limits: Mapping[str, Any] | None = None,
        redact_pii: bool | str = "auto",
    ) -> None:
        """`headers` are sent as given; `header_env` maps a header to the environment variable
        holding its value (for tokens), so secrets stay out of configs and logs."""
        self.name = name
        self.url = url
        self.headers = dict(headers or {})
        self.header_env = dict(header_env or {})
        self.limits = EndpointLimits(**(limits or {}))
        self.concurrency = self.limits.concurrency
        self.redactor = PiiRedactor() if should_redact(redact_pii, url) else None
        self.detector = HandoffDetector()
        self._client: httpx.AsyncClient | None = None
        self._headers: dict[str, str] = {}
        self._endpoint: Endpoint | None = None

    def fingerprint(self) -> dict[str, Any]:
        return {"kind": "http", "url": self.url, "headers": self.headers,
                "header_env": sorted(self.header_env), "redact_pii": self.redactor is not None}

    def prepare(self, cases: Sequence[Case]) -> None:
        headers = dict(self.headers)
        for header, env in self.header_env.items():
            value = os.environ.get(env)
            if not value:
                raise UserError(f"variant {self.name}: set the environment variable {env} (sent as {header})")
            headers[header] = value
        self._headers = headers
        self._endpoint = Endpoint(self.limits)

    def _open(self) -> httpx.AsyncClient:
        """The client is made inside the running event loop, and closed by `aclose` in it."""
        if self._client is None:
            self._client = httpx.AsyncClient(headers=self._headers, timeout=self.limits.timeout_s,
                                             limits=httpx.Limits(max_connections=self.limits.concurrency))
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def request(self, inquiry: Inquiry) -> tuple[dict[str, Any], dict[str, int]]:
        texts, counts = redact_texts(self.redactor, [t.text for t in inquiry.history])
        messages = [{"role": t.role, "text": text} for t, text in zip(inquiry.history, texts)]
        body = {"conversation_id": inquiry.conversation_id, "case_id": inquiry.case_id,
                "language": inquiry.language, "channel": inquiry.channel, "messages": messages}
        return body, counts

    async def respond(self, inquiry: Inquiry) -> Answer:
        if self._endpoint is None:
            raise RuntimeError("prepare() was not called")
        body, redacted = self.request(inquiry)
        client = self._open()

        async def attempt() -> httpx.Response:
            try:
                response = await client.post(self.url, json=body)
            except httpx.TransportError as exc:  # timeouts, refused or dropped connections
                raise Retryable(f"{type(exc).__name__}: {exc}") from exc
            if response.status_code == 429 or response.status_code >= 500:
                raise Retryable(f"HTTP {response.status_code}",
                                retry_after_seconds(response.headers.get("retry-after")))
            return response

        response = await self._endpoint.call(attempt)
        if response.status_code != 200:
            raise ContractError(f"HTTP {response.status_code}: {response.text[:200]}")
        try:
            parsed = BotResponse.model_validate_json(response.content)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "body"
            raise ContractError(f"response field '{field}': {first['msg']}") from None
        usage = parsed.usage
        kind = ("handoff" if parsed.handoff else
                self.detector.classify(parsed.reply, inquiry.language).kind if parsed.reply.strip() else "none")
        return Answer(parsed.reply, parsed.handoff, f"handoff: {parsed.reason}" if parsed.handoff else "",
                      usage.prompt_tokens if usage else None, usage.completion_tokens if usage else None,
                      None, redacted, kind)
