"""A real HTTP server on 127.0.0.1 that stands in for the services an evaluation talks to.

Two API routes:

* ``POST /v1/chat/completions`` -- an OpenAI-compatible chat-completions endpoint whose answers
  the official ``openai`` client parses (it needs ``Authorization: Bearer <non-empty>``);
* ``POST /bot`` -- the team bot contract: ``{"conversation_id", "case_id", "language",
  "channel", "messages": [{"role": "customer"|"agent"|"bot", "text"}]}`` in,
  ``{"reply", "handoff", "reason"}`` out;

plus ``GET /stats`` (attempt counts) and ``POST /reset``.

A chat request with ``response_format`` ``{"type": "json_schema", "json_schema": {"name", "schema",
"strict"}}`` or ``{"type": "json_object"}`` is a *judge* request: the answer's content is a JSON
verdict valid against the schema (``json_schema.schema``; in JSON mode the JSON a system or
developer message carries between ``<output_schema>`` and ``</output_schema>``; with neither,
``{"rationale": "Deterministic verdict <8 hex>", "score": 3}``), every value picked from the key:
strings "Deterministic verdict <key[:8]>", integers within minimum..maximum (1..5 if unbounded),
booleans, enum members, arrays of strings [] or ["item <8 hex>"]. ``$ref``/``$defs``, ``anyOf``,
``oneOf``, ``allOf`` and ``const`` are followed. Triggers, plain substrings of the LAST user
message (they survive JSON escaping), steer it:

* ``[[judge:invalid-json]]`` -- content ``"I think the score is 4"`` (not JSON);
* ``[[judge:bad-schema]]`` -- valid JSON with one violation at the top level: the first bounded
  integer property set to maximum + 1 (e.g. score 6 on 1..5), else the first enum property set to
  ``"not_a_valid_choice"``, else the first required property left out (no schema: score 6);
* ``[[judge:flaky]]`` -- attempt 1 of the key answers invalid JSON, later attempts a verdict;
* ``[[judge:score=N]]`` -- properties named ``score`` get N if within their range;
* ``[[judge:winner=A]]`` / ``=B`` / ``=tie`` -- an enum property named ``winner`` gets it;
* ``[[judge:prefer=TEXT]]`` -- ``winner`` is "A" or "B", whichever of the ``reply_a`` /
  ``reply_b`` values (of the JSON from the first "{" to the last "}" of the message) contains
  TEXT, "tie" if both or neither (trigger strings inside a reply are ignored);
* ``[[judge:position-bias]]`` -- ``winner`` is always "A" (beats winner= and prefer=).

A judge request never gets a tool call, and faults and latency apply to it as to any other.
With ``ServerConfig(json_schema_support=False)`` (``--no-json-schema``) a ``json_schema``
request is a 400 ``{"error": {"message": "response_format json_schema is not supported",
"type": "invalid_request_error", "param": "response_format"}}``.

Fault modes of the whole server (``ServerConfig``), for the call layer's tests:

* ``reject_status=401`` (or 403) -- every API request (after the first ``reject_after``) is refused,
  and the error body ECHOES the bearer token it received, as a careless server would (the client
  must scrub it);
* ``malformed=KIND`` -- 2xx answers that break the API: ``not-json`` (text/plain), ``html`` (an
  error page), ``no-choices`` (chat: ``"choices": []``; bot: JSON without ``reply``),
  ``bad-tool-args`` (a tool call whose arguments are not JSON) and ``empty`` (empty content, no tool
  call); only the first ``malformed_attempts`` attempts of each key when that is set;
* ``oversize_bytes=N`` -- every answer carries N extra bytes of padding (field ``padding``), with a
  Content-Length, or chunked without one when ``oversize_chunked``.

Everything is deterministic. Each request has a *key*: the sha256 of the canonical JSON of its
conversation part (chat: ``messages``, ``model`` and whether ``tools`` were sent; bot:
``messages``). A retry of the same request is therefore the next attempt of the same key. The
answer text is derived from the key, and so is fault injection: a key whose hash falls in
``[0, fail_rate)`` of the unit interval fails its first attempt (429 or 500, picked by another
bit of the hash), one in ``[fail_rate, fail_rate + hang_rate)`` hangs ``hang_s`` on its first
attempt before answering; every later attempt of a key is answered normally.

Use it in-process with :class:`LoopbackServer` (a background thread with its own event loop)::

    with LoopbackServer(ServerConfig(latency_s=0.01)) as server:
        client = openai.AsyncOpenAI(base_url=server.openai_url, api_key="k")

or as its own process (prints ``READY http://127.0.0.1:PORT`` once listening)::

    python -m loopback.server --latency 0.1 --fail-rate 0.2 --no-record

Per-request work is kept small (no access log, no per-request logging) so that one process
serves several hundred requests per second.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = [
    "Faults",
    "ServerConfig",
    "LoopbackServer",
    "make_app",
    "chat_key",
    "bot_key",
    "request_key",
    "planned_fault",
    "HANDOFF_TOOL",
    "HANDOFF_REASON",
    "HANDOFF_TEXT",
    "JUDGE_INVALID_JSON",
    "JUDGE_BAD_SCHEMA",
    "JUDGE_FLAKY",
    "JUDGE_POSITION_BIAS",
    "JUDGE_NOT_JSON",
    "JSON_SCHEMA_UNSUPPORTED",
    "MALFORMED",
    "judge_content",
    "judge_triggers",
    "main",
]

HOST = "127.0.0.1"
HANDOFF_TOOL = "transfer_to_human"
HANDOFF_REASON = "customer asked for a person"
HANDOFF_TEXT = "I will transfer you to a colleague from our support team."
CHAT_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
BOT_ROLES = frozenset({"customer", "agent", "bot"})
RESPONSE_FORMATS = frozenset({"text", "json_object", "json_schema"})
JSON_SCHEMA_UNSUPPORTED = "response_format json_schema is not supported"
# judge triggers, matched as plain substrings of the last user message (see judge_content)
JUDGE_INVALID_JSON = "[[judge:invalid-json]]"
JUDGE_BAD_SCHEMA = "[[judge:bad-schema]]"
JUDGE_FLAKY = "[[judge:flaky]]"
JUDGE_POSITION_BIAS = "[[judge:position-bias]]"
JUDGE_NOT_JSON = "I think the score is 4"  # the content of an invalid-JSON verdict
SCHEMA_OPEN, SCHEMA_CLOSE = "<output_schema>", "</output_schema>"
MALFORMED = ("not-json", "html", "no-choices", "bad-tool-args", "empty")
MALFORMED_HTML = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"


# --------------------------------------------------------------------------------------------
# configuration


@dataclass
class Faults:
    """Which first attempts go wrong, decided by each request key's hash."""

    fail_rate: float = 0.0  # share of distinct requests whose FIRST attempt fails (429 or 500)
    hang_rate: float = 0.0  # share of distinct requests whose FIRST attempt hangs hang_s first
    hang_s: float = 5.0
    retry_after_s: float | None = None  # sent as Retry-After header on 429s

    def __post_init__(self) -> None:
        for name in ("fail_rate", "hang_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value!r}")
        if self.fail_rate + self.hang_rate > 1.0 + 1e-9:
            raise ValueError("fail_rate + hang_rate must not exceed 1")
        if not (self.hang_s >= 0 and math.isfinite(self.hang_s)):
            raise ValueError(f"hang_s must be a finite number >= 0, got {self.hang_s!r}")
        if self.retry_after_s is not None and not self.retry_after_s >= 0:
            raise ValueError(f"retry_after_s must be >= 0, got {self.retry_after_s!r}")


