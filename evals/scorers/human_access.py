"""Could the customer reach a person? Per reply, and per conversation.

`human_access` (per reply): when the customer's turn asks for a person (evals.handoff's
`asks_for_human`), the reply must hand off or offer one; otherwise it is a
`refused_human_request`. Labels: no_request | honoured | refused_human_request; `refused_rate` =
refused / requests, `request_rate` = requests / replies. Value: 0 refused, else 1 (a reply with no
request to honour refused nothing; it is not "unscored"), so the mean is the share of replies that
refused no one: read `refused_rate` for the requests themselves.

`human_access_conversation` (one score per conversation, on its last decision point): did any
reply hand off (`reply.escalated`), and had the customer asked for a person by then? Labels:
reached_after_asking | reached_unasked | asked_not_reached | not_reached; `reached_rate` = reached /
conversations, `asked_first_rate` = reached after asking / reached, `unmet_request_rate` = asked and
never reached / asked.

Replies of the variants listed in `people` (default: `human`, the agents' own replies) come from a
person: a customer answered by one has reached a person, so a request is honoured and the
conversation reached a person at its first reply.

The customer's words are read as the customer wrote them (`Turn.text` of the conversation, not the
agent-view translation), with the conversation's `language`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from evals.types import Case, Ratio, Reply, Score, Turn
from evals.variants.handoff_policy import Reader, make_reader

NO_REQUEST = "no_request"
HONOURED = "honoured"
REFUSED = "refused_human_request"

REACHED_AFTER_ASKING = "reached_after_asking"
REACHED_UNASKED = "reached_unasked"
ASKED_NOT_REACHED = "asked_not_reached"
NOT_REACHED = "not_reached"


def _asked(reader: Reader, case: Case, turn: Turn) -> str | None:
    return reader.asks_for_human(turn.text, case.conversation.language) if turn.text.strip() else None


class HumanAccessScorer:
    ratios = {
        "refused_rate": Ratio({REFUSED: 1}, {REFUSED: 1, HONOURED: 1}, direction="lower",
                              counts="turns where the customer asked for a person", label="refused a person ↓"),
        "request_rate": Ratio({REFUSED: 1, HONOURED: 1}, {REFUSED: 1, HONOURED: 1, NO_REQUEST: 1},
                              direction="neither", counts="scored replies"),
    }

    label, direction = "", "neither"  # the mean is the share of turns honoured; the ratios say more

    def __init__(self, name: str = "human_access", reader: str | Reader | None = None,
                 people: Sequence[str] = ("human",)) -> None:
        """`reader`: 'package.module:Class' reading hand-off language instead of evals.handoff;
        `people`: variants whose replies are written by people."""
        self.name = name
        self.reader = make_reader(reader)
        self.people = tuple(people)

    def score(self, case: Case, reply: Reply) -> Score:
        def verdict(value: float, label: str | None, why: str) -> Score:
            return Score(case.case_id, reply.variant, self.name, value, label, why)

        if reply.error:
            return verdict(math.nan, None, f"no reply to score ({reply.error})")
        asked = _asked(self.reader, case, case.conversation.turns[case.turn_index])
        if asked is None:
            return verdict(1.0, NO_REQUEST, "the customer did not ask for a person")
        if reply.variant in self.people:
            return verdict(1.0, HONOURED, f"the customer asked for a person ({asked!r}); a person answered "
                           f"(variant '{reply.variant}' is listed in people)")
        if reply.escalated or reply.handoff_kind in ("handoff", "offer"):
            did = "offered one" if reply.handoff_kind == "offer" and not reply.escalated else "handed off"
            return verdict(1.0, HONOURED, f"the customer asked for a person ({asked!r}); the reply {did}")
        did = {"redirect": "pointed to another channel", "refusal": "refused"}.get(reply.handoff_kind,
                                                                                  "neither handed off nor offered one")
        return verdict(0.0, REFUSED, f"the customer asked for a person ({asked!r}); the reply {did}")


class HumanAccessConversationScorer:
    """Scores whole conversations, so it sees all of a variant's replies at once (`score_many`)."""

    ratios = {
        "reached_rate": Ratio({REACHED_AFTER_ASKING: 1, REACHED_UNASKED: 1},
                              {REACHED_AFTER_ASKING: 1, REACHED_UNASKED: 1, ASKED_NOT_REACHED: 1, NOT_REACHED: 1},
                              direction="neither", counts="conversations", label="reached a person"),
        "asked_first_rate": Ratio({REACHED_AFTER_ASKING: 1}, {REACHED_AFTER_ASKING: 1, REACHED_UNASKED: 1},
                                  direction="neither", counts="conversations that reached a person"),
        "unmet_request_rate": Ratio({ASKED_NOT_REACHED: 1}, {ASKED_NOT_REACHED: 1, REACHED_AFTER_ASKING: 1},
                                    direction="lower", counts="conversations where the customer asked for a person",
                                    label="asked, never reached ↓"),
    }

    label, direction = "", "neither"

    def __init__(self, name: str = "human_access_conversation", reader: str | Reader | None = None,
                 people: Sequence[str] = ("human",)) -> None:
        self.name = name
        self.reader = make_reader(reader)
        self.people = tuple(people)

    def score(self, case: Case, reply: Reply) -> Score:
        """One reply alone: the conversation as far as this decision point."""
        return self.score_conversation([case], [reply])

    async def score_many(self, cases: Sequence[Case], replies: Sequence[Reply],
                         on_score: Callable[[], None] | None = None) -> list[Score]:
        by_conversation: dict[str, list[tuple[Case, Reply]]] = {}
        for case, reply in zip(cases, replies):
            by_conversation.setdefault(case.conversation.conversation_id, []).append((case, reply))
        scores = []
        for pairs in by_conversation.values():
            pairs.sort(key=lambda p: p[0].turn_index)
            scores.append(self.score_conversation([c for c, _ in pairs], [r for _, r in pairs]))
            if on_score is not None:
                for _ in pairs:
                    on_score()
        return scores

    def score_conversation(self, cases: Sequence[Case], replies: Sequence[Reply]) -> Score:
        """`cases` of one conversation in turn order; the score sits on the last of them."""
        last, variant = cases[-1], replies[-1].variant

        def verdict(value: float, label: str | None, why: str) -> Score:
            return Score(last.case_id, variant, self.name, value, label, why)

        answered = [(c, r) for c, r in zip(cases, replies) if not r.error]
        if not answered:
            return verdict(math.nan, None, "no reply to score (every reply failed)")
        failed = f"; {len(cases) - len(answered)} failed replies left out" if len(answered) < len(cases) else ""
        by_person = variant in self.people
        reached = answered[0][0] if by_person else next((c for c, r in answered if r.escalated), None)
        until = reached.turn_index if reached is not None else answered[-1][0].turn_index
        asked = self._first_request(last, until)
        if reached is not None:
            where = (f"a person answered from turn {reached.turn_index} (variant '{variant}' is listed in people)"
                     if by_person else f"a reply handed off at turn {reached.turn_index}")
            if asked is not None:
                return verdict(1.0, REACHED_AFTER_ASKING,
                               f"{where}, after the customer asked at turn {asked[0]} ({asked[1]!r}){failed}")
            return verdict(1.0, REACHED_UNASKED, f"{where}, without the customer asking{failed}")
        if asked is not None:
            return verdict(0.0, ASKED_NOT_REACHED, f"the customer asked for a person at turn {asked[0]} "
                           f"({asked[1]!r}); no reply handed off{failed}")
        return verdict(0.0, NOT_REACHED, f"no reply handed off; the customer did not ask for a person{failed}")

    def _first_request(self, case: Case, until: int) -> tuple[int, str] | None:
        """The first customer turn up to `until` that asks for a person, and its words."""
        for index, turn in enumerate(case.conversation.turns[: until + 1]):
            if turn.role == "customer" and (words := _asked(self.reader, case, turn)) is not None:
                return index, words
        return None
