"""Human labels of replies: the format reviewers write, loaded and validated row by row.

One row per (reply, criterion, reviewer), JSONL or CSV:

    {"case_id": "<conversation_id>#<turn>", "variant": "<variant name>",
     "criterion": "empathy" | "accuracy" | "escalation", "reviewer": "<id>", "label": ...,
     "note": "<optional>", "labelled_at": "<optional ISO time>"}

`empathy` and `accuracy` labels are integers 1..5 (ordinal, 1 worst, 5 best); `escalation` labels
are one of `correct_handoff`, `missed`, `premature`, `correct_containment` (nominal: what the reply
did against what should have happened).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from evals.records import DatasetError, RowError, csv_rows, json_lines

if TYPE_CHECKING:  # pandas and numpy load when labels are read, so `agree --help` answers at once
    import pandas as pd

Level = Literal["ordinal", "nominal"]

CRITERIA: tuple[str, ...] = ("empathy", "accuracy", "escalation")
LEVEL: dict[str, Level] = {"empathy": "ordinal", "accuracy": "ordinal", "escalation": "nominal"}
SCALE: tuple[int, ...] = (1, 2, 3, 4, 5)
ESCALATION_CLASSES: tuple[str, ...] = ("correct_handoff", "missed", "premature",
                                       "correct_containment")
DOMAIN: dict[str, tuple[Any, ...]] = {"empathy": SCALE, "accuracy": SCALE,
                                      "escalation": ESCALATION_CLASSES}
REQUIRED_FIELDS = ("case_id", "variant", "criterion", "reviewer", "label")
OPTIONAL_FIELDS = ("note", "labelled_at")
_CASE_ID = re.compile(r"^.+#\d+$")
_MAX_LISTED = 5

LABEL_FORMAT = """\
one row per (reply, criterion, reviewer), JSONL or CSV (same field names as columns):
  {"case_id": "<conversation_id>#<turn>", "variant": "<variant name>",
   "criterion": "empathy" | "accuracy" | "escalation", "reviewer": "<id>", "label": <label>,
   "note": "<optional>", "labelled_at": "<optional ISO time>"}
  label for empathy, accuracy: integer 1..5 (1 worst, 5 best)
  label for escalation: correct_handoff | missed | premature | correct_containment
  (what the reply did against what should have happened); a duplicate
  (case_id, variant, criterion, reviewer) is an error"""


# ---------------------------------------------------------------------------------------------
# Human labels: loading and validation


@dataclass(frozen=True)
class Labels:
    """Validated human labels, in file order, and the file's identity."""

    path: str
    frame: pd.DataFrame  # case_id, variant, criterion, reviewer, label, note, labelled_at, row
    sha256: str

    @property
    def reviewers(self) -> list[str]:
        """Reviewers in order of first appearance in the file (the tie-break order)."""
        return list(dict.fromkeys(self.frame["reviewer"]))


def load_labels(path: str | Path) -> Labels:
    """Read and validate a label file; every malformed row raises one DatasetError naming it."""
    import pandas as pd

    source = str(path)
    file = Path(source)
    if not file.is_file():
        raise DatasetError(f"{source}: no such label file")
    data = file.read_bytes()
    rows: list[dict[str, Any]] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, str, str, str], str] = {}
    # the readers ignore a byte order mark (a spreadsheet's "CSV UTF-8"); the file's hash stays that of its bytes
    for row, record in _label_records(source, data, file.suffix.lower()):
        if isinstance(record, RowError):
            errors.append(record)
            continue
        clean, problem = _validate_label(source, row, record)
        if problem is not None:
            errors.append(problem)
            continue
        key = (clean["case_id"], clean["variant"], clean["criterion"], clean["reviewer"])
        if key in seen:
            errors.append(RowError(source, row, "reviewer",
                                   f"duplicate label: reviewer '{key[3]}' already labelled "
                                   f"{key[2]} of {key[0]} ({key[1]}) at {seen[key]}"))
            continue
        seen[key] = row
        rows.append({**clean, "row": row})
    if errors:
        raise DatasetError(_one_line(errors))
    if not rows:
        raise DatasetError(f"{source}: no labels in the file")
    frame = pd.DataFrame(rows, columns=[*REQUIRED_FIELDS, *OPTIONAL_FIELDS, "row"])
    return Labels(source, frame, hashlib.sha256(data).hexdigest())