@dataclass
class ServerConfig:
    latency_s: float = 0.0  # added to every answered request (asyncio.sleep)
    faults: Faults = field(default_factory=Faults)
    # the last customer message asks for a person
    handoff_pattern: str = r"(?i)\b(human|person|agent|manager)\b"
    record_bodies: bool = True  # keep every received JSON body (for tests); benchmarks turn it off
    # accept response_format {"type": "json_schema"}; False answers it with a 400 (json_object
    # still works), as some OpenAI-compatible servers do
    json_schema_support: bool = True
    reject_status: int | None = None  # 401/403 to every API request, echoing the token in the body
    reject_after: int = 0  # ... except the first N requests (a key revoked mid-run)
    malformed: str | None = None  # one of MALFORMED: 2xx answers that break the API
    malformed_attempts: int | None = None  # only the first N attempts of a key; None = all
    oversize_bytes: int = 0  # padding added to every answer
    oversize_chunked: bool = False  # send padded answers chunked, without Content-Length

    def __post_init__(self) -> None:
        if not (self.latency_s >= 0 and math.isfinite(self.latency_s)):
            raise ValueError(f"latency_s must be a finite number >= 0, got {self.latency_s!r}")
        re.compile(self.handoff_pattern)  # fail early on a bad pattern
        if self.reject_status not in (None, 401, 403):
            raise ValueError(f"reject_status must be 401, 403 or None, got {self.reject_status!r}")
        if self.malformed is not None and self.malformed not in MALFORMED:
            raise ValueError(f"malformed must be one of {', '.join(MALFORMED)}, got {self.malformed!r}")
        if self.oversize_bytes < 0:
            raise ValueError(f"oversize_bytes must be >= 0, got {self.oversize_bytes!r}")


# --------------------------------------------------------------------------------------------
# keys and faults


