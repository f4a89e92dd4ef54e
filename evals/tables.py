"""Replies -> the per-reply table of the results: what was asked, what people did, what the bot did.

Texts are stored with PII replaced by placeholders when `redact` is on (the default), so a results
folder or an MLflow store can be shared with reviewers; the replay and the scorers saw the texts as
the dataset holds them. Only counts of what was replaced are kept (`pii_<kind>` columns count what
a variant redacted before sending; `stored_pii_<kind>` what the table's texts had replaced).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from evals.language import detect_language, scoring_language
from evals.pii import PiiRedactor
from evals.types import Case, Reply

TEXT_COLUMNS = ("inquiry", "reference_reply", "reply", "note", "error")


def replies_table(cases: Sequence[Case], replies: Sequence[Reply], redact: bool = True) -> pd.DataFrame:
    """One row per reply, in the replies' order; `cases` are looked up by case id."""
    by_case = {c.case_id: c for c in cases}
    rows = [by_case[r.case_id] for r in replies]
    table = pd.DataFrame({
        "variant": pd.Series([r.variant for r in replies], dtype=object),
        "case_id": pd.Series([c.case_id for c in rows], dtype=object),
        "conversation_id": pd.Series([c.conversation.conversation_id for c in rows], dtype=object),
        "turn": pd.Series([c.turn_index for c in rows], dtype="int64"),
        "repeat": pd.Series([c.repeat for c in rows], dtype="int64"),  # the trial, with replay.repeats
        "language": pd.Series([c.conversation.language for c in rows], dtype=object),
        "intent": pd.Series([c.conversation.intent for c in rows], dtype=object),
        "channel": pd.Series([c.conversation.channel for c in rows], dtype=object),  # for slices (--by channel)
        "inquiry": pd.Series([c.inquiry().last_message for c in rows], dtype=object),
        "reference_reply": pd.Series([c.reference_reply for c in rows], dtype=object),
        "should_escalate": pd.Series([c.reference.should_escalate for c in rows], dtype="boolean"),
        "escalation_source": pd.Series([c.reference.escalation_source for c in rows], dtype=object),
        "reply": pd.Series([r.text for r in replies], dtype=object),
        "escalated": pd.Series([r.escalated for r in replies], dtype=bool),
        "handoff_kind": pd.Series([r.handoff_kind for r in replies], dtype=object),  # what it did about a person
        "latency_s": pd.Series([r.latency_s for r in replies], dtype=float),
        "note": pd.Series([r.note for r in replies], dtype=object),
        "error": pd.Series([r.error for r in replies], dtype=object),
        "missing": pd.Series([r.missing for r in replies], dtype=bool),
        "cached": pd.Series([r.cached for r in replies], dtype=bool),
        # None: too short or uncertain to tell
        "reply_language": pd.Series([detect_language(r.text) for r in replies], dtype=object),
        "language_mismatch": pd.Series([scoring_language(r.text, c.reply_language)[1]
                                        for c, r in zip(rows, replies)], dtype=bool),
        "prompt_tokens": pd.array([r.prompt_tokens for r in replies], dtype="Int64"),
        "completion_tokens": pd.array([r.completion_tokens for r in replies], dtype="Int64"),
        "cost_usd": pd.array([r.cost_usd for r in replies], dtype="Float64"),
    })
    for kind in sorted({k for r in replies for k in r.redacted}):
        table[f"pii_{kind}"] = [r.redacted.get(kind, 0) for r in replies]
    if redact:
        _redact_texts(table)
    return table


def _redact_texts(table: pd.DataFrame) -> None:
    """Replace PII in the stored texts, in place, and count what was replaced per kind."""
    found = redact_columns(table, TEXT_COLUMNS)
    for kind in sorted(found):
        table[f"stored_pii_{kind}"] = found[kind]


def redact_columns(table: pd.DataFrame, columns: Sequence[str]) -> dict[str, list[int]]:
    """Replace PII in these text columns, in place; per kind, how many were replaced in each row."""
    redactor = PiiRedactor()
    found: dict[str, list[int]] = {}
    cache: dict[str, tuple[str, dict[str, int]]] = {}  # the human variant's replies repeat the references
    for column in columns:
        texts = []
        for i, text in enumerate(table[column]):
            if not isinstance(text, str) or not text:
                texts.append(text)
                continue
            if text not in cache:
                done = redactor.redact(text)
                cache[text] = (done.text, done.counts)
            clean, counts = cache[text]
            texts.append(clean)
            for kind, n in counts.items():
                found.setdefault(kind, [0] * len(table))[i] += n
        table[column] = pd.Series(texts, dtype=object, index=table.index)
    return found
