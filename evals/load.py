"""Dataset file -> validated conversations -> decision-point cases.

Every malformed row is reported with its file, row and field; nothing is dropped silently.
With `on_error="skip"` bad rows are left out, but counted and returned with their reasons.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from evals.records import TOO_DEEP, DatasetError, RowError, csv_rows, json_lines
from evals.types import MAX_NESTING, Case, Conversation, View, nesting_depth

DecisionPoints = Literal["every", "first", "last"]
OnError = Literal["fail", "skip"]
# CSV cells cannot nest, so these columns hold JSON text.
_JSON_COLUMNS = ("turns", "references", "outcome")
_MAX_SHOWN = 10


@dataclass(frozen=True)
class LoadedDataset:
    path: str
    conversations: list[Conversation]
    skipped: list[RowError] = field(default_factory=list)


def load_conversations(path: str | Path, on_error: OnError = "fail") -> LoadedDataset:
    """Read and validate a dataset (JSONL, CSV, Parquet, a saved HF dataset or a hub id)."""
    source = str(path)
    conversations: list[Conversation] = []
    errors: list[RowError] = []
    seen: dict[str, str] = {}
    for _, row, found in read_rows(source):
        if isinstance(found, list):
            errors.extend(found)
            continue
        if found.conversation_id in seen:
            errors.append(duplicate(source, row, found.conversation_id, seen[found.conversation_id]))
            continue
        seen[found.conversation_id] = row
        conversations.append(found)
    if errors and on_error == "fail":
        raise refuse(errors)
    if not conversations:  # when skipping left nothing, say why each row failed
        empty = f"{source}: no valid conversation in the file"
        raise DatasetError(_summarise(errors, f"{empty}; fix the rows above") if errors else empty)
    return LoadedDataset(source, conversations, errors)


def read_rows(path: str | Path) -> Iterator[tuple[int, str, Conversation | list[RowError]]]:
    """Each record of the file in order, validated: (index, row, the conversation or the row's errors).
    Duplicate ids are for the caller to check (`load_conversations` keeps every id; a streamed run hashes them)."""
    source = str(path)
    for index, (row, record) in enumerate(_records(source)):
        if isinstance(record, RowError):
            yield index, row, [record]
            continue
        try:
            yield index, row, Conversation.model_validate(record)
        except ValidationError as exc:
            yield index, row, _row_errors(source, row, exc)


def duplicate(source: str, row: str, conversation_id: str, first: str) -> RowError:
    return RowError(source, row, "conversation_id", f"duplicate id '{conversation_id}' (first at {first})")


def refuse(errors: Sequence[RowError]) -> DatasetError:
    """The error for bad rows when `on_error` is fail."""
    return DatasetError(_summarise(errors, "fix the rows above, or set dataset.on_error=skip "
                                           "to leave them out (they are counted and logged)"))


def build_cases(
    conversations: Sequence[Conversation],
    decision_points: DecisionPoints = "every",
    view: View = "agent",
) -> list[Case]:
    """One case per chosen reference: every one, or the first/last of each conversation."""
    cases: list[Case] = []
    for conv in conversations:
        refs = sorted(conv.references, key=lambda r: r.turn)
        if decision_points == "first":
            refs = refs[:1]
        elif decision_points == "last":
            refs = refs[-1:]
        cases.extend(Case(conv, ref.turn, ref, view) for ref in refs)
    return cases


def sample_conversations(
    conversations: Sequence[Conversation], n: int | None, seed: int
) -> list[Conversation]:
    """A seeded sample of whole conversations (all of them when n is None or too large)."""
    if n is None or n >= len(conversations):
        return list(conversations)
    if n < 1:
        raise DatasetError(f"sample.conversations must be at least 1, got {n}")
    picked = set(random.Random(seed).sample(range(len(conversations)), n))
    return [c for i, c in enumerate(conversations) if i in picked]


def _summarise(errors: Sequence[RowError], hint: str) -> str:
    lines = [str(e) for e in errors[:_MAX_SHOWN]]
    if len(errors) > _MAX_SHOWN:
        lines.append(f"... and {len(errors) - _MAX_SHOWN} more malformed rows")
    lines.append(hint)
    return "\n".join(lines)


def _row_errors(path: str, row: str, exc: ValidationError) -> list[RowError]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "value_error" and (named := re.match(r"([\w.]+): (.*)", msg)):
            # a whole-record check that names the field it is about
            loc = f"{loc}.{named[1]}" if loc else named[1]
            msg = named[2]
        if err["type"] == "missing":
            msg = "required field is missing"
        out.append(RowError(path, row, loc, msg))
    return out


def _records(source: str) -> Iterator[tuple[str, dict[str, Any] | RowError]]:
    path = Path(source)
    suffix = "".join(path.suffixes[-2:]) if path.suffix == ".gz" else path.suffix
    if path.is_dir() or not path.exists():
        yield from _hf_records(source, path)
    elif suffix in (".jsonl", ".json"):
        yield from _jsonl_records(source, path)
    elif suffix == ".csv":
        yield from _csv_records(source, path)
    elif suffix == ".parquet":
        yield from _parquet_records(source, path)
    else:
        raise DatasetError(
            f"{source}: unsupported file type '{path.suffix}' (use .jsonl, .csv, .parquet, "
            "a folder saved with datasets' save_to_disk, or a Hugging Face hub id)"
        )


def _jsonl_records(source: str, path: Path) -> Iterator[tuple[str, dict[str, Any] | RowError]]:
    with path.open("rb") as fh:
        for row, record in json_lines(source, fh, "conversation"):
            yield row, record if isinstance(record, RowError) else _too_deep(source, row, record) or record


def _csv_records(source: str, path: Path) -> Iterator[tuple[str, dict[str, Any] | RowError]]:
    for row, cells in csv_rows(source, path.read_bytes()):
        record: dict[str, Any] = {}
        bad = None
        for key, value in cells.items():
            if key in _JSON_COLUMNS:
                try:
                    record[key] = json.loads(value)
                except json.JSONDecodeError as exc:
                    bad = RowError(source, row, key, f"cell is not valid JSON: {exc.msg}")
                    break
                except RecursionError:
                    bad = RowError(source, row, key, TOO_DEEP)
                    break
            else:
                record[key] = value
        yield row, bad or _too_deep(source, row, record) or record


def _parquet_records(source: str, path: Path) -> Iterator[tuple[str, dict[str, Any] | RowError]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise DatasetError(f"{source}: not a readable Parquet file: {exc}") from None
    yield from _table_rows(source, table.to_pylist)


def _hf_records(source: str, path: Path) -> Iterator[tuple[str, dict[str, Any] | RowError]]:
    import datasets

    try:
        if path.is_dir():
            data = datasets.load_from_disk(str(path))
        else:
            data = datasets.load_dataset(source, split="train")
    except FileNotFoundError:
        if path.is_dir():  # datasets says "neither a Dataset directory nor a DatasetDict directory"
            raise DatasetError(f"{source}: a folder, but not one saved with datasets' save_to_disk; give a .jsonl, "
                               ".csv or .parquet file, or such a folder") from None
        raise DatasetError(f"{source}: no such file or folder") from None
    except Exception as exc:  # a hub id that does not resolve offline, a corrupt folder ...
        raise DatasetError(f"{source}: cannot load it as a dataset: {exc}") from None
    if isinstance(data, datasets.DatasetDict):
        raise DatasetError(f"{source}: holds several splits ({', '.join(data)}); point to one")
    yield from _table_rows(source, data.to_list)


def _table_rows(source: str,
                to_list: Callable[[], list[dict[str, Any]]]) -> Iterator[tuple[str, dict[str, Any] | RowError]]:
    """Rows of a Parquet table or HF dataset, each checked for nesting before anything recurses into it."""
    try:
        records = to_list()
    except RecursionError:
        raise DatasetError(f"{source}: columns are {TOO_DEEP}") from None
    for index, record in enumerate(records, start=1):
        row = f"row {index}"
        yield row, _too_deep(source, row, record) or _drop_nulls(record)


def _too_deep(source: str, row: str, record: dict[str, Any]) -> RowError | None:
    """One error for a record nested beyond any chat log, before anything recurses into it."""
    depth, path = nesting_depth(record)
    if depth <= MAX_NESTING:
        return None
    shown = ".".join(path[:5]) + (".…" if len(path) > 5 else "")
    return RowError(source, row, shown, TOO_DEEP)


def _drop_nulls(record: Any) -> Any:
    """Columnar formats fill absent optional keys with null; treat them as absent."""
    if isinstance(record, dict):
        return {k: _drop_nulls(v) for k, v in record.items() if v is not None}
    if isinstance(record, list):
        return [_drop_nulls(v) for v in record]
    return record
