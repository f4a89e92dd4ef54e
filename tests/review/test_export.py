"""Export: the label format `agree` reads, Parquet, reviewed references, versions, the manifest's record."""

from __future__ import annotations

import hashlib
import json

import pytest

from evals.errors import UserError
from evals.labels import load_labels
from evals.review.export import export
from evals.review.store import NewItem, QueueMeta, Store


def make(path) -> Store:
    items = [NewItem(f"c{i}#2", f"c{i}", 2, "en", [{"role": "customer", "text": f"help {i}"}],
                     [("rules", f"bot {i}", False), ("human", f"agent {i}", True)]) for i in range(3)]
    return Store.create(path, QueueMeta("q", "runs/x/results", "random", 7, ("empathy", "accuracy", "handoff",
                                                                              "should_escalate"), 2), items)


def label(store: Store, who: str, item: int, empathy: str, accuracy: str, handoff: str, escalate: str) -> None:
    for slot in (0, 1):
        store.answer(item, slot, "empathy", who, empathy)
        store.answer(item, slot, "accuracy", who, accuracy)
        store.answer(item, slot, "handoff", who, handoff)
    store.answer(item, None, "should_escalate", who, escalate)


@pytest.fixture()
def store(tmp_path):
    store = make(tmp_path / "q.db")
    label(store, "ana", 1, "4", "partly", "yes", "yes")
    label(store, "ben", 1, "4", "partly", "yes", "yes")
    label(store, "ana", 2, "2", "wrong", "no", "no")
    label(store, "ben", 2, "5", "correct", "no", "yes")  # disputes on empathy, accuracy, should_escalate
    store.answer(2, None, "note", "ana", "rude opening")
    store.adjudicate(2, 0, "empathy", "3", "olga")
    store.adjudicate(2, None, "should_escalate", "no", "olga")
    label(store, "ana", 3, "1", "wrong", "no", "no")
    label(store, "ben", 3, "1", "wrong", "no", "yes")  # should_escalate disputed, left to adjudicate
    return store


def test_labels_load_with_the_label_loader_and_map_answers_as_stated(store, tmp_path):
    done = export(store, tmp_path / "labels")
    assert done.version == 1
    labels = load_labels(tmp_path / "labels" / "labels-v1.jsonl")
    frame = labels.frame
    row = frame[(frame.case_id == "c0#2") & (frame.variant == "rules") & (frame.reviewer == "ana")]
    assert dict(zip(row.criterion, row.label)) == {"empathy": 4, "accuracy": 3, "escalation": "correct_containment"}
    human = frame[(frame.case_id == "c0#2") & (frame.variant == "human") & (frame.criterion == "escalation")]
    assert set(human.label) == {"correct_handoff"}  # the human reply escalated, and reviewers said yes
    missed = frame[(frame.case_id == "c2#2") & (frame.criterion == "escalation")]
    assert set(zip(missed.variant, missed.label)) == {("rules", "missed"), ("human", "premature")}
    final = frame[(frame.case_id == "c1#2") & (frame.variant == "rules") & (frame.criterion == "empathy")]
    assert list(final.reviewer) == ["adjudicated"] and list(final.label) == [3]
    assert final.note.iloc[0] == "adjudicated by olga (reviewers: ana 2, ben 5)"
    noted = frame[(frame.case_id == "c1#2") & (frame.reviewer == "ana")]
    assert set(noted.note) == {"rude opening"} and noted.labelled_at.notna().all()
    # 3 items x 2 replies x 3 criteria x 2 reviewers, less the adjudicated unit's second row
    assert len(frame) == 35


def test_parquet_references_and_manifest(store, tmp_path):
    import datasets

    done = export(store, tmp_path / "labels")
    folder = tmp_path / "labels"
    assert sorted(p.name for p in done.files) == ["labels-v1.jsonl", "labels-v1.parquet", "manifest-v1.json",
                                                  "references-v1.jsonl"]
    table = datasets.Dataset.from_parquet(str(folder / "labels-v1.parquet"))
    assert len(table) == 35 and set(table.column_names) >= {"case_id", "variant", "criterion", "reviewer", "label"}
    references = [json.loads(line) for line in (folder / "references-v1.jsonl").read_text().splitlines()]
    assert references == [
        {"conversation_id": "c0", "turn": 2, "should_escalate": True, "escalation_source": "human_review",
         "reviewers": ["ana", "ben"], "adjudicated": False},
        {"conversation_id": "c1", "turn": 2, "should_escalate": False, "escalation_source": "human_review",
         "reviewers": ["ana", "ben"], "adjudicated": True}]  # c2: disputed, not adjudicated: left out
    manifest = json.loads((folder / "manifest-v1.json").read_text())
    assert manifest["references"] == {"rows": 2, "adjudicated": 1, "left_out_disputed": 1}
    assert manifest["disputed_not_adjudicated"] == {"accuracy": 2, "should_escalate": 1, "empathy": 1}
    assert manifest["adjudicated"] == {"empathy": 1, "should_escalate": 1}
    assert manifest["mappings"]["accuracy"] == {"correct": 5, "partly": 3, "wrong": 1}
    assert manifest["mappings"]["escalation"]["not escalated & no"] == "missed"
    assert "derived" in manifest["derived"] and manifest["queue"]["seed"] == 7
    for name, digest in manifest["sha256"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest


def test_each_export_is_a_new_version(store, tmp_path):
    assert export(store, tmp_path / "out").version == 1
    store.adjudicate(3, None, "should_escalate", "yes", "olga")
    second = export(store, tmp_path / "out")
    assert second.version == 2 and (tmp_path / "out" / "labels-v1.jsonl").is_file()
    assert second.manifest["references"]["rows"] == 3


def test_nothing_to_export_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="nothing to export yet"):
        export(make(tmp_path / "empty.db"), tmp_path / "out")
