"""A team's own bot service over HTTP, with the JSON contract documented in the README.

Request (POST): {"conversation_id", "case_id", "language", "channel",
                 "messages": [{"role": "customer" | "agent" | "bot", "text"}]}
Response (200): {"reply": str, "handoff": bool, "reason": str | null,
                 "usage": {"prompt_tokens": int, "completion_tokens": int} | null}

`handoff` is the bot's own explicit decision; `handoff_kind` records what the reply's words read
as (evals.handoff), "handoff" whenever the bot says it handed off.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx2 as httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from evals.calls.failures import CallError, shorten
from evals.calls.http_client import make_client, post_json
from evals.calls.limits import Limits
from evals.calls.redaction import redact_texts, redactor_for
from evals.calls.retry import Endpoint
from evals.calls.secrets import Secrets, check_env_name, check_http_url, read_env
from evals.handoff import HandoffDetector
from evals.memory import Memory
from evals.types import Answer, Inquiry


class _Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int


class BotResponse(BaseModel):
    model_config = ConfigDict(extra="ignore")
    reply: str
    handoff: bool
    reason: str | None = None
    usage: _Usage | None = None


class ContractError(CallError):
    """The bot answered, but not in the documented contract (a 4xx, or JSON of another shape)."""


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
        check_http_url(f"variant {name}: url", url)
        self.url = url
        self.headers = dict(headers or {})
        self.header_env = dict(header_env or {})
        for header, env in self.header_env.items():
            check_env_name(f"variant {name}: header_env.{header}", env)
        self.limits = Limits.from_config(limits, f"variant {name}")
        self.concurrency = self.limits.concurrency
        self.redactor = redactor_for(redact_pii, url)
        self.detector = HandoffDetector()
        self._client: httpx.AsyncClient | None = None
        self._headers: dict[str, str] = {}
        self._endpoint: Endpoint | None = None

    def fingerprint(self) -> dict[str, Any]:
        return {"kind": "http", "url": self.url, "headers": self.headers,
                "header_env": sorted(self.header_env), "redact_pii": self.redactor is not None}

    def prepare(self, memory: Memory) -> None:
        headers = dict(self.headers)
        for header, env in self.header_env.items():
            headers[header] = read_env(env, f"variant {self.name}", f"sent as {header}")
        self._headers = headers
        if self._endpoint is None:
            secrets = Secrets(headers[h] for h in self.header_env)
            self._endpoint = Endpoint(self.limits, self.url, f"variant {self.name}", secrets)

    def _open(self) -> httpx.AsyncClient:
        """The client is made inside the running event loop, and closed by `aclose` in it."""
        if self._client is None:
            self._client = make_client(self.limits, self._headers)
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

        async def attempt() -> BotResponse:
            data = await post_json(client, self.url, body, final=ContractError)
            try:
                return BotResponse.model_validate(data)
            except ValidationError as exc:
                first = exc.errors()[0]
                field = ".".join(str(p) for p in first["loc"]) or "body"
                raise ContractError(f"response field '{field}': {first['msg']}; the bot sent: "
                                    f"{shorten(json.dumps(data, ensure_ascii=False))}", status=200) from None

        parsed = await self._endpoint.call(attempt)
        usage = parsed.usage
        kind = ("handoff" if parsed.handoff else
                self.detector.classify(parsed.reply, inquiry.language).kind if parsed.reply.strip() else "none")
        return Answer(parsed.reply, parsed.handoff, f"handoff: {parsed.reason}" if parsed.handoff else "",
                      usage.prompt_tokens if usage else None, usage.completion_tokens if usage else None,
                      None, redacted, kind)
