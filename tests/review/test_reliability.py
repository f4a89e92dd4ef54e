"""Agreement among reviewers (checked against Krippendorff's published example and a hand-coded alpha),
disputes, and scorers against the people's labels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from review.review_runs import run, write_dataset

from evals.review.reliability import (
    ACCEPTABLE_ALPHA,
    Reliability,
    agrees_enough,
    alpha_table,
    alpha_with_ci,
    disputes,
    scorers_vs_people,
    unit_counts,
)
from evals.review.sampling import sample_items
from evals.review.store import NewItem, QueueMeta, Store

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the example with missing data:
# 4 observers, 12 units, values 1-5, None = not coded. Published: nominal .743, ordinal .815.
KRIPPENDORFF_2011 = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}


def hand_alpha(data: dict[str, list], values: list, level: str) -> float:
    """Alpha from the coincidence matrix, written out from Krippendorff's definitions (no package)."""
    index = {v: i for i, v in enumerate(values)}
    coincidences = np.zeros((len(values), len(values)))
    for unit in zip(*data.values()):
        coded = [index[v] for v in unit if v is not None]
        m = len(coded)
        if m < 2:
            continue
        for i, c in enumerate(coded):
            for j, k in enumerate(coded):
                if i != j:
                    coincidences[c, k] += 1 / (m - 1)
    n_c = coincidences.sum(axis=1)
    n = n_c.sum()
    delta = np.zeros_like(coincidences)
    for c in range(len(values)):
        for k in range(len(values)):
            if level == "nominal":
                delta[c, k] = float(c != k)
            else:  # ordinal: (sum of n_g from c to k, minus half of n_c and n_k), squared
                low, high = min(c, k), max(c, k)
                delta[c, k] = (n_c[low:high + 1].sum() - (n_c[c] + n_c[k]) / 2) ** 2
    observed = (coincidences * delta).sum() / n
    expected = (np.outer(n_c, n_c) * delta).sum() / (n * (n - 1))
    return 1 - observed / expected


def queue(path, data: dict[str, list], question: str, options: dict | None = None) -> Store:
    """One item per unit with one reply; each coder answers `question` as the data says."""
    n = len(next(iter(data.values())))
    items = [NewItem(f"c{u}#0", f"c{u}", 0, "en", [{"role": "customer", "text": "hi"}], [("bot", f"r{u}", False)])
             for u in range(n)]
    store = Store.create(path, QueueMeta("k", "runs/x", "random", 0, (question,), 4), items)
    for coder, answers in data.items():
        for u, value in enumerate(answers):
            if value is not None:
                slot = None if question == "should_escalate" else 0
                store.answer(u + 1, slot, question, coder, (options or {}).get(value, str(value)))
    return store


def test_alpha_matches_krippendorffs_published_example_and_a_hand_coded_alpha(tmp_path):
    store = queue(tmp_path / "k.db", KRIPPENDORFF_2011, "empathy")
    row = alpha_table(store, n_boot=200)[0]
    assert (row.question, row.level, row.units, row.reviewers, row.labels) == ("empathy", "ordinal", 11, 4, 41)
    assert round(row.alpha, 3) == 0.815  # published ordinal alpha
    assert row.alpha == pytest.approx(hand_alpha(KRIPPENDORFF_2011, [1, 2, 3, 4, 5], "ordinal"), abs=1e-9)
    counts, _, _ = unit_counts(store, "empathy")
    nominal = alpha_with_ci(counts, "nominal", n_boot=0)[0]
    assert round(nominal, 3) == 0.743  # published nominal alpha
    assert nominal == pytest.approx(hand_alpha(KRIPPENDORFF_2011, [1, 2, 3, 4, 5], "nominal"), abs=1e-9)
    assert row.ci_low < row.alpha < row.ci_high
    assert alpha_table(store, n_boot=200)[0] == row  # seeded


