"""Shard folders -> one results folder (evals/results.py format), without holding the rows.

The metrics come from the chunks' per-conversation sums, joined in data order, so estimates, bootstrap
intervals and paired differences are those of one unsharded run over the same data. The replies and
scores tables are copied chunk by chunk into one Parquet file each (a row group per chunk).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from evals.aggregate import MetricSpec, differences_of, summary_of
from evals.conversation_sums import ConversationSums
from evals.error_budget import ErrorBudget
from evals.results import FORMAT, MANIFEST
from evals.sharding.part import read_chunk_sums


@dataclass(frozen=True)
class Merged:
    """A merged run's metrics and manifest; its rows stay on disk (`EvalResult.load(folder)` reads all)."""

    folder: Path
    summary: pd.DataFrame
    differences: pd.DataFrame
    manifest: dict[str, Any]
    versions: dict[str, str]


def markers(parts: Sequence[Path]) -> list[Path]:
    """Every done chunk, shard by shard, chunk by chunk: data order."""
    return [m for part in parts for m in sorted(Path(part).glob("chunk-*.done.json"))]


def merge(parts: Sequence[Path], out: Path, specs: Sequence[MetricSpec], baseline: str, stats: dict[str, Any],
          max_error_rate: float) -> Merged:
    """Join the shards' chunks into `out` (replies, scores, summary, differences; the caller adds the
    manifest with `write_manifest`)."""
    done = markers(parts)
    sums: dict[str, list[ConversationSums]] = {}
    versions: dict[str, str] = {}
    for marker in done:
        for variant, part in read_chunk_sums(marker).items():
            sums.setdefault(variant, []).append(part)
        versions = versions or json.loads(marker.read_text(encoding="utf-8"))["versions"]
    joined = {v: ConversationSums.concat(p) for v, p in sums.items()}
    summary = summary_of(joined, specs, **stats)
    differences = differences_of(joined, specs, baseline, **stats)
    out.mkdir(parents=True, exist_ok=True)
    budget = ErrorBudget()
    variants = list(joined)
    _concat([_table(m, "replies") for m in done], variants, out / "replies.parquet",
            on_rows=lambda t: [budget.add(*row) for row in zip(*(t.column(c).to_pylist()
                                                                 for c in ("variant", "error", "missing")))])
    _concat([_table(m, "scores") for m in done], variants, out / "scores.parquet")
    summary.to_parquet(out / "summary.parquet", index=False)
    differences.to_parquet(out / "differences.parquet", index=False)
    return Merged(out, summary, differences, {"problems": budget.problems(max_error_rate)}, versions)


def write_manifest(merged: Merged, manifest: dict[str, Any]) -> Merged:
    full = {**manifest, **merged.manifest}
    (merged.folder / MANIFEST).write_text(json.dumps({"format": FORMAT, **full}, indent=2, default=str) + "\n",
                                          encoding="utf-8")
    return Merged(merged.folder, merged.summary, merged.differences, full, merged.versions)


def _table(marker: Path, name: str) -> Path:
    return Path(str(marker)[: -len(".done.json")] + f".{name}.parquet")


def _concat(files: Sequence[Path], variants: Sequence[str], out: Path, on_rows: Any = None) -> None:
    """One Parquet file from many with columns that may differ (a PII count only where PII was found,
    a column all null in one chunk): the union of the columns, counts absent from a chunk are 0. Rows
    are variant by variant, then in data order, as an unsharded run writes them."""
    schemas = [pq.read_schema(f) for f in files]
    schema = pa.unify_schemas([s.remove_metadata() for s in schemas], promote_options="permissive")
    # pandas' dtypes (nullable booleans and integers) as the first chunk recorded them
    schema = schema.with_metadata(schemas[0].metadata)
    with pq.ParquetWriter(out, schema) as writer:
        for variant, path in ((v, f) for v in variants for f in files):
            table = pq.read_table(path, filters=[("variant", "=", variant)])
            for name in schema.names:
                if name not in table.column_names:
                    fill = 0 if name.startswith(("pii_", "stored_pii_")) else None
                    table = table.append_column(name, pa.array([fill] * table.num_rows, type=schema.field(name).type))
            table = table.select(schema.names).cast(schema)
            if on_rows is not None:
                on_rows(table)
            writer.write_table(table)

