"""Helpers of the call-layer tests (tests/calls): a bot, an HTTP bot and the four judges, quickly retried."""

from __future__ import annotations

import asyncio

from tests_paths import PROMPT, ROOT

from evals.scorers.judge_accuracy import AccuracyJudge
from evals.scorers.judge_empathy import EmpathyJudge
from evals.scorers.judge_escalation import EscalationJudge
from evals.scorers.judge_pairwise import PairwiseJudge
from evals.variants.http_bot import HttpBot
from evals.variants.openai_chat import OpenAIChatBot

KEY = "sk-test-0123456789abcdefDoNotLeak"
FAST = {"backoff_s": 0.001, "max_backoff_s": 0.01, "timeout_s": 5}
RUBRICS = ROOT / "evals" / "scorers" / "rubrics"
POLICY = ROOT / "datasets" / "wmt24_chat" / "handoff_policy.md"
JUDGES = {"judge_empathy": (EmpathyJudge, "empathy"), "judge_accuracy": (AccuracyJudge, "accuracy"),
          "judge_escalation": (EscalationJudge, "escalation"), "judge_pairwise": (PairwiseJudge, "pairwise")}


def openai_bot(url: str, **kw) -> OpenAIChatBot:
    limits = {**FAST, **kw.pop("limits", {})}
    return OpenAIChatBot("bot", model="m", system_prompt=str(PROMPT), base_url=url, api_key_env="CALLS_KEY",
                         limits=limits, **kw)


def http_bot(url: str, **kw) -> HttpBot:
    limits = {**FAST, **kw.pop("limits", {})}
    return HttpBot("team", url=url, header_env={"Authorization": "CALLS_BEARER"}, limits=limits, **kw)


def judge(name: str, url: str, **judge_kw):
    cls, rubric = JUDGES[name]
    extra = {"policy_path": str(POLICY)} if rubric == "escalation" else {}
    config = {"model": "judge-model", "base_url": url, "api_key_env": "CALLS_KEY",
              "limits": {**FAST, **judge_kw.pop("limits", {})}, **judge_kw}
    return cls(name, rubric=str(RUBRICS / f"{rubric}.yaml"), judge=config, **extra)


def ask(variant, c):
    """One inquiry through a prepared variant, closing its client in the same loop."""
    async def once():
        try:
            return await variant.respond(c.inquiry())
        finally:
            await variant.aclose()

    return asyncio.run(once())


def judge_pairs(scorer, pairs):
    scorer.prepare(None)
    cases, replies = zip(*pairs)
    return asyncio.run(scorer.score_many(list(cases), list(replies)))

