"""PII redaction of what the call layer sends, for bots and judges alike (evals.pii does the finding).

`redact_pii: auto` redacts unless the endpoint's host is loopback; true / false force it.
"""

from __future__ import annotations

from typing import Any

from evals.pii import PiiRedactor, redact_texts, should_redact


def redactor_for(setting: bool | str, url: str) -> PiiRedactor | None:
    """The redactor to use for `url`, or None when redaction is off."""
    return PiiRedactor() if should_redact(setting, url) else None


def redact_json(redactor: PiiRedactor | None, value: Any) -> tuple[Any, dict[str, int]]:
    """Every string inside `value` (dicts, lists, nested) redacted; keys are left as they are."""
    counts: dict[str, int] = {}
    if redactor is None:
        return value, counts

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            found = redactor.redact(node)
            for kind, n in found.counts.items():
                counts[kind] = counts.get(kind, 0) + n
            return found.text
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, (list, tuple)):
            return [walk(v) for v in node]
        return node

    return walk(value), counts


__all__ = ["PiiRedactor", "redact_json", "redact_texts", "redactor_for", "should_redact"]
