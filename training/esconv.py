"""Read ESConv's strategy-labelled supporter turns (thu-coai/Emotional-Support-Conversation).

Each line of `{dev,test}WithStrategy_short.tsv` is a window of one conversation; segments are
separated by ` EOS ` and read `<float> <speaker> <turn index> [<Strategy>] <text>`, speaker 1 being
the supporter, who labelled each of their own turns with a strategy while chatting. The same turn
appears in several windows, so turns are keyed by conversation and turn index. Conversations are not
numbered in the file: a window whose last turn index is lower than the previous window's starts a new
one (the files list each conversation's windows in order).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_SEGMENT = re.compile(r"\s*[\d.]+ ([01]) (\d+) (?:\[([^\]]+)\] )?(.*)$", re.S)


@dataclass(frozen=True)
class SupporterTurn:
    conversation: str  # file stem and ordinal, e.g. "dev-17"
    turn: int
    strategy: str
    text: str
    seeker_before: str  # the help seeker's last words before this turn ("" at the start)


def read_turns(path: Path) -> list[SupporterTurn]:
    conversations: list[dict[int, tuple[int, str | None, str]]] = []
    previous_last = -1
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        segments = []
        for raw in line.split(" EOS "):
            match = _SEGMENT.match(raw)
            if match is None:
                raise ValueError(f"{path}: line {line_no}: unreadable segment {raw[:60]!r}")
            speaker, turn, strategy, text = match.groups()
            segments.append((int(turn), int(speaker), strategy, " ".join(text.split())))
        last = max(turn for turn, *_ in segments)
        if not conversations or last < previous_last:
            conversations.append({})
        previous_last = last
        for turn, speaker, strategy, text in segments:
            conversations[-1][turn] = (speaker, strategy, text)
    turns: list[SupporterTurn] = []
    for number, conversation in enumerate(conversations):
        seeker = ""
        for turn in sorted(conversation):
            speaker, strategy, text = conversation[turn]
            if speaker == 0:
                seeker = text
            elif strategy and text:
                turns.append(SupporterTurn(f"{path.stem.split('With')[0]}-{number}", turn, strategy, text, seeker))
    return turns


def distinct(turns: list[SupporterTurn]) -> list[SupporterTurn]:
    """One row per (text, strategy): greetings such as 'Hello' recur across conversations."""
    seen: set[tuple[str, str]] = set()
    out = []
    for t in turns:
        if (t.text, t.strategy) not in seen:
            seen.add((t.text, t.strategy))
            out.append(t)
    return out