def _one_line(errors: Sequence[RowError]) -> str:
    """The first problem in full, and where the others are, on one line."""
    message = str(errors[0])
    if len(errors) > 1:
        where = ", ".join(e.row for e in errors[1:1 + _MAX_LISTED])
        more = "" if len(errors) <= 1 + _MAX_LISTED else ", ..."
        message += f" (and {len(errors) - 1} more malformed rows: {where}{more})"
    return message


def _label_records(
    source: str, data: bytes, suffix: str
) -> Iterator[tuple[str, dict[str, Any] | RowError]]:
    if suffix in (".jsonl", ".json"):
        yield from json_lines(source, data.splitlines(), "label")
    elif suffix == ".csv":
        yield from csv_rows(source, data)
    else:
        raise DatasetError(f"{source}: unsupported label file type '{suffix}' (use .jsonl or .csv)")


def _validate_label(
    source: str, row: str, record: Mapping[str, Any]
) -> tuple[dict[str, Any], RowError | None]:
    def bad(name: str, message: str) -> tuple[dict[str, Any], RowError]:
        return {}, RowError(source, row, name, message)

    unknown = [k for k in record if k not in REQUIRED_FIELDS and k not in OPTIONAL_FIELDS]
    if unknown:
        return bad(unknown[0],
                   f"unknown field (fields are {', '.join(REQUIRED_FIELDS + OPTIONAL_FIELDS)})")
    for name in REQUIRED_FIELDS:
        if record.get(name) is None:
            return bad(name, "required field is missing")
    clean: dict[str, Any] = {}
    for name in ("case_id", "variant", "criterion", "reviewer"):
        value = record[name]
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            return bad(name, f"expected a string, got {json.dumps(value)}")
        clean[name] = str(value).strip()
        if not clean[name]:
            return bad(name, "must not be empty")
    if not _CASE_ID.match(clean["case_id"]):
        return bad("case_id", f"expected '<conversation_id>#<turn>', got '{clean['case_id']}'")
    criterion = clean["criterion"]
    if criterion not in CRITERIA:
        return bad("criterion", f"expected one of {', '.join(CRITERIA)}, got '{criterion}'")
    label = record["label"]
    if LEVEL[criterion] == "ordinal":
        score = as_scale(label)
        if score is None:
            return bad("label", f"{criterion} labels are integers 1-5, got {_shown(label)}")
        clean["label"] = score
    else:
        if not isinstance(label, str) or label.strip() not in ESCALATION_CLASSES:
            return bad("label", f"escalation labels are one of {', '.join(ESCALATION_CLASSES)}, "
                                f"got {_shown(label)}")
        clean["label"] = label.strip()
    note = record.get("note")
    if note is not None and not isinstance(note, str):
        return bad("note", f"expected a string, got {_shown(note)}")
    clean["note"] = note
    when = record.get("labelled_at")
    if when is not None:
        try:
            datetime.fromisoformat(str(when).replace("Z", "+00:00"))
        except ValueError:
            return bad("labelled_at", f"expected an ISO 8601 time such as 2025-03-01T14:05:00Z, "
                                      f"got {_shown(when)}")
    clean["labelled_at"] = when
    return clean, None


def as_scale(value: Any) -> int | None:
    """1..5 from an int, an integral float or a string of one (CSV cells are text); else None."""
    import numpy as np

    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[+-]?\d+(\.0*)?", text):
            return None
        value = float(text)
    if isinstance(value, (int, np.integer)):
        number = int(value)
    elif isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        number = int(value)
    else:
        return None
    return number if number in SCALE else None


def _shown(value: Any) -> str:
    """A bad value as the user wrote it: numbers bare, other text quoted."""
    if isinstance(value, str):
        text = value.strip()
        return text if re.fullmatch(r"[+-]?\d+(\.\d*)?", text) else json.dumps(value)
    return json.dumps(value)
