"""A bot behind any OpenAI-compatible chat-completions API (OpenAI, vLLM, Ollama, llama.cpp).

Hand-off is a tool the model can call (`transfer_to_human` with a reason): with `handoff: tool`
the call alone decides, and `handoff_kind` still records what the text reads as. For models
without tools, `handoff: phrase` decides from the text by the shared hand-off policy (offers and
redirects per `offer` / `redirect`; an offer counts as an attempt under `accepted`, since no
customer ever answers a live bot's reply; see docs/escalation.md). The API key is read from the
environment variable named in the config, so it never sits in a config, a log or MLflow.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import openai
from openai.types.chat import ChatCompletion

from evals.cache import text_hash
from evals.endpoint import Endpoint, EndpointLimits, Retryable, read_api_key, retry_after_seconds
from evals.errors import UserError
from evals.handoff import HandoffDetector
from evals.pii import PiiRedactor, redact_texts, should_redact
from evals.types import Answer, Case, Inquiry
from evals.variants.handoff_policy import DefaultReader, HandoffPolicy

TRANSFER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "transfer_to_human",
        "description": "Hand the conversation over to a human support agent, who takes over now.",
        "parameters": {
            "type": "object",
            "properties": {"reason": {"type": "string", "description": "why a person should take over"}},
            "required": ["reason"],
        },
    },
}
_ROLES = {"customer": "user", "agent": "assistant", "bot": "assistant"}


def price_of(model: str, prices: Mapping[str, Mapping[str, float]] | None,
             prompt_tokens: int | None, completion_tokens: int | None) -> float | None:
    """Cost in USD from a per-model table of prices per million tokens; None when unknown."""
    price = (prices or {}).get(model)
    if price is None or prompt_tokens is None or completion_tokens is None:
        return None
    return (prompt_tokens * price["input_per_mtok"] + completion_tokens * price["output_per_mtok"]) / 1e6


def as_retryable(exc: openai.OpenAIError) -> Exception:
    """429, 5xx, timeouts and dropped connections are retried; anything else is final."""
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return Retryable(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, openai.APIStatusError) and (exc.status_code == 429 or exc.status_code >= 500):
        headers = exc.response.headers
        after_ms = headers.get("retry-after-ms")
        after = float(after_ms) / 1000 if after_ms else retry_after_seconds(headers.get("retry-after"))
        return Retryable(f"HTTP {exc.status_code}", retry_after=after)
    return exc


class OpenAIChatBot:
    def __init__(
        self,
        name: str,
        model: str,
        system_prompt: str,
        base_url: str | None = None,
        api_key_env: str | None = "OPENAI_API_KEY",
        temperature: float = 0.0,
        seed: int | None = 0,
        max_tokens: int = 400,
        handoff: Literal["tool", "phrase"] = "tool",
        handoff_patterns: Sequence[str] | None = None,
        handoff_reply: str = "I'm passing your conversation to a colleague who will take over.",
        limits: Mapping[str, Any] | None = None,
        prices: Mapping[str, Mapping[str, float]] | None = None,
        redact_pii: bool | str = "auto",
        offer: str = "accepted",
        redirect: str = "never",
    ) -> None:
        if handoff not in ("tool", "phrase"):
            raise UserError(f"handoff must be 'tool' or 'phrase', got {handoff!r}")
        path = Path(system_prompt)
        if not path.is_file():
            raise UserError(f"system_prompt: no such file {system_prompt}")
        self.name = name
        self.model = model
        self.base_url = base_url or "https://api.openai.com/v1"
        self.api_key_env = api_key_env
        self.prompt = path.read_text(encoding="utf-8")
        self.params = {"temperature": temperature, "seed": seed, "max_tokens": max_tokens}
        self.handoff = handoff
        self.detector = HandoffDetector(tuple(handoff_patterns)) if handoff_patterns else HandoffDetector()
        self.handoff_reply = handoff_reply
        self.policy = HandoffPolicy.configured(name, None, offer, redirect)
        self.limits = EndpointLimits(**(limits or {}))
        self.concurrency = self.limits.concurrency
        self.prices = prices
        self.redactor = PiiRedactor() if should_redact(redact_pii, self.base_url) else None
        self._client: openai.AsyncOpenAI | None = None
        self._key = ""
        self._endpoint: Endpoint | None = None

    def fingerprint(self) -> dict[str, Any]:
        return {
            "kind": "openai_chat", "model": self.model, "base_url": self.base_url,
            "prompt": text_hash(self.prompt), "params": self.params, "handoff": self.handoff,
            "tools": text_hash(json.dumps(TRANSFER_TOOL, sort_keys=True)) if self.handoff == "tool"
            else list(self.detector.patterns),
            "redact_pii": self.redactor is not None,
            **({"offer": self.policy.offer, "redirect": self.policy.redirect} if self.handoff == "phrase" else {}),
        }

    def prepare(self, cases: Sequence[Case]) -> None:
        key = read_api_key(self.api_key_env, f"variant {self.name}", self.base_url)
        self._key = key
        self._endpoint = Endpoint(self.limits)

    def _open(self) -> openai.AsyncOpenAI:
        """The client is made inside the running event loop, and closed by `aclose` in it."""
        if self._client is None:
            # Retries and timeouts are the endpoint's, the same for every kind of variant.
            self._client = openai.AsyncOpenAI(base_url=self.base_url, api_key=self._key, max_retries=0,
                                              timeout=self.limits.timeout_s)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def messages(self, inquiry: Inquiry) -> tuple[list[dict[str, str]], dict[str, int]]:
        texts, counts = redact_texts(self.redactor, [t.text for t in inquiry.history])
        system = {"role": "system", "content": self.prompt.replace("{language}", inquiry.language)}
        # A logged turn that was only a tool call has no words to show the model.
        return [system, *({"role": _ROLES[t.role], "content": text}
                          for t, text in zip(inquiry.history, texts) if text)], counts

    async def respond(self, inquiry: Inquiry) -> Answer:
        if self._endpoint is None:
            raise RuntimeError("prepare() was not called")
        messages, redacted = self.messages(inquiry)
        request: dict[str, Any] = {"model": self.model, "messages": messages, **self.params}
        if self.handoff == "tool":
            request["tools"] = [TRANSFER_TOOL]
        estimate = sum(len(m["content"]) for m in messages) // 4 + int(self.params["max_tokens"])
        client = self._open()

        async def attempt() -> Any:
            try:
                # The request is plain JSON already: posting it skips the typed `create`'s
                # parameter transform, which costs more CPU per call than everything else here.
                return await client.post("/chat/completions", cast_to=ChatCompletion, body=request)
            except openai.OpenAIError as exc:
                raise as_retryable(exc) from exc

        completion = await self._endpoint.call(attempt, tokens=estimate)
        return self._answer(completion, redacted)

    def _answer(self, completion: Any, redacted: dict[str, int]) -> Answer:
        message = completion.choices[0].message
        text = message.content or ""
        usage = completion.usage
        prompt_tokens = usage.prompt_tokens if usage else None
        completion_tokens = usage.completion_tokens if usage else None
        cost = price_of(self.model, self.prices, prompt_tokens, completion_tokens)
        calls = [c for c in (message.tool_calls or []) if c.function.name == TRANSFER_TOOL["function"]["name"]]
        if calls:
            try:
                reason = json.loads(calls[0].function.arguments or "{}").get("reason", "")
            except json.JSONDecodeError:
                reason = calls[0].function.arguments
            escalated, note, kind = True, f"transfer_to_human: {reason}", "handoff"
            text = text or self.handoff_reply
        elif self.handoff == "phrase":
            decision = self.policy.decide(text, DefaultReader(self.detector))
            escalated, note, kind = decision.escalated, decision.note, decision.kind
        else:  # the model had the tool and did not call it; the words are recorded, not obeyed
            escalated, note = False, ""
            kind = self.detector.classify(text).kind if text.strip() else "none"
        return Answer(text, escalated, note, prompt_tokens, completion_tokens, cost, redacted, kind)
