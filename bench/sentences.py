"""The sentences the embedding benchmarks time: one selection, so their figures can be compared."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "datasets" / "wmt24_chat" / "test.jsonl"


def human_reply_sentences(n: int) -> list[list[str]]:
    """The first n distinct sentences of the default dataset's human replies, grouped by reply
    (a sentence already seen, in this reply or an earlier one, is left out)."""
    from evals.load import build_cases, load_conversations
    from evals.scorers.empathy_model import split_sentences

    seen: set[str] = set()
    replies = []
    for case in build_cases(load_conversations(DATA).conversations):
        fresh = [s for s in dict.fromkeys(split_sentences(case.reference_reply or "")) if s not in seen]
        fresh = fresh[: n - len(seen)]
        if fresh:
            seen.update(fresh)
            replies.append(fresh)
        if len(seen) >= n:
            break
    return replies
