"""The replay's handling of the cyclic garbage collector (evals/replay.py)."""

import gc
from collections.abc import Iterator

import pytest
from builders import conversation

from evals.load import build_cases
from evals.memory import Memory
from evals.replay import replay_sync
from evals.types import Answer, Inquiry


class Freezes:
    """A variant that records how many objects are frozen while it answers."""

    name = "freezes"

    def __init__(self) -> None:
        self.frozen_while_answering: list[int] = []

    def prepare(self, memory: Memory) -> None:
        pass

    async def respond(self, inquiry: Inquiry) -> Answer:
        self.frozen_while_answering.append(gc.get_freeze_count())
        return Answer("ok", False)


@pytest.fixture
def nothing_frozen() -> Iterator[None]:
    gc.unfreeze()  # earlier in-process CLI runs in this test process freeze what they leave
    yield
    gc.unfreeze()


def test_objects_are_frozen_during_the_replay_and_handed_back_after(nothing_frozen: None) -> None:
    variant = Freezes()
    replay_sync(variant, build_cases([conversation("a"), conversation("b")]))
    assert variant.frozen_while_answering and min(variant.frozen_while_answering) > 0
    assert gc.get_freeze_count() == 0


def test_objects_a_caller_froze_stay_frozen(nothing_frozen: None) -> None:
    """The CLI freezes its imports once; the replay must not hand them back to every later collection."""
    gc.freeze()
    assert gc.get_freeze_count() > 0
    replay_sync(Freezes(), build_cases([conversation("a")]))
    assert gc.get_freeze_count() > 0  # an unfreeze empties the frozen set (frozen objects may still die)
