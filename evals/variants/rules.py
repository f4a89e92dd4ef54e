"""A rules bot: canned replies by topic; hands off on explicit requests for a person and on
configured risky topics. The kind of bot many teams ship first, and a floor to beat."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from evals.types import Answer, Case, Inquiry


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

    def prepare(self, cases: Sequence[Case]) -> None:
        pass

    async def respond(self, inquiry: Inquiry) -> Answer:
        message = inquiry.last_message
        if self._person and (m := self._person.search(message)):
            return Answer(self._handoff, True, f"asked for a person: {m.group(0)!r}")
        for topic, pattern in self._risky.items():
            if pattern and (m := pattern.search(message)):
                return Answer(self._handoff, True, f"risky topic {topic}: {m.group(0)!r}")
        for topic, pattern, reply in self._topics:
            if pattern and pattern.search(message):
                return Answer(reply, False, f"topic {topic}")
        return Answer(self._fallback, False, "no rule matched")
