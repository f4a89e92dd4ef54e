"""Shared by the sharding tests: small multi-turn conversations, a bot that counts what it was asked, and
the harness's own rules and human variants and offline scorers, built from the shipped config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from builders import conversation
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from evals.config import CONFIG_DIR, register_resolvers
from evals.types import Answer, Conversation, Inquiry


def chats(n: int = 30) -> list[Conversation]:
    """n conversations of one to three customer turns; every third asks for a person."""
    out = []
    for i in range(n):
        turns = []
        for t in range(1 + i % 3):
            ask = "I want to talk to a human agent now" if (i + t) % 3 == 0 else f"Where is parcel {i}-{t}?"
            turns += [("customer", ask), ("agent", f"Let me check parcel {i}-{t} for you.")]
        out.append(conversation(f"c{i:03d}", turns=turns, should_escalate=i % 3 == 0))
    return out


def write(path: Path, convs: list[Conversation]) -> Path:
    path.write_text("".join(json.dumps(c.model_dump(exclude_none=True)) + "\n" for c in convs), encoding="utf-8")
    return path


def components(variants: tuple[str, ...] = ("human", "rules"),
               scorers: tuple[str, ...] = ("escalation", "human_access")) -> tuple[list[Any], list[Any]]:
    """Fresh variants and scorers from the shipped config (each run gets its own objects)."""
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["output_dir=unused"])
    return ([instantiate(cfg.variant[v], name=v) for v in variants],
            [instantiate(cfg.scorer[s], name=s) for s in scorers])


class CountingBot:
    """Answers every inquiry, remembering which; with `stop_after`, the process 'dies' (SystemExit, which
    no bot failure handler catches) when asked one more."""

    name = "counting"
    concurrency = 1

    def __init__(self, stop_after: int | None = None) -> None:
        self.asked: list[str] = []
        self.stop_after = stop_after

    def prepare(self, memory: Any) -> None:
        pass

    async def respond(self, inquiry: Inquiry) -> Answer:
        if self.stop_after is not None and len(self.asked) >= self.stop_after:
            raise SystemExit("killed")
        self.asked.append(inquiry.case_id)
        return Answer("Let me check that for you.", "human" in inquiry.last_message)


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Null as None whatever pandas reads it as, and a fresh index: to compare tables by content."""
    return frame.astype(object).where(frame.notna(), None).reset_index(drop=True)
