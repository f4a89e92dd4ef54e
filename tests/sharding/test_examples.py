"""The sample a large sharded run's adapters read: whole conversations, seeded, within the limit."""

from __future__ import annotations

from builders import conversation

from evals.load import build_cases
from evals.sharding.examples import examples_of


def cases_of(turns_per_conversation: list[int]) -> list:
    convs = [conversation(f"c{i}", turns=[("customer", "Where is my order?"), ("agent", "It ships tomorrow.")] * n)
             for i, n in enumerate(turns_per_conversation)]
    return build_cases(convs, "every", "agent")


def test_a_run_within_the_limit_is_read_whole() -> None:
    assert examples_of(cases_of([2, 3]), limit=5, seed=0) is None


def test_the_sample_holds_whole_conversations_within_the_limit_and_depends_on_the_seed_only() -> None:
    cases = cases_of([1, 2, 3, 4, 1, 2, 3, 4, 1, 2])
    per_conversation = {c.conversation.conversation_id: 0 for c in cases}
    for case in cases:
        per_conversation[case.conversation.conversation_id] += 1
    sample = examples_of(cases, limit=9, seed=7)
    assert sample is not None
    assert sample.decision_points == sum(per_conversation[c] for c in sample.conversations) <= 9
    assert sample.of_conversations == 10 and sample.of_decision_points == len(cases) == 23
    assert sample == examples_of(cases, limit=9, seed=7)
    assert any(examples_of(cases, limit=9, seed=s) != sample for s in range(1, 6))
    assert sample.describe() == (f"{len(sample.conversations)} of 10 conversations "
                                 f"({sample.decision_points} of 23 decision points)")


def test_a_conversation_longer_than_the_limit_is_still_one_example() -> None:
    sample = examples_of(cases_of([4, 4]), limit=3, seed=0)
    assert sample is not None and len(sample.conversations) == 1 and sample.decision_points == 4