def test_accuracy_is_ordered_wrong_partly_correct_and_yes_no_is_nominal(tmp_path):
    words = {1: "wrong", 2: "partly", 3: "correct"}
    data = {"ana": [1, 2, 3, 3, 1, 2, 3, 1], "ben": [1, 2, 3, 2, 1, 3, 3, 2], "cy": [1, 1, 3, 3, None, 2, 3, 1]}
    row = alpha_table(queue(tmp_path / "a.db", data, "accuracy", words), n_boot=0)[0]
    assert row.alpha == pytest.approx(hand_alpha(data, [1, 2, 3], "ordinal"), abs=1e-9)
    yes_no = {"ana": ["yes", "no", "no", "yes", "no", "yes"], "ben": ["yes", "no", "yes", "yes", "no", "no"]}
    row = alpha_table(queue(tmp_path / "s.db", yes_no, "should_escalate"), n_boot=0)[0]
    assert row.level == "nominal" and row.units == 6
    assert row.alpha == pytest.approx(hand_alpha(yes_no, ["yes", "no"], "nominal"), abs=1e-9)


def test_no_pairable_unit_gives_no_alpha_and_no_verdict(tmp_path):
    row = alpha_table(queue(tmp_path / "one.db", {"ana": [1, 2, 3]}, "empathy"), n_boot=50)[0]
    assert math.isnan(row.alpha) and row.units == 0 and not agrees_enough(row)
    assert row.verdict == "no unit answered by two reviewers yet"


def test_agreeing_enough_is_judged_on_the_ci_low_end():
    def rel(alpha, low):
        return Reliability("empathy", "ordinal", alpha, low, 0.95, 30, 2, 60)

    assert agrees_enough(rel(0.85, 0.70)) and "agree enough" in rel(0.85, 0.70).verdict
    assert not agrees_enough(rel(0.80, 0.60)) and rel(0.80, 0.60).verdict.startswith("tentative")
    assert not agrees_enough(rel(0.40, 0.20)) and "do NOT agree enough" in rel(0.40, 0.20).verdict
    assert ACCEPTABLE_ALPHA == 0.667


def test_disputes_are_open_until_adjudicated(tmp_path):
    store = queue(tmp_path / "d.db", {"ana": [1, 4, 3], "ben": [1, 2, 5], "cy": [None, None, 3]}, "empathy")
    found = disputes(store)
    assert [(d.case_id, d.slot, d.spread) for d in found] == [("c1#0", 0, 2), ("c2#0", 0, 2)]
    assert found[0].answers == {"ana": "4", "ben": "2"}
    store.adjudicate(2, 0, "empathy", "3", "olga")
    assert [d.case_id for d in disputes(store)] == ["c2#0"]


def test_scorers_against_people_reuse_agree_and_list_the_worst_replies(tmp_path):
    dataset = write_dataset(tmp_path / "chats.jsonl")
    result = run(dataset)
    folder = tmp_path / "results"
    result.save(folder)
    items = sample_items(result, "random", 15, 0)
    store = Store.create(tmp_path / "q.db", QueueMeta("q", str(folder), "random", 0, ("empathy", "handoff"), 2),
                         items)
    judge = {(r.case_id, r.variant): r.label for r in result.scores_of("judge_empathy").itertuples()}
    for item in store.items():
        for c in item.candidates:
            said = int(judge[(item.case_id, c.variant)])
            people = 6 - said if item.case_id == "c3#0" else said  # people disagree with the judge once
            store.answer(item.item_id, c.slot, "empathy", "ana", str(people))
            store.answer(item.item_id, c.slot, "empathy", "ben", str(people))
            store.answer(item.item_id, c.slot, "handoff", "ana", "yes")
    agreement, worst = scorers_vs_people(store, n_boot=50)  # the results found through the queue's source
    kappa = agreement.table[(agreement.table.scorer == "judge_empathy") & (agreement.table.statistic == "kappa")]
    assert len(kappa) == 1 and 0 < kappa.value.iloc[0] < 1
    first = worst["judge_empathy"][0]
    assert first.case_id == "c3#0" and abs(int(first.scorer_label) - int(first.people_label)) == first.gap >= 2
    assert store.item(first.item_id).candidates[first.slot].variant == first.variant
    assert not any(n.startswith("empathy (empathy)") for n in agreement.notes)  # ana and ben agree fully
    assert any(n.startswith("escalation (handoff): no unit answered by two reviewers") for n in agreement.notes)