def request_key(part: dict[str, Any]) -> str:
    """sha256 hex digest of the canonical JSON of ``part``."""
    canonical = json.dumps(part, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def chat_key(body: dict[str, Any]) -> str:
    """Key of a chat-completions request: its messages, model and whether tools were sent."""
    return request_key(
        {"messages": body.get("messages"), "model": body.get("model"),
         "tools": bool(body.get("tools"))}
    )


def bot_key(body: dict[str, Any]) -> str:
    """Key of a bot request: its messages."""
    return request_key({"messages": body.get("messages")})


def _unit(key: str) -> float:
    """Map a hex key to [0, 1) (52 bits, exact in a float)."""
    return int(key[:13], 16) / float(1 << 52)


def planned_fault(key: str, attempt: int, faults: Faults) -> str | None:
    """The fault of attempt ``attempt`` (1-based) of ``key``: "429", "500", "hang" or None."""
    if attempt != 1:
        return None
    u = _unit(key)
    if u < faults.fail_rate:
        return "429" if int(key[-1], 16) % 2 == 0 else "500"
    if u < faults.fail_rate + faults.hang_rate:
        return "hang"
    return None


# --------------------------------------------------------------------------------------------
# shared state


class _State:
    """Counters and recordings of one server; mutated on the server loop, read from any thread."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.handoff_re = re.compile(config.handoff_pattern)
        self.lock = threading.Lock()
        self.total = 0
        self.attempts: dict[str, int] = {}
        self.received: list[Any] = []
        self.tokens_seen: set[str] = set()
        self.closing = asyncio.Event()  # set on shutdown: ends hangs at once

    def count_request(self) -> None:
        with self.lock:
            self.total += 1

    def count_attempt(self, key: str) -> int:
        with self.lock:
            n = self.attempts.get(key, 0) + 1
            self.attempts[key] = n
            return n

    def record(self, body: Any) -> None:
        if self.config.record_bodies:
            with self.lock:
                self.received.append(body)

    def saw_token(self, token: str) -> None:
        with self.lock:
            self.tokens_seen.add(token)

    def reset(self) -> None:
        with self.lock:
            self.total = 0
            self.attempts.clear()
            self.received.clear()

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {"requests": self.total, "by_key": dict(self.attempts)}

    async def hang(self) -> None:
        try:
            async with asyncio.timeout(self.config.faults.hang_s):
                await self.closing.wait()
        except TimeoutError:
            pass


_STATE: web.AppKey[_State] = web.AppKey("loopback_state", _State)


# --------------------------------------------------------------------------------------------
# helpers


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(data, ensure_ascii=False).encode("utf-8"),
        status=status,
        headers=headers,
        content_type="application/json",
    )


def _error(status: int, message: str, type_: str, code: str | None = None,
           headers: dict[str, str] | None = None, param: str | None = None) -> web.Response:
    return _json({"error": {"message": message, "type": type_, "param": param, "code": code}},
                 status=status, headers=headers)


def _rejected(state: _State, token: str | None) -> web.Response | None:
    """The 401/403 of ``reject_status``, echoing the token it was sent (a careless server's habit)."""
    status = state.config.reject_status
    if status is None or state.total <= state.config.reject_after:
        return None
    return _error(status, f"Incorrect API key provided: {token}. You can find your API key in your account.",
                  "invalid_request_error", "invalid_api_key")


def _malformed(state: _State, attempt: int, answer: dict[str, Any], chat: bool) -> web.Response | None:
    """A 2xx that breaks the API, per ``malformed`` (see the module docstring), or None."""
    kind, limit = state.config.malformed, state.config.malformed_attempts
    if kind is None or (limit is not None and attempt > limit):
        return None
    if kind == "not-json":
        return web.Response(text="upstream answered: OK (not JSON)", content_type="text/plain")
    if kind == "html":
        return web.Response(text=MALFORMED_HTML, content_type="text/html")
    if kind == "no-choices":
        return _json({**answer, "choices": []} if chat else {"unexpected": True})
    if not chat:
        return None
    message = answer["choices"][0]["message"]
    if kind == "bad-tool-args":
        message.update(content=None, tool_calls=[{"id": "call_bad", "type": "function", "function": {
            "name": HANDOFF_TOOL, "arguments": "{reason: not json"}}])
    else:  # empty
        message.update(content="", tool_calls=None)
    return _json(answer)


async def _answer(request: web.Request, data: dict[str, Any], headers: dict[str, str]) -> web.StreamResponse:
    """``data`` as JSON, padded by ``oversize_bytes`` (chunked without Content-Length if asked)."""
    config = request.app[_STATE].config
    if not config.oversize_bytes:
        return _json(data, headers=headers)
    body = json.dumps({**data, "padding": "x" * config.oversize_bytes}).encode("utf-8")
    if not config.oversize_chunked:
        return web.Response(body=body, headers=headers, content_type="application/json")
    response = web.StreamResponse(headers={**headers, "Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    try:
        for start in range(0, len(body), 65536):
            await response.write(body[start:start + 65536])
        await response.write_eof()
    except (ConnectionResetError, ConnectionError):  # the client stopped reading: what the cap is for
        pass
    return response


async def _read_json(request: web.Request) -> tuple[bool, Any]:
    raw = await request.read()
    try:
        return True, json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return False, None


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def _text_of(content: Any) -> str:
    """Plain text of a chat message content: a string, a list of parts, or null."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content
                        if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _words(text: str) -> int:
    return len(text.split())


async def _fault_or_wait(state: _State, key: str,
                         request_id: str) -> tuple[web.Response | None, int]:
    """Count this attempt of ``key`` and apply its planned fault (an error response, or a hang)
    and the latency; returns (the error response or None, the attempt number)."""
    faults = state.config.faults
    attempt = state.count_attempt(key)
    fault = planned_fault(key, attempt, faults)
    if fault == "429":
        headers = {"x-request-id": request_id}
        if faults.retry_after_s is not None:
            headers["Retry-After"] = f"{faults.retry_after_s:g}"
        return _error(429, "Rate limit reached (injected by the loopback server).",
                      "rate_limit_exceeded", "rate_limit_exceeded", headers=headers), attempt
    if fault == "500":
        return _error(500, "The server had an error while processing your request "
                      "(injected by the loopback server).", "server_error",
                      headers={"x-request-id": request_id}), attempt
    if fault == "hang":
        await state.hang()
    if state.config.latency_s > 0:
        await asyncio.sleep(state.config.latency_s)
    return None, attempt


# --------------------------------------------------------------------------------------------
# judges: chat completions with response_format json_schema / json_object

_TRIGGER_RE = re.compile(r"\[\[judge:([a-z-]+)(?:=(.*?))?\]\]")
_DEFAULT_SCORE = 3  # the score of a verdict without any schema (json_object, no markers)


def judge_triggers(text: str) -> dict[str, Any]:
    """The ``[[judge:...]]`` triggers in ``text``: flags (True) and values (str; score: int)."""
    found: dict[str, Any] = {}
    if "[[judge:" not in text:
        return found
    for match in _TRIGGER_RE.finditer(text):
        name, value = match.group(1), match.group(2)
        if value is None:
            found[name] = True
        elif name == "score":
            try:
                found["score"] = int(value.strip())
            except ValueError:
                pass
        elif name not in found:  # the first prefer=/winner= counts
            found[name] = value
    return found


def _embedded_schema(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The JSON schema a system/developer message carries between the output-schema markers."""
    for m in messages:
        if m.get("role") not in ("system", "developer"):
            continue
        text = _text_of(m.get("content"))
        start = text.find(SCHEMA_OPEN)
        if start < 0:
            continue
        end = text.find(SCHEMA_CLOSE, start)
        if end < 0:
            continue
        try:
            schema = json.loads(text[start + len(SCHEMA_OPEN):end])
        except ValueError:
            continue
        if isinstance(schema, dict):
            return schema
    return None


def _judge_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    rf = body["response_format"]
    if rf.get("type") == "json_schema":
        schema = rf["json_schema"].get("schema")
        if isinstance(schema, dict):
            return schema
    return _embedded_schema(body["messages"])


def _find_key(data: Any, name: str, depth: int = 0) -> Any:
    """The value of the first ``name`` key anywhere in ``data`` (breadth first), or None."""
    if depth > 8:
        return None
    if isinstance(data, dict):
        if name in data:
            return data[name]
        children = list(data.values())
    elif isinstance(data, list):
        children = data
    else:
        return None
    for child in children:
        found = _find_key(child, name, depth + 1)
        if found is not None:
            return found
    return None


def _preferred(text: str, prefer: str) -> str:
    """Which of reply_a / reply_b (in the JSON of ``text``) contains ``prefer``: A, B or tie."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        return "tie"
    try:
        data = json.loads(text[start:end + 1])
    except ValueError:
        try:
            data, _ = json.JSONDecoder().raw_decode(text, start)
        except ValueError:
            return "tie"
    needles = {prefer}
    try:  # the trigger was read from JSON-escaped text: also look for its decoded form
        decoded = json.loads(f'"{prefer}"')
        if isinstance(decoded, str):
            needles.add(decoded)
    except ValueError:
        pass
    needles.discard("")
    sides = []
    for name in ("reply_a", "reply_b"):
        value = _find_key(data, name)
        if value is None:
            sides.append(False)
            continue
        reply = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        reply = _TRIGGER_RE.sub("", reply)  # a trigger inside a reply does not count for it
        sides.append(any(n in reply for n in needles))
    a, b = sides
    return "A" if a and not b else "B" if b and not a else "tie"


class _Verdict:
    """Builds a JSON value valid against a (JSON Schema subset) schema, deterministic from key."""

    def __init__(self, root: dict[str, Any], key: str, score: int | None,
                 winner: str | None) -> None:
        self.root, self.key, self.score, self.winner = root, key, score, winner

    def pick(self, path: str) -> int:
        return int(hashlib.sha256(f"{self.key}|{path}".encode()).hexdigest()[:12], 16)

    def resolve(self, schema: Any, depth: int = 0) -> Any:
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and depth < 32:
            ref = schema["$ref"]
            target: Any = self.root
            if ref != "#":
                if not ref.startswith("#/"):
                    return {}
                for part in ref[2:].split("/"):
                    part = part.replace("~1", "/").replace("~0", "~")
                    target = target.get(part) if isinstance(target, dict) else None
            schema, depth = (target if isinstance(target, dict) else {}), depth + 1
        if isinstance(schema, dict) and isinstance(schema.get("allOf"), list):
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                part = self.resolve(part, depth + 1)
                if not isinstance(part, dict):
                    continue
                for k, v in part.items():
                    if k == "properties" and isinstance(v, dict):
                        merged["properties"] = {**merged.get("properties", {}), **v}
                    elif k == "required" and isinstance(v, list):
                        merged["required"] = list(merged.get("required", [])) + v
                    else:
                        merged.setdefault(k, v)
            schema = merged
        return schema

    @staticmethod
    def type_of(schema: dict[str, Any]) -> str:
        t = schema.get("type")
        if isinstance(t, list):
            t = next((x for x in t if x != "null"), "null")
        if isinstance(t, str):
            return t
        if "properties" in schema:
            return "object"
        if "items" in schema or "prefixItems" in schema:
            return "array"
        return "string"

    @staticmethod
    def bounds(schema: dict[str, Any]) -> tuple[int, int]:
        lo = hi = None
        if isinstance(schema.get("minimum"), (int, float)):
            lo = math.ceil(schema["minimum"])
        if isinstance(schema.get("exclusiveMinimum"), (int, float)) and not isinstance(
                schema["exclusiveMinimum"], bool):
            floor = math.floor(schema["exclusiveMinimum"]) + 1
            lo = floor if lo is None else max(lo, floor)
        if isinstance(schema.get("maximum"), (int, float)):
            hi = math.floor(schema["maximum"])
        if isinstance(schema.get("exclusiveMaximum"), (int, float)) and not isinstance(
                schema["exclusiveMaximum"], bool):
            ceil = math.ceil(schema["exclusiveMaximum"]) - 1
            hi = ceil if hi is None else min(hi, ceil)
        if lo is None and hi is None:
            lo, hi = 1, 5
        elif lo is None:
            lo = hi - 4
        elif hi is None:
            hi = lo + 4
        return lo, max(lo, hi)

    def value(self, schema: Any, path: str, name: str | None, depth: int = 0) -> Any:
        schema = self.resolve(schema)
        if not isinstance(schema, dict) or depth > 24:
            return f"Deterministic verdict {self.key[:8]}"
        if "const" in schema:
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            if name == "winner" and self.winner in enum:
                return self.winner
            if name == "score" and self.score in enum:
                return self.score
            return enum[self.pick(path) % len(enum)]
        for choice in ("anyOf", "oneOf"):
            options = schema.get(choice)
            if isinstance(options, list) and options:
                resolved = [self.resolve(o) for o in options]
                best = next((o for o in resolved if isinstance(o, dict)
                             and o.get("type") != "null"), resolved[0])
                return self.value(best, path, name, depth + 1)
        kind = self.type_of(schema)
        if kind == "object":
            props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
            out = {p: self.value(s, f"{path}/{p}", p, depth + 1) for p, s in props.items()}
            for p in schema.get("required") or ():
                if isinstance(p, str) and p not in out:
                    out[p] = self.value({}, f"{path}/{p}", p, depth + 1)
            return out
        if kind == "array":
            prefix = schema.get("prefixItems")
            if isinstance(prefix, list):
                return [self.value(s, f"{path}/{i}", None, depth + 1) for i, s in enumerate(prefix)]
            items = schema.get("items", {})
            n = self.pick(path) % 2  # [] or one item
            n = max(n, schema.get("minItems", 0) if type(schema.get("minItems")) is int else 0)
            if type(schema.get("maxItems")) is int:
                n = min(n, schema["maxItems"])
            item_schema = self.resolve(items)
            plain_string = (isinstance(item_schema, dict) and self.type_of(item_schema) == "string"
                            and "enum" not in item_schema and "const" not in item_schema)
            out_items = []
            for i in range(n):
                if plain_string:  # a short item, e.g. one unsupported claim
                    text = f"item {self.pick(f'{path}/{i}') & 0xFFFFFFFF:08x}"
                    out_items.append(self.string(item_schema, text))
                else:
                    out_items.append(self.value(items, f"{path}/{i}", None, depth + 1))
            return out_items
        if kind in ("integer", "number"):
            lo, hi = self.bounds(schema)
            if name == "score" and self.score is not None and lo <= self.score <= hi:
                return self.score
            return lo + self.pick(path) % (hi - lo + 1)
        if kind == "boolean":
            return bool(self.pick(path) & 1)
        if kind == "null":
            return None
        if name == "winner" and self.winner is not None:  # a free-text winner field
            return self.winner
        return self.string(schema, f"Deterministic verdict {self.key[:8]}")

    @staticmethod
    def string(schema: dict[str, Any], text: str) -> str:
        max_len, min_len = schema.get("maxLength"), schema.get("minLength")
        if type(max_len) is int and len(text) > max_len:
            text = text[:max_len]
        if type(min_len) is int and len(text) < min_len:
            text = text + "." * (min_len - len(text))
        return text

    def break_it(self, schema: dict[str, Any], instance: Any) -> Any:
        """``instance`` changed so that it violates ``schema`` (one violation, at the top)."""
        schema = self.resolve(schema)
        if not isinstance(schema, dict) or self.type_of(schema) != "object" \
                or not isinstance(instance, dict):
            return {"unexpected": True} if not isinstance(instance, dict) else []
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        resolved = {p: self.resolve(s) for p, s in props.items()}
        for p, s in resolved.items():  # 1. a bounded integer (or number) out of range
            if isinstance(s, dict) and self.type_of(s) in ("integer", "number") \
                    and "enum" not in s and "const" not in s:
                if isinstance(s.get("maximum"), (int, float)):
                    return {**instance, p: math.floor(s["maximum"]) + 1}
                if isinstance(s.get("minimum"), (int, float)):
                    return {**instance, p: math.ceil(s["minimum"]) - 1}
        for p, s in resolved.items():  # 2. a value outside an enum
            if isinstance(s, dict) and isinstance(s.get("enum"), list):
                bad = "not_a_valid_choice"
                while bad in s["enum"]:
                    bad += "_"
                return {**instance, p: bad}
        for p in schema.get("required") or ():  # 3. a required property missing
            if p in instance:
                return {k: v for k, v in instance.items() if k != p}
        return []  # 4. not even an object


def judge_content(body: dict[str, Any], key: str, last_user_text: str, attempt: int = 1) -> str:
    """The message content a judge answers to a request with a JSON ``response_format``.

    The schema is ``response_format.json_schema.schema``, else the JSON a system message carries
    between ``<output_schema>`` and ``</output_schema>``, else none (then the verdict is
    ``{"rationale": ..., "score": 3}``). Triggers in the last user message steer the answer:
    see the module docstring.
    """
    triggers = judge_triggers(last_user_text)
    if triggers.get("invalid-json") or (triggers.get("flaky") and attempt == 1):
        return JUDGE_NOT_JSON
    winner = None
    if triggers.get("position-bias"):
        winner = "A"
    elif isinstance(triggers.get("winner"), str):
        winner = triggers["winner"]
    elif isinstance(triggers.get("prefer"), str):
        winner = _preferred(last_user_text, triggers["prefer"])
    schema = _judge_schema(body)
    score = triggers.get("score")
    if schema is None:
        in_range = score is not None and 1 <= score <= 5
        verdict: Any = {"rationale": f"Deterministic verdict {key[:8]}",
                        "score": score if in_range else _DEFAULT_SCORE}
        if triggers.get("bad-schema"):
            verdict["score"] = 6  # outside the usual 1..5 scale
        return json.dumps(verdict, ensure_ascii=False)
    gen = _Verdict(schema, key, score, winner)
    verdict = gen.value(schema, "", None)
    if triggers.get("bad-schema"):
        verdict = gen.break_it(schema, verdict)
    return json.dumps(verdict, ensure_ascii=False)


# --------------------------------------------------------------------------------------------
# chat completions


def _validate_chat(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "'model' is required and must be a non-empty string."
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' is required and must be a non-empty array."
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            return f"messages[{i}] must be an object."
        if m.get("role") not in CHAT_ROLES:
            return f"messages[{i}].role must be one of {sorted(CHAT_ROLES)}."
        content = m.get("content")
        if content is not None and not isinstance(content, (str, list)):
            return f"messages[{i}].content must be a string, an array of parts or null."
    tools = body.get("tools")
    if tools is not None and not isinstance(tools, list):
        return "'tools' must be an array."
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        if value is not None and (type(value) is not int or value < 1):
            return f"'{name}' must be a positive integer."
    return None


def _validate_response_format(rf: Any, json_schema_support: bool) -> str | None:
    """Problem with a (present) ``response_format``, or None."""
    if not isinstance(rf, dict) or rf.get("type") not in RESPONSE_FORMATS:
        return f"'response_format.type' must be one of {sorted(RESPONSE_FORMATS)}."
    if rf["type"] != "json_schema":
        return None
    if not json_schema_support:
        return JSON_SCHEMA_UNSUPPORTED
    spec = rf.get("json_schema")
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"]:
        return "'response_format.json_schema.name' is required and must be a non-empty string."
    if spec.get("schema") is not None and not isinstance(spec["schema"], dict):
        return "'response_format.json_schema.schema' must be an object."
    return None


def _tool_names(tools: Any) -> set[str]:
    names: set[str] = set()
    for tool in tools or ():
        if isinstance(tool, dict):
            fn = tool.get("function")
            if isinstance(fn, dict) and isinstance(fn.get("name"), str):
                names.add(fn["name"])
    return names


def chat_completion(body: dict[str, Any], key: str, handoff_re: re.Pattern[str], *,
                    attempt: int = 1) -> dict[str, Any]:
    """The deterministic ChatCompletion answer to a (valid) request body.

    ``attempt`` (1-based, per key) only matters to judge requests with ``[[judge:flaky]]``.
    """
    messages: list[dict[str, Any]] = body["messages"]
    last_user = None
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "user":
            last_user = i
            break
    last_user_text = _text_of(messages[last_user].get("content")) if last_user is not None else ""
    rf = body.get("response_format")
    json_mode = isinstance(rf, dict) and rf.get("type") in ("json_schema", "json_object")
    wants_person = not json_mode and last_user is not None and bool(
        handoff_re.search(last_user_text))
    # after the transfer tool was called (and answered), a model answers with text, not a new call
    tool_already_used = last_user is not None and any(
        m.get("role") == "tool" or m.get("tool_calls") for m in messages[last_user + 1:])
    prompt_tokens = sum(_words(_text_of(m.get("content"))) for m in messages)

    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
    if json_mode:
        text = judge_content(body, key, last_user_text, attempt)
        words = text.split()
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        finish_reason = "stop"
        if limit is not None and len(words) > limit:  # cut like a real model: broken JSON
            text = " ".join(words[:limit])
            words = words[:limit]
            finish_reason = "length"
        message["content"] = text
        completion_tokens = len(words)
    elif (wants_person and HANDOFF_TOOL in _tool_names(body.get("tools"))
            and body.get("tool_choice") != "none" and not tool_already_used):
        message["tool_calls"] = [{
            "id": f"call_{key[:24]}",
            "type": "function",
            "function": {"name": HANDOFF_TOOL,
                         "arguments": json.dumps({"reason": HANDOFF_REASON})},
        }]
        finish_reason = "tool_calls"
        completion_tokens = 1
    else:
        text = HANDOFF_TEXT if wants_person else f"Thanks for your message. (ref {key[:8]})"
        words = text.split()
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        finish_reason = "stop"
        if limit is not None and len(words) > limit:
            words = words[:limit]
            text = " ".join(words)
            finish_reason = "length"
        message["content"] = text
        completion_tokens = len(words)
    return {
        "id": f"chatcmpl-{key[:29]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "system_fingerprint": "fp_loopback",
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


async def _handle_chat(request: web.Request) -> web.StreamResponse:
    state = request.app[_STATE]
    state.count_request()
    token = _bearer(request.headers.get("Authorization"))
    if token is None:
        return _error(401, "You didn't provide an API key. Send 'Authorization: Bearer <key>'.",
                      "invalid_request_error", "invalid_api_key")
    state.saw_token(token)
    ok, body = await _read_json(request)
    if not ok:
        return _error(400, "The request body is not valid JSON.", "invalid_request_error")
    state.record(body)
    rejected = _rejected(state, token)
    if rejected is not None:
        return rejected
    problem = _validate_chat(body)
    if problem:
        return _error(400, problem, "invalid_request_error")
    if "response_format" in body:
        problem = _validate_response_format(body["response_format"],
                                            state.config.json_schema_support)
        if problem == JSON_SCHEMA_UNSUPPORTED:  # the body some OpenAI-compatible servers send
            return _json({"error": {"message": problem, "type": "invalid_request_error",
                                    "param": "response_format"}}, status=400)
        if problem:
            return _error(400, problem, "invalid_request_error", param="response_format")
    key = chat_key(body)
    request_id = f"req_{key[:24]}"
    failed, attempt = await _fault_or_wait(state, key, request_id)
    if failed is not None:
        return failed
    answer = chat_completion(body, key, state.handoff_re, attempt=attempt)
    malformed = _malformed(state, attempt, answer, chat=True)
    if malformed is not None:
        return malformed
    return await _answer(request, answer, {"x-request-id": request_id})


# --------------------------------------------------------------------------------------------
# team bot


def _validate_bot(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    for name in ("conversation_id", "case_id", "language"):
        if not isinstance(body.get(name), str):
            return f"'{name}' is required and must be a string."
    channel = body.get("channel")
    if channel is not None and not isinstance(channel, str):
        return "'channel' must be a string or null."
    messages = body.get("messages")
    if not isinstance(messages, list):
        return "'messages' is required and must be an array."
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            return f"messages[{i}] must be an object."
        if m.get("role") not in BOT_ROLES:
            return f"messages[{i}].role must be one of {sorted(BOT_ROLES)}."
        if not isinstance(m.get("text"), str):
            return f"messages[{i}].text must be a string."
    return None


def bot_reply(body: dict[str, Any], key: str, handoff_re: re.Pattern[str]) -> dict[str, Any]:
    """The deterministic bot answer to a (valid) request body."""
    last_customer = next((m["text"] for m in reversed(body["messages"])
                          if m["role"] == "customer"), None)
    if last_customer is not None and handoff_re.search(last_customer):
        return {"reply": HANDOFF_TEXT, "handoff": True, "reason": HANDOFF_REASON}
    return {"reply": f"Thank you for contacting us. (ref {key[:8]})", "handoff": False,
            "reason": None}


async def _handle_bot(request: web.Request) -> web.StreamResponse:
    state = request.app[_STATE]
    state.count_request()
    token = _bearer(request.headers.get("Authorization"))
    if token is not None:  # the bot needs no key, but one that is sent is noted like the others
        state.saw_token(token)
    ok, body = await _read_json(request)
    if not ok:
        return _error(400, "The request body is not valid JSON.", "invalid_request")
    state.record(body)
    rejected = _rejected(state, token)
    if rejected is not None:
        return rejected
    problem = _validate_bot(body)
    if problem:
        return _error(400, problem, "invalid_request")
    key = bot_key(body)
    request_id = f"req_{key[:24]}"
    failed, attempt = await _fault_or_wait(state, key, request_id)
    if failed is not None:
        return failed
    answer = bot_reply(body, key, state.handoff_re)
    malformed = _malformed(state, attempt, answer, chat=False)
    if malformed is not None:
        return malformed
    return await _answer(request, answer, {"x-request-id": request_id})


# --------------------------------------------------------------------------------------------
# stats and app


async def _handle_stats(request: web.Request) -> web.Response:
    return _json(request.app[_STATE].stats())


async def _handle_reset(request: web.Request) -> web.Response:
    request.app[_STATE].reset()
    return _json({"reset": True})


def make_app(config: ServerConfig | None = None, *, state: _State | None = None) -> web.Application:
    """The aiohttp application (routes above) for ``config``."""
    app = web.Application()
    app[_STATE] = state if state is not None else _State(config or ServerConfig())
    app.router.add_post("/v1/chat/completions", _handle_chat)
    app.router.add_post("/bot", _handle_bot)
    app.router.add_get("/stats", _handle_stats)
    app.router.add_post("/reset", _handle_reset)
    return app


async def _serve(state: _State, port: int, on_ready: Callable[[str], None],
                 stop: asyncio.Event) -> None:
    """Listen on 127.0.0.1:port, call ``on_ready(base_url)``, serve until ``stop`` is set."""
    runner = web.AppRunner(make_app(state=state), access_log=None, handle_signals=False,
                           shutdown_timeout=2.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, HOST, port, reuse_address=True)
        await site.start()
        bound_port = runner.addresses[0][1]
        on_ready(f"http://{HOST}:{bound_port}")
        await stop.wait()
    finally:
        state.closing.set()  # end hangs now instead of waiting hang_s
        await runner.cleanup()


# --------------------------------------------------------------------------------------------
# in-process server


class LoopbackServer:
    """Runs the app on 127.0.0.1 (a free port by default) in a background thread.

    ``with LoopbackServer(config) as server: ...`` -- counters and recordings are read through
    properties; they are consistent once the calls being inspected have completed.
    """

    def __init__(self, config: ServerConfig | None = None, *, port: int = 0) -> None:
        self.config = config or ServerConfig()
        self._requested_port = port
        self._state: _State | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.base_url: str = ""

    # lifecycle ---------------------------------------------------------------------------

    def start(self) -> LoopbackServer:
        if self._thread is not None:
            raise RuntimeError("the server is already running")
        self._state = _State(self.config)
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="loopback-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=30):
            raise RuntimeError("the loopback server did not start within 30 s")
        if self._error is not None:
            self._thread.join()
            self._thread = None
            error = self._error
            raise RuntimeError(f"the loopback server failed to start: {error}") from error
        return self

    def stop(self) -> None:
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None:
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:  # the loop has already finished
                pass
        thread.join(timeout=30)
        if thread.is_alive():
            raise RuntimeError("the loopback server thread did not stop within 30 s")
        self._thread = self._loop = self._stop = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to start(); the thread ends either way
            self._error = exc
        finally:
            self._ready.set()

    async def _main(self) -> None:
        assert self._state is not None
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()

        def ready(url: str) -> None:
            self.base_url = url
            self._ready.set()

        await _serve(self._state, self._requested_port, ready, self._stop)

    # addresses ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    @property
    def openai_url(self) -> str:
        return self.base_url + "/v1"

    @property
    def bot_url(self) -> str:
        return self.base_url + "/bot"

    # observations (copies, taken under the lock) -------------------------------------------

    def _need_state(self) -> _State:
        if self._state is None:
            raise RuntimeError("the server has not been started")
        return self._state

    @property
    def received(self) -> list[Any]:
        """Every JSON body received on the API routes, in arrival order (if record_bodies)."""
        state = self._need_state()
        with state.lock:
            return list(state.received)

    @property
    def attempts(self) -> dict[str, int]:
        """Attempts per request key."""
        state = self._need_state()
        with state.lock:
            return dict(state.attempts)

    @property
    def total_requests(self) -> int:
        """Every request received on the two API routes, rejected ones (401, 400) included."""
        state = self._need_state()
        with state.lock:
            return state.total

    @property
    def tokens_seen(self) -> set[str]:
        """The distinct bearer tokens received (only held here, never logged)."""
        state = self._need_state()
        with state.lock:
            return set(state.tokens_seen)

    def stats(self) -> dict[str, Any]:
        return self._need_state().stats()

    def reset(self) -> None:
        """Clear the counts and recorded bodies (like ``POST /reset``)."""
        self._need_state().reset()


# --------------------------------------------------------------------------------------------
# command line


def _non_negative(text: str) -> float:
    value = float(text)
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be within [0, 1], got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m loopback.server",
        description=(
            "Loopback test server on 127.0.0.1: an OpenAI-compatible POST /v1/chat/completions "
            "(needs 'Authorization: Bearer <any>'), the team bot contract POST /bot, GET /stats "
            "and POST /reset. Prints 'READY http://127.0.0.1:PORT' once listening, then serves "
            "until SIGTERM or SIGINT."),
        epilog=(
            "Faults are decided per distinct request (a sha256 key of its conversation) and hit "
            "only its first attempt; a retry of the same request is answered normally."),
    )
    parser.add_argument("--port", type=int, default=0,
                        help="port to listen on (default 0: a free port chosen by the OS)")
    parser.add_argument("--latency", type=_non_negative, default=0.0, metavar="SECONDS",
                        help="delay added to every answered request (default 0)")
    parser.add_argument("--fail-rate", type=_rate, default=0.0, metavar="SHARE",
                        help="share of distinct requests whose first attempt fails with 429 or "
                             "500 (default 0)")
    parser.add_argument("--hang-rate", type=_rate, default=0.0, metavar="SHARE",
                        help="share of distinct requests whose first attempt hangs --hang-s "
                             "before answering (default 0)")
    parser.add_argument("--hang-s", type=_non_negative, default=5.0, metavar="SECONDS",
                        help="how long a hanging attempt hangs (default 5)")
    parser.add_argument("--retry-after", type=_non_negative, default=None, metavar="SECONDS",
                        help="send this as the Retry-After header on 429s (default: no header)")
    parser.add_argument("--handoff-pattern", default=ServerConfig.handoff_pattern,
                        metavar="REGEX",
                        help="regex on the last customer message that asks for a person "
                             "(default %(default)r)")
    parser.add_argument("--no-record", action="store_true",
                        help="do not keep received request bodies in memory (for benchmarks)")
    parser.add_argument("--no-json-schema", action="store_true",
                        help="answer response_format json_schema with a 400, as some "
                             "OpenAI-compatible servers do (json_object still works)")
    parser.add_argument("--reject-status", type=int, choices=(401, 403), default=None,
                        help="refuse every API request with this status, echoing the token in the body")
    parser.add_argument("--malformed", choices=MALFORMED, default=None,
                        help="answer with 2xx bodies that break the API in this way")
    parser.add_argument("--oversize-bytes", type=int, default=0, metavar="N",
                        help="pad every answer with N bytes (default 0)")
    parser.add_argument("--oversize-chunked", action="store_true",
                        help="send padded answers chunked, without Content-Length")
    return parser


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    return ServerConfig(
        latency_s=args.latency,
        faults=Faults(fail_rate=args.fail_rate, hang_rate=args.hang_rate, hang_s=args.hang_s,
                      retry_after_s=args.retry_after),
        handoff_pattern=args.handoff_pattern,
        record_bodies=not args.no_record,
        json_schema_support=not args.no_json_schema,
        reject_status=args.reject_status,
        malformed=args.malformed,
        oversize_bytes=args.oversize_bytes,
        oversize_chunked=args.oversize_chunked,
    )


async def _cli_main(config: ServerConfig, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def ready(url: str) -> None:
        sys.stdout.write(f"READY {url}\n")
        sys.stdout.flush()

    await _serve(_State(config), port, ready, stop)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error("--port must be within 0..65535")
    try:
        config = config_from_args(args)
    except (ValueError, re.error) as exc:
        parser.error(str(exc))
    asyncio.run(_cli_main(config, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
