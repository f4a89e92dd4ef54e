"""Which conversations of a large sharded run the adapters hold in memory.

The metrics and their intervals always come from every decision point (the merged per-conversation sums).
What needs the rows themselves (the report's examples and language table, the per-variant tables logged to
MLflow, the business trade-off) reads a seeded sample of whole conversations from the results folder once a
run has more decision points than the limit; the full tables stay in the folder. Reply counts (errors,
hand-offs, latency, cost) are still taken from every reply, read without the texts.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from evals.aggregate import reply_stats
from evals.tables import TEXT_COLUMNS
from evals.types import Case

DEFAULT_EXAMPLES = 50_000  # decision points: a few hundred MB of rows with their texts and scores


@dataclass(frozen=True)
class Examples:
    """A sample of whole conversations: their ids, and how many of the run's they are."""

    conversations: list[str]
    decision_points: int
    of_conversations: int
    of_decision_points: int

    def describe(self) -> str:
        return (f"{len(self.conversations):,} of {self.of_conversations:,} conversations "
                f"({self.decision_points:,} of {self.of_decision_points:,} decision points)")


def examples_of(cases: Sequence[Case], limit: int, seed: int) -> Examples | None:
    """Whole conversations in a seeded random order, as many as fit in `limit` decision points (at least one);
    None when the run has no more than `limit` decision points (the adapters then read every row)."""
    if len(cases) <= limit:
        return None
    per_conversation = Counter(c.conversation.conversation_id for c in cases)
    kept: list[str] = []
    total = 0
    for conversation in random.Random(seed).sample(list(per_conversation), len(per_conversation)):
        if total + per_conversation[conversation] <= limit or not kept:  # one at least; a longer one is skipped
            kept.append(conversation)
            total += per_conversation[conversation]
    return Examples(kept, total, len(per_conversation), len(cases))


def reply_stats_of(folder: Path) -> pd.DataFrame:
    """`aggregate.reply_stats` of every reply in a results folder (errors, hand-offs, latency, tokens, cost), read
    without the reply and reference texts, so a sampled run still counts all of them."""
    path = folder / "replies.parquet"
    texts = set(TEXT_COLUMNS) - {"error"}  # `error` stays: it is what errors are counted by
    columns = [c for c in pq.read_schema(path).names if c not in texts]
    return reply_stats(pd.read_parquet(path, columns=columns))
