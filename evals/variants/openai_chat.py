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

from evals.cache import text_hash
from evals.calls.cost import price_of
from evals.calls.openai_client import ChatClient, answer_of
from evals.calls.redaction import redact_texts, redactor_for
from evals.errors import UserError
from evals.handoff import HandoffDetector
from evals.memory import Memory
from evals.types import Answer, Inquiry
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
__all__ = ["TRANSFER_TOOL", "OpenAIChatBot", "price_of"]


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
        self.chat = ChatClient(base_url, api_key_env, limits, f"variant {name}")
        self.base_url = self.chat.base_url
        self.api_key_env = api_key_env
        self.prompt = path.read_text(encoding="utf-8")
        self.params = {"temperature": temperature, "seed": seed, "max_tokens": max_tokens}
        self.handoff = handoff
        self.detector = HandoffDetector(tuple(handoff_patterns)) if handoff_patterns else HandoffDetector()
        self.handoff_reply = handoff_reply
        self.policy = HandoffPolicy.configured(name, None, offer, redirect)
        self.limits = self.chat.limits
        self.concurrency = self.limits.concurrency
        # a plain dict: an OmegaConf node costs a third of a millisecond per lookup, on every reply
        self.prices = {model: dict(price) for model, price in prices.items()} if prices else prices
        self.redactor = redactor_for(redact_pii, self.base_url)

    def fingerprint(self) -> dict[str, Any]:
        return {
            "kind": "openai_chat", "model": self.model, "base_url": self.base_url,
            "prompt": text_hash(self.prompt), "params": self.params, "handoff": self.handoff,
            "tools": text_hash(json.dumps(TRANSFER_TOOL, sort_keys=True)) if self.handoff == "tool"
            else list(self.detector.patterns),
            "redact_pii": self.redactor is not None,
            **({"offer": self.policy.offer, "redirect": self.policy.redirect} if self.handoff == "phrase" else {}),
        }

    def prepare(self, memory: Memory) -> None:
        self.chat.prepare()

    async def aclose(self) -> None:
        await self.chat.aclose()

    def messages(self, inquiry: Inquiry) -> tuple[list[dict[str, str]], dict[str, int]]:
        texts, counts = redact_texts(self.redactor, [t.text for t in inquiry.history])
        system = {"role": "system", "content": self.prompt.replace("{language}", inquiry.language)}
        # A logged turn that was only a tool call has no words to show the model.
        return [system, *({"role": _ROLES[t.role], "content": text}
                          for t, text in zip(inquiry.history, texts) if text)], counts

    async def respond(self, inquiry: Inquiry) -> Answer:
        messages, redacted = self.messages(inquiry)
        request: dict[str, Any] = {"model": self.model, "messages": messages, **self.params}
        if inquiry.repeat and request["seed"] is not None:  # each trial of a repeated replay: its own sample
            request["seed"] += inquiry.repeat
        if self.handoff == "tool":
            request["tools"] = [TRANSFER_TOOL]
        estimate = sum(len(m["content"]) for m in messages) // 4 + int(self.params["max_tokens"])
        completion = await self.chat.complete(request, tokens=estimate)
        return self._answer(completion, redacted)

    def _answer(self, completion: dict[str, Any], redacted: dict[str, int]) -> Answer:
        answer = answer_of(completion)
        text = answer.text
        cost = price_of(self.model, self.prices, answer.prompt_tokens, answer.completion_tokens)
        calls = [c for c in answer.tool_calls if c.name == TRANSFER_TOOL["function"]["name"]]
        if calls:
            escalated, note, kind = True, f"transfer_to_human: {calls[0].arguments.get('reason', '')}", "handoff"
            text = text or self.handoff_reply
        elif self.handoff == "phrase":
            decision = self.policy.decide(text, DefaultReader(self.detector))
            escalated, note, kind = decision.escalated, decision.note, decision.kind
        else:  # the model had the tool and did not call it; the words are recorded, not obeyed
            escalated, note = False, ""
            kind = self.detector.classify(text).kind if text.strip() else "none"
        return Answer(text, escalated, note, answer.prompt_tokens, answer.completion_tokens, cost, redacted, kind)
