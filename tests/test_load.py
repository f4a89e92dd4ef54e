import json
import math
from pathlib import Path

import pandas as pd
import pytest
from builders import conversation

from evals.cli import main as cli
from evals.load import DatasetError, build_cases, load_conversations, sample_conversations

GOOD = conversation("c1", turns=[("customer", "Hi"), ("agent", "Hello!"), ("customer", "Refund?"),
                                 ("agent", "I will escalate this.")])


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def write_jsonl(tmp_path: Path, rows: list, name: str = "data.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def csv_frame(rows: list[dict]) -> pd.DataFrame:
    """Rows as CSV columns: the nested fields as JSON text."""
    return pd.DataFrame([{**r, "turns": json.dumps(r["turns"]), "references": json.dumps(r["references"])}
                         for r in rows])


def good_row(cid: str = "c1") -> dict:
    return {**GOOD.model_dump(exclude_none=True), "conversation_id": cid}


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda r: r.pop("language"), "line 2: field 'language': required field is missing"),
        (lambda r: r.update(language=7), "line 2: field 'language': Input should be a valid string"),
        (lambda r: r.update(turns=[]), "line 2: field 'turns': List should have at least 1 item"),
        (lambda r: r["turns"][1].update(role="robot"), "line 2: field 'turns.1.role': Input should be"),
        (lambda r: r.update(turns=[{"role": "agent", "text": "Hello"}], references=[]),
         "line 2: field 'turns': the conversation has no customer turn"),
        (lambda r: r["references"][0].update(turn=1), "line 2: field 'references.0.turn': 1 is not"),
        (lambda r: r["references"][0].pop("escalation_source"),
         "line 2: field 'references.0.escalation_source': required when should_escalate is given"),
        (lambda r: r["references"][0].update(should_escalate="yes"),
         "line 2: field 'references.0.should_escalate': Input should be a valid boolean"),
        (lambda r: r["turns"][0].update(tool_calls=[{"name": "transfer_to_human"}]),
         "line 2: field 'turns.0.tool_calls': a customer turn cannot call tools"),
        (lambda r: r["turns"][2].update(handoff=True), "line 2: field 'turns.2.handoff': a customer turn cannot"),
        (lambda r: r["turns"][1].update(text=""), "line 2: field 'turns.1.text': required, and not empty, unless"),
        (lambda r: r["turns"][1].update(handoff="yes"), "line 2: field 'turns.1.handoff': Input should be a valid"),
        (lambda r: r["turns"][1].update(text="", tool_calls=[{"name": "escalate", "arguments": "{oops"}]),
         "line 2: field 'turns.1.tool_calls.0.arguments': not valid JSON"),
        (lambda r: r["turns"][1].update(tool_calls=[{"name": "escalate", "arguments": 3}]),
         "line 2: field 'turns.1.tool_calls.0.arguments': a JSON object, or a JSON string holding one; got int"),
        (lambda r: r["turns"][1].update(tool_calls=[{"arguments": {}}]),
         "line 2: field 'turns.1.tool_calls.0.name': required field is missing"),
        # two references for one turn would share a case id in the per-reply table
        (lambda r: r["references"].append({**r["references"][0], "should_escalate": True}),
         "line 2: field 'references.2.turn': turn 0 already has a reference (references.0)"),
        (lambda r: r.update(outcome={"csat": math.nan}), "line 2: field 'outcome.csat': nan is not a finite number"),
        (lambda r: r.update(outcome={"cost": -math.inf}), "line 2: field 'outcome.cost': -inf is not a finite number"),
        (lambda r: r["turns"][1].update(tool_calls=[{"name": "refund", "arguments": {"amount": [1, math.inf]}}]),
         "line 2: field 'turns.1.tool_calls.0.arguments.amount.1': inf is not a finite number"),
        (lambda r: r["turns"][1].update(tool_calls=[{"name": "refund", "arguments": '{"amount": NaN}'}]),
         "line 2: field 'turns.1.tool_calls.0.arguments.amount': nan is not a finite number"),
        (lambda r: r.update(language="english-ish??"),
         "line 2: field 'language': 'english-ish??' is not an ISO 639-1 language code"),
        (lambda r: r.update(agent_language="eng"), "line 2: field 'agent_language': 'eng' is not an ISO 639-1"),
        (lambda r: r.update(language="xx-US"), "line 2: field 'language': 'xx-US' is not an ISO 639-1"),
        (lambda r: r["turns"][1].update(text=" \n\t"), "line 2: field 'turns.1.text': only whitespace"),
        (lambda r: r["turns"][0].update(translation="  "), "line 2: field 'turns.0.translation': empty or only"),
        (lambda r: r["references"][0].update(reply=" "), "line 2: field 'references.0.reply': empty or only"),
        (lambda r: r["references"][0].update(reply_translation=""),
         "line 2: field 'references.0.reply_translation': empty or only whitespace"),
        (lambda r: r["references"][0].update(required_facts=["order 7", " "]),
         "line 2: field 'references.0.required_facts.1': empty or only whitespace"),
        (lambda r: r["turns"][0].update(timestamp="yesterday"),
         "line 2: field 'turns.0.timestamp': 'yesterday' is not an ISO 8601 date and time"),
        (lambda r: r["turns"][0].update(timestamp="17/05/2024 14:03"), "line 2: field 'turns.0.timestamp': '17/05"),
        (lambda r: r.update(outcome={"csat": nested(20)}),
         "line 2: field 'outcome.csat.0.0.0.…': nested deeper than 20 levels"),
        (lambda r: r["turns"][1].update(tool_calls=[{"name": "refund", "arguments": {"a": nested(20)}}]),
         "line 2: field 'turns.1.tool_calls.0.arguments.…': nested deeper than 20 levels"),
        (lambda r: r["turns"][1].update(tool_calls=[{"name": "refund", "arguments": json.dumps({"a": nested(20)})}]),
         "line 2: field 'turns.1.tool_calls.0.arguments': nested deeper than 20 levels"),
        (lambda r: r["turns"][1].update(tool_calls=[{"name": "refund", "arguments": '{"a": ' + "[" * 50_000}]),
         "line 2: field 'turns.1.tool_calls.0.arguments': nested deeper than 20 levels"),
    ],
)
def test_each_malformed_row_names_file_line_and_field(tmp_path: Path, mutate, where: str) -> None:
    bad = good_row("c2")
    mutate(bad)
    path = write_jsonl(tmp_path, [good_row(), bad])
    with pytest.raises(DatasetError) as err:
        load_conversations(path)
    first = str(err.value).splitlines()[0]
    assert first.startswith(f"{path}: {where}")


