"""Keys come from environment variables that configs NAME; they never appear in what is stored.

* `check_env_name`: a config field that expects a variable name (`api_key_env`, `header_env`
  values) refuses a value that looks like a key, without echoing it (it would land in the error,
  the terminal and the logs);
* `read_env`: the value of a named variable, or a one-line error saying which to set;
* `Secrets.scrub`: every error text the call layer lets out passes through it, so a server that
  echoes the key in a 401 body leaves it nowhere.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from collections.abc import Iterable
from urllib.parse import quote, urlsplit, urlunsplit

from evals.errors import UserError

MASK = "[secret]"
ELLIPSIS = "…"  # what `failures.shorten` ends a cut text with
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Prefixes of well-known credential formats (OpenAI, Anthropic, GitHub, GitLab, Slack, AWS, Google,
# Hugging Face, Stripe); a variable name starting like this is far less likely than a pasted key.
KEY_PREFIXES = ("sk-", "sk_", "pk_", "rk_", "ghp_", "gho_", "ghs_", "ghu_", "github_pat_", "glpat-", "xoxb-",
                "xoxp-", "AKIA", "ASIA", "AIza", "hf_", "Bearer ")
_MIN_SCRUBBED = 4  # shorter values would mask ordinary words; no real key is that short


def _entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def env_name_problem(value: object) -> str | None:
    """Why `value` cannot be an environment variable's name (never quoting it), or None."""
    if not isinstance(value, str):
        return f"must be the name of an environment variable, not a {type(value).__name__}"
    if value.startswith(KEY_PREFIXES):
        return "looks like a key (it starts like one), not the NAME of an environment variable"
    if not ENV_NAME.fullmatch(value):
        return "looks like a key, not the NAME of an environment variable (only letters, digits and _)"
    mixed = any(c.islower() for c in value) and any(c.isupper() for c in value) and any(c.isdigit() for c in value)
    if len(value) >= 20 and (mixed or "_" not in value) and _entropy(value) >= 3.5:
        return "looks like a key (long and random), not the NAME of an environment variable"
    return None


def check_env_name(where: str, value: object) -> None:
    """Refuse a key pasted into a field that expects a variable name; the message names the field only."""
    problem = env_name_problem(value)
    if problem:
        raise UserError(f"{where}: the value {problem}; put the key in an environment variable and write "
                        "that variable's name here (e.g. OPENAI_API_KEY). The value is not shown")


def read_env(env: str, owner: str, purpose: str) -> str:
    value = os.environ.get(env, "")
    if not value:
        raise UserError(f"{owner}: set the environment variable {env} ({purpose})")
    return value


def safe_url(url: str) -> str:
    """The URL as an error may show it: no user:password, no query string (tokens hide there)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "<unparseable URL>"
    host = parts.hostname or ""
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def check_http_url(where: str, url: str) -> None:
    """An endpoint's URL must be http(s) with a host: 'htp://x' or 'localhost:8000' fails here, in one line,
    instead of on every call of the run."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:  # shown without the URL, which may hold a user:password
        raise UserError(f"{where}: not a URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"{where}: {safe_url(url)!r} is not an http(s) URL with a host "
                        "(allowed: http://host:port/path or https://host/path)")


class Secrets:
    """The secret values of one component, and the scrubber for every text that leaves the layer."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for whole in values:
            # "Bearer <token>": the token alone is as secret (servers echo it without the scheme)
            for value in {whole, whole.split(" ", 1)[-1].strip()}:
                if not value or len(value) < _MIN_SCRUBBED:
                    continue
                # as sent, as a JSON string would escape it, as a URL would encode it
                forms |= {value, json.dumps(value)[1:-1], quote(value, safe="")}
        self._forms = sorted(forms, key=len, reverse=True)  # longest first: no partial leftovers

    def __bool__(self) -> bool:
        return bool(self._forms)

    def scrub(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        if text.endswith(ELLIPSIS):  # shortened: the cut may have left the head of a key at the end
            head = text[: -len(ELLIPSIS)]
            for form in self._forms:
                cut = next((k for k in range(len(form) - 1, _MIN_SCRUBBED - 1, -1) if head.endswith(form[:k])), 0)
                if cut:
                    return head[:-cut] + MASK + ELLIPSIS
        return text
