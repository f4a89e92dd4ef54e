"""Reviewed should_escalate labels become a dataset's references (dataset.references_path)."""

from __future__ import annotations

import json

import pytest
from review.review_runs import conversations, write_dataset

from evals.load import DatasetError, build_cases, load_conversations
from evals.review.references import apply_references, use_references
from evals.schemas import DATASET


def refs(path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def reviewed(cid: str, turn: int, should: bool) -> dict:
    return {"conversation_id": cid, "turn": turn, "should_escalate": should, "escalation_source": "human_review",
            "reviewers": ["ana", "ben"], "adjudicated": False}


def test_reviewed_labels_replace_derived_ones_and_are_counted(tmp_path):
    loaded = load_conversations(write_dataset(tmp_path / "chats.jsonl"))
    path = refs(tmp_path / "references-v1.jsonl", [reviewed("c1", 2, False), reviewed("c3", 0, False)])
    said = []
    updated = use_references(loaded, path, said.append)
    cases = {c.case_id: c.reference for c in build_cases(updated.conversations)}
    assert (cases["c1#2"].should_escalate, cases["c1#2"].escalation_source) == (False, "human_review")
    assert (cases["c3#0"].should_escalate, cases["c3#0"].escalation_source) == (False, "human_review")
    assert (cases["c2#2"].should_escalate, cases["c2#2"].escalation_source) == (True, "agent_phrase")
    assert said == [f"{path}: 2 decision points use reviewed should_escalate (human_review); 2 replaced a derived "
                    "label, 1 of them changed its value"]
    assert loaded.conversations[1].references[1].escalation_source == "agent_phrase"  # the input is not changed


def test_a_point_the_dataset_lacks_is_one_line_naming_file_line_and_field(tmp_path):
    convs = load_conversations(write_dataset(tmp_path / "chats.jsonl")).conversations
    path = refs(tmp_path / "r.jsonl", [reviewed("c1", 2, True), reviewed("c99", 0, True)])
    with pytest.raises(DatasetError, match=r"r\.jsonl: line 2: field 'conversation_id': no conversation 'c99'"):
        apply_references(convs, path)
    path = refs(tmp_path / "r.jsonl", [reviewed("c1", 1, True)])
    with pytest.raises(DatasetError, match=r"line 1: field 'turn': turn 1 of 'c1' is not a decision point "
                                           r"\(its turns: 0, 2\)"):
        apply_references(convs, path)


@pytest.mark.parametrize(("row", "field", "message"), [
    ({"conversation_id": "c1", "turn": "2", "should_escalate": True}, "turn", "required, a customer turn index"),
    ({"conversation_id": "c1", "turn": 2, "should_escalate": "yes"}, "should_escalate", "required, true or false"),
    ({"conversation_id": "c1", "turn": 2, "should_escalate": True, "escalation_source": "intent_policy"},
     "escalation_source", "reviewed references are human_review"),
    ({"conversation_id": "c1", "turn": 2, "should_escalate": True, "colour": 1}, "colour", "unknown field"),
])
def test_malformed_rows_are_named(tmp_path, row, field, message):
    convs = load_conversations(write_dataset(tmp_path / "d.jsonl", conversations(2))).conversations
    path = refs(tmp_path / "r.jsonl", [reviewed("c0", 0, True), row])
    with pytest.raises(DatasetError, match=f"line 2: field '{field}': {message}"):
        apply_references(convs, path)


def test_a_point_reviewed_twice_is_an_error(tmp_path):
    convs = load_conversations(write_dataset(tmp_path / "d.jsonl", conversations(2))).conversations
    path = refs(tmp_path / "r.jsonl", [reviewed("c0", 0, True), reviewed("c0", 0, False)])
    with pytest.raises(DatasetError, match="line 2: field 'turn': c0 turn 0 already reviewed at line 1"):
        apply_references(convs, path)


def test_the_dataset_schema_knows_references_path():
    schema = DATASET.model_validate({"name": "x", "path": "d.jsonl", "references_path": "labels/references-v1.jsonl"})
    assert "labels/references-v1.jsonl" in schema.model_dump(by_alias=True).values()


def test_a_run_uses_the_reviewed_references(tmp_path, new_store):
    """`dataset.references_path` through the real command: the results say where each label came from."""
    import subprocess
    import sys

    from evals.results import EvalResult

    dataset = write_dataset(tmp_path / "chats.jsonl", conversations(3))
    path = refs(tmp_path / "references-v1.jsonl", [reviewed("c1", 2, False)])
    uri = new_store(tmp_path)
    out = subprocess.run([sys.executable, "-m", "evals.cli", "run", "dataset=file", f"dataset.path={dataset}",
                          f"dataset.references_path={path}", "variant=[rules]", "scorer=[escalation]",
                          f"tracking.uri={uri}", f"tracking.artifact_root={tmp_path}/artifacts",
                          f"output_dir={tmp_path}/out"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "1 decision points use reviewed should_escalate (human_review); 1 replaced a derived label" in \
        " ".join(out.stderr.split())
    replies = EvalResult.load(tmp_path / "out" / "results").replies.set_index("case_id")
    assert (replies.loc["c1#2", "escalation_source"], bool(replies.loc["c1#2", "should_escalate"])) == \
        ("human_review", False)
    assert replies.loc["c0#2", "escalation_source"] == "agent_phrase"
