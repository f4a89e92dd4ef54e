"""Config values that must never be logged: anything under a key that names a secret.

`*_env` keys only name the environment variable holding a secret, so they stay readable (a value
that looks like a key pasted there by mistake is refused before the run: evals.settings).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_SECRET_KEY = re.compile(r"(api[_-]?key|token|secret|password|authorization|credential)", re.I)
REDACTED = "***"


def _hidden(key: object, value: object) -> bool:
    """A secret-looking key with a value; `*_env` keys only name the variable holding a secret."""
    name = str(key)
    if name.endswith("_tokens") and isinstance(value, int):  # a token count (max_tokens) is no secret
        return False
    return bool(_SECRET_KEY.search(name)) and not name.endswith("_env") and value not in (None, "")


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested config -> flat params; values under secret-looking keys are never logged."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        elif _hidden(key, value):
            flat[name] = REDACTED
        else:
            flat[name] = str(value)[:6000]  # MLflow's limit on a param value
    return flat


def masked(config: Any) -> Any:
    """The same config with secret-looking values replaced, for logging it whole."""
    if isinstance(config, Mapping):
        return {k: REDACTED if _hidden(k, v) else masked(v)
                for k, v in config.items()}
    if isinstance(config, list):
        return [masked(v) for v in config]
    return config
