"""The JSONL and CSV readers that dataset and label files share: every malformed row named, nothing raised raw."""

from __future__ import annotations

import codecs

import pytest

from evals.load import load_conversations
from evals.records import TOO_DEEP, DatasetError, RowError, csv_rows, json_lines


def test_json_lines_name_each_bad_line_and_keep_the_numbering_across_blank_lines() -> None:
    lines = [codecs.BOM_UTF8 + b'{"a": 1}', b"", b"[1, 2]", b'{"a": ', b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000]
    found = list(json_lines("labels.jsonl", lines, "label"))
    assert found[0] == ("line 1", {"a": 1})  # a byte order mark before the first line is ignored
    errors = {row: record for row, record in found[1:]}
    assert all(isinstance(e, RowError) for e in errors.values()) and list(errors) == ["line 3", "line 4", "line 5",
                                                                                      "line 6"]
    assert str(errors["line 3"]) == "labels.jsonl: line 3: expected a JSON object for the label"
    assert errors["line 4"].message.startswith("not valid JSON: Expecting value at column 6")
    assert errors["line 5"].message == "not valid UTF-8 (byte 0 of the line)"
    assert errors["line 6"].message == TOO_DEEP  # json recurses per level; the stack is not the user's problem


def test_csv_rows_drop_empty_cells_ignore_a_byte_order_mark_and_refuse_an_empty_file() -> None:
    data = codecs.BOM_UTF8 + "case_id,label,note\nc1#0,3,\nc2#0,4,fine\n".encode()
    assert list(csv_rows("labels.csv", data)) == [("row 1", {"case_id": "c1#0", "label": "3"}),
                                                  ("row 2", {"case_id": "c2#0", "label": "4", "note": "fine"})]
    with pytest.raises(DatasetError, match=r"^labels.csv: the file is empty; a CSV file starts with a header row"):
        list(csv_rows("labels.csv", b""))
    with pytest.raises(DatasetError, match=r"^labels.csv: line 2: not valid UTF-8"):
        list(csv_rows("labels.csv", b"a,b\n\xff,1\n"))


def test_an_empty_csv_dataset_is_a_one_line_error_not_a_traceback(tmp_path) -> None:
    path = tmp_path / "chats.csv"
    path.write_bytes(b"")  # pandas raises EmptyDataError, which once escaped as a traceback
    with pytest.raises(DatasetError, match="the file is empty"):
        load_conversations(path, on_error="skip")
