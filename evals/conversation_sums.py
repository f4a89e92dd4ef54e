"""Score rows folded into what the metrics need: per conversation, each metric's numerator, denominator
and row count, plus per scorer how many rows there were and how many went unscored.

This is all the aggregation reads (estimates, bootstrap intervals, paired differences), so a run that
streams its replies to disk keeps only these arrays: a few numbers per conversation, not the rows.
Conversations are keyed by id (in memory) or by their position in the dataset (streamed and sharded
runs); either way in the order they were evaluated, which fixes the bootstrap's draws.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from evals.aggregate import MetricSpec


@dataclass(frozen=True)
class ConversationSums:
    """One variant's scores: conversations (rows) x metrics (columns), and per-scorer tallies."""

    conversations: pd.Index
    num: np.ndarray
    den: np.ndarray
    count: np.ndarray  # rows behind the denominator: scored replies, or labels the ratio counts
    rows: Mapping[str, int] = field(default_factory=dict)  # scorer -> score rows
    unscored: Mapping[str, int] = field(default_factory=dict)  # scorer -> rows without a value

    @classmethod
    def of(cls, frame: pd.DataFrame, specs: Sequence[MetricSpec],
           key: Mapping[str, int] | None = None) -> ConversationSums:
        """Fold one variant's score rows (columns conversation_id, scorer, value, label); `key` maps each
        conversation id to its position in the dataset, to key by position instead of id."""
        ids = frame["conversation_id"]
        keys = ids.map(key).to_numpy("int64") if key is not None else ids.to_numpy()
        conversations = pd.Index(pd.unique(keys))
        num = np.zeros((len(conversations), len(specs)))
        den = np.zeros_like(num)
        count = np.zeros_like(num)
        scorer_of = frame["scorer"].to_numpy()
        for j, spec in enumerate(specs):
            mine = scorer_of == spec.scorer
            rows = frame[mine]
            at = conversations.get_indexer(keys[mine])
            if spec.ratio is None:
                scored = rows["value"].notna().to_numpy()
                np.add.at(num[:, j], at[scored], rows["value"].to_numpy()[scored])
                np.add.at(den[:, j], at[scored], 1.0)
                np.add.at(count[:, j], at[scored], 1.0)
            else:
                labels = rows["label"]
                np.add.at(num[:, j], at, labels.map(spec.ratio.numerator).fillna(0.0).to_numpy(float))
                np.add.at(den[:, j], at, labels.map(spec.ratio.denominator).fillna(0.0).to_numpy(float))
                np.add.at(count[:, j], at, labels.isin(list(spec.ratio.denominator)).to_numpy(float))
        grouped = frame.groupby("scorer", sort=False)["value"]
        return cls(conversations, num, den, count, {str(k): int(v) for k, v in grouped.size().items()},
                   {str(k): int(v) for k, v in grouped.apply(lambda v: int(v.isna().sum())).items()})

    @classmethod
    def empty(cls, n_metrics: int) -> ConversationSums:
        none = np.zeros((0, n_metrics))
        return cls(pd.Index([]), none, none, none)

    @classmethod
    def concat(cls, parts: Sequence[ConversationSums]) -> ConversationSums:
        """Parts over disjoint conversations (chunks, shards), in evaluation order, as one."""
        if not parts:
            raise ValueError("no parts to join")
        rows: Counter[str] = Counter()
        unscored: Counter[str] = Counter()
        for part in parts:
            rows.update(part.rows)
            unscored.update(part.unscored)
        return cls(_index(np.concatenate([p.conversations.to_numpy() for p in parts])),
                   np.vstack([p.num for p in parts]), np.vstack([p.den for p in parts]),
                   np.vstack([p.count for p in parts]), dict(rows), dict(unscored))

    def compact(self) -> ConversationSums:
        """The same sums in the narrowest type that holds them exactly: labels counted per conversation are
        small whole numbers, a byte each instead of eight (a million conversations, six metrics: 18 MB, not
        144). Whole numbers stay exact through the bootstrap whatever their type (`evals.aggregate`)."""
        return ConversationSums(self.conversations, lossless(self.num), lossless(self.den), lossless(self.count),
                                self.rows, self.unscored)

    def take(self, conversations: pd.Index) -> ConversationSums:
        at = self.conversations.get_indexer(conversations)
        return ConversationSums(conversations, self.num[at], self.den[at], self.count[at], self.rows, self.unscored)

    def shared_with(self, other: ConversationSums) -> pd.Index:
        """The conversations both answered, in this one's order."""
        return self.conversations[self.conversations.isin(other.conversations)]


def lossless(values: np.ndarray) -> np.ndarray:
    """`values` as the narrowest integer type when every one is a whole number in its range, else as they are."""
    if values.size == 0 or values.dtype.kind != "f" or not np.all(np.mod(values, 1) == 0):
        return values
    low, high = values.min(), values.max()
    for kind in (np.int8, np.int16, np.int32):
        if np.iinfo(kind).min <= low and high <= np.iinfo(kind).max:
            return values.astype(kind)
    return values


def _index(keys: np.ndarray) -> pd.Index:
    """Positions 0, 1, 2 ... as a range (no memory per conversation), anything else as it is."""
    if keys.dtype.kind == "i" and len(keys) and keys[-1] - keys[0] == len(keys) - 1 and np.all(np.diff(keys) == 1):
        return pd.RangeIndex(int(keys[0]), int(keys[-1]) + 1)
    return pd.Index(keys)
