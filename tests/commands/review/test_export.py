"""`chatbot-evals review export`: versioned files that `agree` and a dataset's references_path read."""

from __future__ import annotations

from review.review_runs import run, write_dataset

from evals.agreement import run_agreement
from evals.commands.review import main
from evals.labels import load_labels
from evals.load import build_cases, load_conversations
from evals.review.references import use_references
from evals.review.sampling import sample_items
from evals.review.store import QueueMeta, Store


def test_export_feeds_agree_and_the_dataset_references(tmp_path, capsys):
    dataset = write_dataset(tmp_path / "chats.jsonl")
    result = run(dataset)
    queue = tmp_path / "q.db"
    with Store.create(queue, QueueMeta("q", "runs/x", "random", 0, ("empathy", "should_escalate"), 2),
                      sample_items(result, "random", 6, 0)) as store:
        for item in store.items():
            for c in item.candidates:
                store.answer(item.item_id, c.slot, "empathy", "ana", "4")
                store.answer(item.item_id, c.slot, "empathy", "ben", "3")
            store.answer(item.item_id, None, "should_escalate", "ana", "no")
            store.answer(item.item_id, None, "should_escalate", "ben", "no")
        reviewed = {(i.conversation_id, i.turn) for i in store.items()}
    assert main(["export", str(queue), "--out", str(tmp_path / "labels")]) == 0
    said = capsys.readouterr().out
    assert "version 1 written to" in said and "should_escalate: 6 references" in said
    labels = load_labels(tmp_path / "labels" / "labels-v1.jsonl")
    agreement = run_agreement(labels, result, n_boot=0)
    assert {"empathy", "judge_empathy"} <= set(agreement.table.scorer)
    loaded = use_references(load_conversations(dataset), tmp_path / "labels" / "references-v1.jsonl", print)
    cases = {(c.conversation.conversation_id, c.turn_index): c.reference for c in build_cases(loaded.conversations)}
    assert all(cases[k].escalation_source == "human_review" and cases[k].should_escalate is False for k in reviewed)
    assert main(["export", str(queue), "--out", str(tmp_path / "labels")]) == 0
    assert "version 2 written to" in capsys.readouterr().out