def test_a_reply_that_is_only_a_tool_call_loads_from_jsonl_and_csv(tmp_path: Path) -> None:
    row = good_row()
    row["turns"][3] = {"role": "agent", "handoff": True, "tool_calls": [
        {"id": "call_7", "type": "function", "function": {"name": "transfer_to_human", "arguments": "{}"}}]}
    [conv] = load_conversations(write_jsonl(tmp_path, [row])).conversations
    assert conv.turns[3].text == "" and conv.turns[3].tool_calls[0].name == "transfer_to_human"
    flat = pd.DataFrame([{**row, "turns": json.dumps(row["turns"]), "references": json.dumps(row["references"])}])
    flat.to_csv(tmp_path / "data.csv", index=False)
    assert load_conversations(tmp_path / "data.csv").conversations == [conv]


def test_bad_json_bad_encoding_and_duplicates_are_reported_per_line(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join([
        json.dumps(good_row()).encode(),
        b'{"conversation_id": ',
        json.dumps(good_row("c3")).encode().replace(b"Hello!", b"Hall\xe9!"),
        json.dumps(good_row()).encode(),
        b"[1, 2]",
    ]) + b"\n")
    with pytest.raises(DatasetError) as err:
        load_conversations(path)
    lines = str(err.value).splitlines()
    assert lines[0] == f"{path}: line 2: not valid JSON: Expecting value at column 20"
    assert lines[1].startswith(f"{path}: line 3: not valid UTF-8")
    assert lines[2] == f"{path}: line 4: field 'conversation_id': duplicate id 'c1' (first at line 1)"
    assert lines[3] == f"{path}: line 5: expected a JSON object for the conversation"
    assert "dataset.on_error=skip" in lines[-1]


