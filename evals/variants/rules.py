"""A rules bot: canned replies by topic; hands off on explicit requests for a person and on
configured risky topics. The kind of bot many teams ship first, and a floor to beat.

Its hand-off decision is its own rule, like an explicit flag; `handoff_kind` is what its canned
reply reads as (evals.handoff), for the per-reply table."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from evals.handoff import HandoffDetector
from evals.memory import Memory
from evals.types import Answer, Inquiry


def _compile(patterns: Sequence[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE) if patterns else None


class RulesBot:
    def __init__(
        self,
        name: str,
        person_requests: Sequence[str],
        risky_topics: Mapping[str, Sequence[str]],
        topics: Mapping[str, Mapping[str, object]],
        fallback_reply: str,
        handoff_reply: str,
    ) -> None:
        """`topics` maps a topic to {patterns: [...], reply: "..."}; the first match answers."""
        self.name = name
        self._person = _compile(person_requests)
        self._risky = {t: _compile(p) for t, p in risky_topics.items()}
        self._topics = [(t, _compile(list(spec["patterns"])), str(spec["reply"]))  # type: ignore[call-overload]
                        for t, spec in topics.items()]
        self._fallback = fallback_reply
        self._handoff = handoff_reply
        self._detector = HandoffDetector()
        self._kinds: dict[str, str] = {}  # canned reply -> its reading, read once

    def prepare(self, memory: Memory) -> None:
        pass

    async def respond(self, inquiry: Inquiry) -> Answer:
        message = inquiry.last_message
        if self._person and (m := self._person.search(message)):
            return Answer(self._handoff, True, f"asked for a person: {m.group(0)!r}", handoff_kind="handoff")
        for topic, pattern in self._risky.items():
            if pattern and (m := pattern.search(message)):
                return Answer(self._handoff, True, f"risky topic {topic}: {m.group(0)!r}", handoff_kind="handoff")
        for topic, pattern, reply in self._topics:
            if pattern and pattern.search(message):
                return self._kept(reply, f"topic {topic}", inquiry.language)
        return self._kept(self._fallback, "no rule matched", inquiry.language)

    def _kept(self, reply: str, note: str, language: str) -> Answer:
        if reply not in self._kinds:
            self._kinds[reply] = self._detector.classify(reply, language).kind
        return Answer(reply, False, note, handoff_kind=self._kinds[reply])
