"""Chat completions over any OpenAI-compatible API, through the call layer.

The official `openai` client sends the request (auth, headers, status errors) over a size-capped
HTTP client; its own retries are off, the `Endpoint`'s apply. The reply is read raw and checked:
a 2xx that is not JSON, is an HTML page, or has no `choices[0].message` is a `MalformedReply`
(retried); callers check the answer itself with `answer_of`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx2 as httpx

from evals.calls.failures import CallError, InvalidAnswer, MalformedReply, Retryable, shorten
from evals.calls.http_client import make_client, read_json, status_failure, transport_failure
from evals.calls.limits import Limits
from evals.calls.retry import Endpoint
from evals.calls.secrets import Secrets, check_env_name, check_http_url, read_env, safe_url

if TYPE_CHECKING:  # the client itself is imported when a call is made: about 1 s that offline runs never pay
    import openai

DEFAULT_BASE_URL = "https://api.openai.com/v1"
NO_KEY = "not-needed"  # sent when `api_key_env` is null: the client insists on some key


def read_api_key(env: str | None, owner: str, base_url: str) -> str:
    """The key from the environment variable a config names (never from the config itself).

    `env: null` is for servers that need no key; the client still sends a placeholder.
    """
    if not env:
        return NO_KEY
    return read_env(env, owner, f"the API key for {safe_url(base_url)}, or set api_key_env to null if the server "
                                "needs none")


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ChatAnswer:
    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


def _message(data: Any) -> dict[str, Any]:
    """`choices[0].message` of a completion, or `MalformedReply` quoting what came instead."""
    choices = data.get("choices") if isinstance(data, dict) else None
    first = choices[0] if isinstance(choices, list) and choices else None
    message = first.get("message") if isinstance(first, dict) else None
    if not isinstance(message, dict):
        what = "no choices" if not choices else "no message in choices[0]"
        raise MalformedReply(f"HTTP 200 but {what}: {shorten(json.dumps(data, ensure_ascii=False))}", status=200)
    return message


def answer_of(data: Any, *, allow_empty: bool = False) -> ChatAnswer:
    """The answer in a completion. Empty content with no tool call, or tool-call arguments that are
    not a JSON object, raise `InvalidAnswer` (unless `allow_empty`, for callers that judge the text)."""
    message = _message(data)
    content = message.get("content")
    text = content if isinstance(content, str) else ""
    calls = []
    for call in message.get("tool_calls") or []:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise MalformedReply(f"HTTP 200 but a tool call without a function name: {shorten(json.dumps(call))}",
                                 status=200)
        raw = function.get("arguments") or "{}"
        try:
            arguments = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            arguments = None
        if not isinstance(arguments, dict):
            raise InvalidAnswer(f"the model called {function['name']} with arguments that are not a JSON object: "
                                f"{shorten(str(raw))}", status=200)
        calls.append(ToolCall(function["name"], arguments))
    if not text.strip() and not calls and not allow_empty:
        raise InvalidAnswer(f"the model answered with empty content and no tool call: "
                            f"{shorten(json.dumps(message, ensure_ascii=False))}", status=200)
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    return ChatAnswer(text, calls, prompt if isinstance(prompt, int) else None,
                      completion if isinstance(completion, int) else None)


class ChatClient:
    """One OpenAI-compatible endpoint: its key, limits, client and `Endpoint` (retries, fail fast)."""

    def __init__(self, base_url: str | None, api_key_env: str | None, limits: Mapping[str, Any] | None,
                 owner: str) -> None:
        if api_key_env is not None:
            check_env_name(f"{owner}: api_key_env", api_key_env)
        self.base_url = base_url or DEFAULT_BASE_URL
        check_http_url(f"{owner}: base_url", self.base_url)
        self.api_key_env = api_key_env
        self.owner = owner
        self.limits = Limits.from_config(limits, owner)
        self.endpoint: Endpoint | None = None
        self._key = ""
        self._client: openai.AsyncOpenAI | None = None

    def prepare(self) -> None:
        """Read the key now (a missing one is the user's to fix before any call); keep one endpoint."""
        self._key = read_api_key(self.api_key_env, self.owner, self.base_url)
        if self.endpoint is None:
            secrets = Secrets([self._key] if self.api_key_env else [])
            self.endpoint = Endpoint(self.limits, self.base_url, self.owner, secrets)

    def _open(self) -> openai.AsyncOpenAI:
        """The client is made inside the running event loop, and closed by `aclose` in it."""
        import openai

        if self._client is None:
            self._client = openai.AsyncOpenAI(base_url=self.base_url, api_key=self._key, max_retries=0,
                                              timeout=self.limits.timeout_s, http_client=make_client(self.limits))
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def complete(self, body: dict[str, Any], tokens: int = 0) -> dict[str, Any]:
        """POST /chat/completions; the completion JSON (with a message), or a `CallError`."""
        if self.endpoint is None:
            raise RuntimeError("prepare() was not called")
        import openai

        client = self._open()
        url = safe_url(self.base_url)

        async def attempt() -> dict[str, Any]:
            try:
                # Posting plain JSON skips the typed `create`'s parameter transform (CPU per call);
                # the raw response is checked here rather than trusted by the client's parser.
                response = await client.post("/chat/completions", cast_to=httpx.Response, body=body)
            except openai.APIStatusError as exc:
                raise status_failure(exc.status_code, exc.response.headers, exc.response.text) from None
            except openai.APITimeoutError:
                raise Retryable(f"no answer within {self.limits.timeout_s:g} s") from None
            except openai.APIConnectionError as exc:
                raise transport_failure(exc.__cause__ or exc, url) from None
            data = read_json(response)
            _message(data)
            return data

        return await self.endpoint.call(attempt, tokens=tokens)


__all__ = ["CallError", "ChatAnswer", "ChatClient", "ToolCall", "answer_of", "read_api_key"]