def test_skip_policy_keeps_good_rows_and_counts_the_bad(tmp_path: Path) -> None:
    bad = good_row("c2")
    bad["turns"][0]["role"] = "robot"
    loaded = load_conversations(write_jsonl(tmp_path, [good_row(), bad, good_row("c3")]), on_error="skip")
    assert [c.conversation_id for c in loaded.conversations] == ["c1", "c3"]
    assert len(loaded.skipped) == 1 and loaded.skipped[0].row == "line 2"
    assert loaded.skipped[0].field == "turns.0.role"


def test_skipping_every_row_still_says_why_each_failed(tmp_path: Path, capsys) -> None:
    bad = [{**good_row("c1"), "language": None}, {**good_row("c2"), "turns": []}]
    path = write_jsonl(tmp_path, bad)
    with pytest.raises(DatasetError) as err:
        load_conversations(path, on_error="skip")
    assert str(err.value).splitlines() == [
        f"{path}: line 1: field 'language': Input should be a valid string",
        f"{path}: line 2: field 'turns': List should have at least 1 item after validation, not 0",
        f"{path}: no valid conversation in the file; fix the rows above"]
    assert cli(["validate", str(path)]) == 2
    assert f"{path}: line 2: field 'turns'" in capsys.readouterr().err


def test_csv_parquet_and_saved_hf_dataset_load_the_same(tmp_path: Path) -> None:
    import datasets

    rows = [good_row(), good_row("c2")]
    expected = load_conversations(write_jsonl(tmp_path, rows)).conversations

    csv_frame(rows).to_csv(tmp_path / "data.csv", index=False)
    assert load_conversations(tmp_path / "data.csv").conversations == expected

    pd.DataFrame(rows).to_parquet(tmp_path / "data.parquet")
    assert load_conversations(tmp_path / "data.parquet").conversations == expected

    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "hf"))
    assert load_conversations(tmp_path / "hf").conversations == expected


