"""Sampling a run into queue items: strategies, seeds, blind candidates, the history and its redaction."""

from __future__ import annotations

import json

import pytest
from review.review_runs import EMAIL, conversations, run, write_dataset

from evals.errors import UserError
from evals.labels import load_labels
from evals.review.sampling import draw, sample_items


@pytest.fixture()
def dataset(tmp_path):
    return write_dataset(tmp_path / "chats.jsonl")


def test_random_is_seeded_and_skips_points_without_a_usable_reply(dataset):
    result = run(dataset)
    first = draw(result, "random", 20, seed=3)
    again = draw(result, "random", 20, seed=3)
    other = sample_items(result, "random", 5, seed=4)
    assert [i.case_id for i in first.items] == [i.case_id for i in again.items]
    assert [i.case_id for i in other] != [i.case_id for i in first.items][:5]
    # 16 decision points; c7#0 errored for both variants: counted, never sampled
    assert first.without_candidate == 1 and first.eligible == 15 and len(first.items) == 15
    assert "c7#0" not in {i.case_id for i in first.items}
    by_case = {i.case_id: i for i in first.items}
    assert [v for v, _, _ in by_case["c6#2"].candidates] == ["rules"]  # the human reply is missing there
    assert all(i.reason == "random sample" for i in first.items)


def test_candidates_are_shuffled_per_item_and_the_order_is_fixed_by_the_seed(dataset):
    result = run(dataset)
    items = sample_items(result, "random", 15, seed=0)
    orders = {tuple(v for v, _, _ in i.candidates) for i in items if len(i.candidates) == 2}
    assert orders == {("human", "rules"), ("rules", "human")}  # not always the run's order
    again = sample_items(result, "random", 15, seed=0)
    assert [i.candidates for i in items] == [i.candidates for i in again]
    escalated = {(i.case_id, v): e for i in items for v, _, e in i.candidates}
    assert escalated[("c1#2", "human")] is True and escalated[("c1#2", "rules")] is False


def test_the_history_comes_from_the_dataset_redacted_like_the_results(dataset):
    item = next(i for i in sample_items(run(dataset), "random", 15, 0) if i.case_id == "c0#2")
    assert [t["role"] for t in item.history] == ["customer", "agent", "customer"]
    assert EMAIL not in item.history[0]["text"] and "[EMAIL]" in item.history[0]["text"]
    assert item.history[-1]["text"] == "It has been two weeks for order 0!"
    unredacted = next(i for i in sample_items(run(dataset, redacted=False), "random", 15, 0) if i.case_id == "c0#2")
    assert EMAIL in unredacted.history[0]["text"]


def test_without_a_readable_dataset_the_history_is_the_last_message_and_the_reason_says_so(tmp_path, dataset):
    items = sample_items(run(tmp_path / "gone.jsonl"), "random", 3, 0)
    assert all(len(i.history) == 1 and i.history[0]["role"] == "customer" for i in items)
    assert all("history: the customer's last message only (dataset" in i.reason for i in items)
    changed = conversations()
    changed[0]["turns"][2]["text"] = "Something else entirely."
    write_dataset(dataset, changed)
    item = next(i for i in sample_items(run(dataset), "random", 15, 0) if i.case_id == "c0#2")
    assert item.history == [{"role": "customer", "text": "It has been two weeks for order 0!"}]
    assert "no longer holds the message the run answered" in item.reason


def test_stratified_gives_equal_shares_and_passes_a_short_slice_on(dataset):
    result = run(dataset)
    items = sample_items(result, "stratified", 6, 0, by="language")
    assert sorted(i.slice for i in items) == ["language=de"] * 2 + ["language=en"] * 2 + ["language=fr"] * 2
    # eligible: en 6, de 5, fr 4; 14 asked: fr gives all 4, the others share the rest
    counts = {}
    for item in sample_items(result, "stratified", 14, 0, by="language"):
        counts[item.slice] = counts.get(item.slice, 0) + 1
    assert counts == {"language=de": 5, "language=en": 5, "language=fr": 4}
    assert {i.slice for i in sample_items(result, "stratified", 4, 0, by="intent")} == {"intent=delivery",
                                                                                          "intent=refund"}
    with pytest.raises(UserError, match="--by colour: unknown"):
        sample_items(result, "stratified", 4, 0, by="colour")


