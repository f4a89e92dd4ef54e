"""JSONL lines and CSV rows as records, each malformed one a `RowError` naming its file and row.

Shared by dataset files (evals/load.py) and human label files (evals/labels.py). A UTF-8 byte
order mark, which Excel's "CSV UTF-8" and Windows editors write, is ignored.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from evals.errors import UserError
from evals.types import MAX_NESTING

TOO_DEEP = f"nested deeper than {MAX_NESTING} levels"


class DatasetError(UserError):
    """A problem in the user's data: the message names the file, row and field."""


@dataclass(frozen=True)
class RowError:
    path: str
    row: str  # "line 7" (JSONL) or "row 7" (tables); 1-based
    field: str
    message: str

    def __str__(self) -> str:
        where = f"field '{self.field}': " if self.field else ""
        return f"{self.path}: {self.row}: {where}{self.message}"


def json_lines(source: str, lines: Iterable[bytes], what: str) -> Iterator[tuple[str, dict[str, Any] | RowError]]:
    """Each non-blank line's JSON object, or why it is not one (`what`: "conversation", "label")."""
    for number, raw in enumerate(lines, start=1):
        row = f"line {number}"
        if number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield row, RowError(source, row, "", f"not valid UTF-8 (byte {exc.start} of the line)")
            continue
        if not text.strip():
            continue  # blank lines carry no row
        try:
            record = json.loads(text.strip())  # a line ending would move the column of an error to 1
        except json.JSONDecodeError as exc:
            yield row, RowError(source, row, "", f"not valid JSON: {exc.msg} at column {exc.colno}")
            continue
        except RecursionError:  # json recurses per level: thousands of '[' exhaust the stack
            yield row, RowError(source, row, "", TOO_DEEP)
            continue
        if not isinstance(record, dict):
            yield row, RowError(source, row, "", f"expected a JSON object for the {what}")
            continue
        yield row, record


def csv_rows(source: str, data: bytes) -> Iterator[tuple[str, dict[str, str]]]:
    """Each row's non-empty cells, as text: an empty cell is an absent optional value."""
    import io

    import pandas as pd

    data = data.removeprefix(codecs.BOM_UTF8)  # or the first column's name starts with it
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DatasetError(f"{source}: line {line}: not valid UTF-8 (save the file as UTF-8)") from None
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise DatasetError(f"{source}: the file is empty; a CSV file starts with a header row of field names") from None
    except pd.errors.ParserError as exc:
        raise DatasetError(f"{source}: not a readable CSV file: {exc}") from None
    for index, record in enumerate(frame.to_dict("records"), start=1):
        yield f"row {index}", {k: v for k, v in record.items() if v != ""}