def test_csv_errors_name_the_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text('conversation_id,language,turns\nc1,en,"[{""role"": ""customer""}"\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"bad.csv: row 1: field 'turns': cell is not valid JSON"):
        load_conversations(path)
    path.write_bytes(b"conversation_id,language,turns\nc1,en,\xff\n")
    with pytest.raises(DatasetError, match=r"bad.csv: line 2: not valid UTF-8"):
        load_conversations(path)


def test_unknown_formats_and_missing_files_are_user_errors(tmp_path: Path) -> None:
    (tmp_path / "data.xlsx").write_text("x")
    with pytest.raises(DatasetError, match="unsupported file type '.xlsx'"):
        load_conversations(tmp_path / "data.xlsx")
    with pytest.raises(DatasetError, match="no-such.jsonl: no such file or folder"):
        load_conversations(tmp_path / "no-such.jsonl")
    (tmp_path / "exports").mkdir()
    with pytest.raises(DatasetError, match="exports: a folder, but not one saved with datasets' save_to_disk"):
        load_conversations(tmp_path / "exports")


def test_a_utf8_file_that_starts_with_a_byte_order_mark_loads_as_without_one(tmp_path: Path) -> None:
    rows = [good_row(), good_row("c2")]
    expected = load_conversations(write_jsonl(tmp_path, rows)).conversations
    jsonl = write_jsonl(tmp_path, rows, "bom.jsonl")
    jsonl.write_bytes(b"\xef\xbb\xbf" + jsonl.read_bytes())
    assert load_conversations(jsonl).conversations == expected
    csv_frame(rows).to_csv(tmp_path / "bom.csv", index=False, encoding="utf-8-sig")  # as Excel saves "CSV UTF-8"
    assert (tmp_path / "bom.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert load_conversations(tmp_path / "bom.csv").conversations == expected


def test_decision_points_and_sampling() -> None:
    assert [c.turn_index for c in build_cases([GOOD], "every")] == [0, 2]
    assert [c.turn_index for c in build_cases([GOOD], "first")] == [0]
    assert [c.turn_index for c in build_cases([GOOD], "last")] == [2]
    many = [conversation(f"c{i}") for i in range(10)]
    picked = sample_conversations(many, 3, seed=1)
    assert len(picked) == 3 and picked == sample_conversations(many, 3, seed=1)
    assert sample_conversations(many, None, seed=1) == many


def test_language_tags_timestamps_and_tool_call_turns_that_are_accepted(tmp_path: Path) -> None:
    rows = []
    for i, (language, timestamp) in enumerate([("EN", "2024-05-17T14:03:00Z"), ("pt-BR", "2024-05-17T14:03:00+02:00"),
                                               ("en_US", "2024-05-17"), ("zh-Hant-TW", "2024-05-17 14:03:00.250")]):
        row = good_row(f"c{i}")
        row.update(language=language, agent_language="en", outcome={"csat": 4.5, "resolved": True, "note": None})
        row["turns"][0]["timestamp"] = timestamp
        row["turns"][1].update(text=" ", tool_calls=[{"name": "lookup_order"}])  # a tool call needs no words
        rows.append(row)
    loaded = load_conversations(write_jsonl(tmp_path, rows))
    assert [c.language for c in loaded.conversations] == ["EN", "pt-BR", "en_US", "zh-Hant-TW"]  # kept as written
    assert loaded.conversations[1].turns[0].timestamp == "2024-05-17T14:03:00+02:00"


def test_nesting_beyond_the_limit_is_one_line_in_every_format(tmp_path: Path) -> None:
    """Thousands of brackets make json recurse until RecursionError; a row must say so in one line instead."""
    hostile = json.dumps(good_row("c2")).replace('"Hello!"', '"Hello!", "x": ' + "[" * 100_000 + "]" * 100_000)
    jsonl = write_jsonl(tmp_path, [good_row(), hostile])
    with pytest.raises(DatasetError) as err:
        load_conversations(jsonl)
    assert str(err.value).splitlines()[0] == f"{jsonl}: line 2: nested deeper than 20 levels"

    row = good_row()
    csv = tmp_path / "deep.csv"
    pd.DataFrame([{**row, "turns": "[" * 100_000 + "]" * 100_000, "references": json.dumps(row["references"])},
                  {**row, "conversation_id": "c2", "turns": json.dumps([*row["turns"], {"deep": nested(21)}]),
                   "references": json.dumps(row["references"])}]).to_csv(csv, index=False)
    with pytest.raises(DatasetError) as err:
        load_conversations(csv)
    assert str(err.value).splitlines()[:2] == [
        f"{csv}: row 1: field 'turns': nested deeper than 20 levels",
        f"{csv}: row 2: field 'turns.4.deep.0.0.…': nested deeper than 20 levels",
    ]

    parquet = tmp_path / "deep.parquet"
    pd.DataFrame([{**row, "outcome": {"csat": nested(25)}}]).to_parquet(parquet)
    with pytest.raises(DatasetError) as err:
        load_conversations(parquet)
    assert str(err.value).splitlines()[0] == (
        f"{parquet}: row 1: field 'outcome.csat.0.0.0.…': nested deeper than 20 levels")


def test_validate_command_reports_each_new_refusal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    twice = good_row("c2")
    twice["references"].append(twice["references"][0])
    blank = good_row("c3")
    blank["turns"][2]["text"] = "   "
    path = write_jsonl(tmp_path, [good_row(), twice, {**good_row("c4"), "outcome": {"csat": math.nan}},
                                  {**good_row("c5"), "language": "english-ish??"}, blank])
    assert cli(["validate", str(path)]) == 1
    out = capsys.readouterr()
    assert out.err.splitlines() == [
        f"error: {path}: line 2: field 'references.2.turn': turn 0 already has a reference (references.0); "
        "give one reference per customer turn",
        f"error: {path}: line 3: field 'outcome.csat': nan is not a finite number (NaN and Infinity are not accepted)",
        f"error: {path}: line 4: field 'language': 'english-ish??' is not an ISO 639-1 language code ('en', 'de'; "
        "a region may follow: 'pt-BR', 'en_US')",
        f"error: {path}: line 5: field 'turns.2.text': only whitespace; a turn needs words unless it is a bot or "
        "agent tool call (tool_calls)",
    ]
    assert "1 valid conversations, 2 decision points" in out.out and "4 malformed rows" in out.out