def calm(case_id: str, variant: str) -> dict:
    """Every scorer agrees everywhere, except at c3#2 (judge vs empathy) and c4#0 (the variants)."""
    empathy, judge = 0.5, 3
    if (case_id, variant) == ("c3#2", "rules"):
        empathy, judge = 1.0, 1
    if (case_id, variant) == ("c4#0", "rules"):
        empathy, judge = 0.25, 2
    return {"empathy": (empathy, "neutral/warm"), "judge_empathy": ((judge - 1) / 4, str(judge)),
            "judge_empathy_agreement": (0.0 if case_id == "c5#0" else 1.0, "same"),
            "escalation": (1.0, "correct_containment")}


def test_disagreement_ranks_judge_against_scorer_and_the_spread_across_variants(dataset):
    sample = draw(run(dataset, values=calm), "disagreement", 5, 0)
    assert [i.case_id for i in sample.items] == ["c3#2", "c4#0"]  # nothing else disagrees
    # at c3#2 the judge and the offline scorer disagree fully, and so do the judge's two variants
    assert sample.items[0].reason in ("judge_empathy 1 vs empathy 5", "judge_empathy 3 (human) vs 1 (rules)")
    assert sample.items[1].reason in ("judge_empathy 3 (human) vs 2 (rules)", "empathy 0.5 (human) vs 0.25 (rules)")
    assert "disagreement: only 2 decision points qualify (asked for 5)" in sample.notes


def sure(case_id: str, variant: str) -> dict:
    """Confident everywhere but two places: the judge's repeats split at c5#0, empathy 0.55 at c2#2."""
    return {"empathy": (0.55 if (case_id, variant) == ("c2#2", "human") else 0.9, "neutral/warm"),
            "judge_empathy": (1.0, "5"), "judge_empathy_agreement": (0.0 if case_id == "c5#0" else 1.0, "same"),
            "escalation": (float(variant == "human"), "correct_containment" if variant == "human" else "missed")}


def test_uncertain_uses_split_judge_repeats_and_the_middle_of_a_scale(dataset):
    sample = draw(run(dataset, values=sure), "uncertain", 3, 0)
    assert [i.case_id for i in sample.items[:2]] == ["c5#0", "c2#2"]
    assert "judge_empathy's repeats disagree" in sample.items[0].reason
    assert sample.items[1].reason == "empathy 0.55, near the middle (0.5) of its scale (human)"
    assert sample.items[2].reason.startswith(("empathy 0.9, near the middle", "judge_empathy 5, near the middle"))
    assert any("escalation: not used (pass/fail values or one value only" in n for n in sample.notes)
    assert any("empathy: nearness to the middle (values in [0, 1], middle 0.5)" in n for n in sample.notes)


def test_contested_picks_where_a_scorer_and_earlier_labels_disagree(dataset, tmp_path):
    path = tmp_path / "labels.jsonl"
    rows = [{"case_id": "c2#0", "variant": "rules", "criterion": "empathy", "reviewer": "ana", "label": 5},
            {"case_id": "c2#0", "variant": "rules", "criterion": "empathy", "reviewer": "ben", "label": 5},
            {"case_id": "c1#0", "variant": "human", "criterion": "empathy", "reviewer": "ana", "label": 3}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    sample = draw(run(dataset, values=calm), "contested", 5, 0, earlier_labels=load_labels(path))
    assert [i.case_id for i in sample.items] == ["c2#0"]  # c1#0: people 3, the scorers 3
    assert "vs people's empathy 5 (ana, ben; rules)" in sample.items[0].reason
    with pytest.raises(UserError, match="needs --labels"):
        draw(run(dataset), "contested", 5, 0)


def test_mistakes_are_one_line_errors(dataset):
    result = run(dataset)
    with pytest.raises(UserError, match="--variants bots: the run has no such variant"):
        sample_items(result, "random", 5, 0, variants=["bots"])
    with pytest.raises(UserError, match="one or two variants"):
        sample_items(result, "random", 5, 0, variants=["human", "rules", "x"])
    with pytest.raises(UserError, match="--strategy best: unknown"):
        sample_items(result, "best", 5, 0)
    everything = tuple((f"c{i}#{t}", v) for i in range(8) for t in (0, 2) for v in ("human", "rules"))
    with pytest.raises(UserError, match="no decision point has a usable reply"):
        sample_items(run(dataset, errored=everything), "random", 5, 0)
    with pytest.raises(UserError, match="--strategy disagreement: no decision point qualifies"):
        sample_items(run(dataset, values=lambda c, v: {"empathy": (0.5, "x")}), "disagreement", 5, 0)
