"""The Python API: evaluate() without Hydra or MLflow, and the results folder it writes."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from builders import conversation

from evals.api import Settings, evaluate
from evals.errors import EndpointUnusable, NoReplyInData, UserError
from evals.memory import Memory
from evals.results import EvalResult
from evals.scorers.escalation import EscalationScorer
from evals.types import Answer, Case, Inquiry, Reply, Score

ROOT = Path(__file__).resolve().parents[1]


def chats(n: int = 12) -> list:
    return [conversation(f"c{i}", turns=[("customer", f"Question {i}: charged twice, mail me at a{i}@x.org"),
                                         ("agent", "I am sorry, I will refund it.")], should_escalate=i % 3 == 0)
            for i in range(n)]


class Echo:
    """Hands off on every third conversation; remembers what it was given beforehand."""

    def __init__(self, name: str = "echo", fail: set[str] = frozenset(), missing: set[str] = frozenset(),
                 delay: float = 0.0) -> None:
        self.name, self.fail, self.missing, self.delay = name, fail, missing, delay
        self.memory: Memory | None = None

    def prepare(self, memory: Memory) -> None:
        self.memory = memory

    async def respond(self, inquiry: Inquiry) -> Answer:
        await asyncio.sleep(self.delay)
        if inquiry.conversation_id in self.fail:
            raise RuntimeError("the bot fell over")
        if inquiry.conversation_id in self.missing:
            raise NoReplyInData("nothing logged here")
        index = int(inquiry.conversation_id[1:])
        return Answer(f"Reply to {inquiry.last_message}", escalated=index % 3 == 0)


def test_evaluate_scores_and_aggregates_and_the_folder_round_trips(tmp_path: Path) -> None:
    result = evaluate(chats(), [Echo(), Echo("again")], [EscalationScorer()], Settings(bootstrap=100))
    f1 = result.summary.set_index(["variant", "metric"]).loc[("echo", "escalation.f1")]
    assert f1["value"] == 1.0 and f1["n"] == 4  # 4 should-escalate points, all handed off
    assert set(result.differences["baseline"]) == {"echo"} and set(result.differences["variant"]) == {"again"}
    definitions = {m["name"]: m for m in result.metrics}
    assert definitions["escalation.missed_rate"]["direction"] == "lower"
    assert definitions["escalation.recall"]["counts"] == "decision points that should hand off"
    assert result.scorer_versions["escalation"].startswith("offline:")
    assert result.manifest["dataset"]["decision_points"] == 12 and len(result.manifest["dataset"]["digest"]) == 64

    result.save(tmp_path / "r")
    back = EvalResult.load(tmp_path / "r")
    for name in ("replies", "scores", "summary", "differences"):  # same values; strings may load as `str`
        pd.testing.assert_frame_equal(getattr(back, name), getattr(result, name), check_dtype=False)
    assert back.manifest["metrics"] == result.metrics and back.baseline == "echo"
    assert back.wide().loc[0, "escalation_label"] == "correct_handoff"


def test_stored_texts_are_redacted_but_scorers_saw_them_whole() -> None:
    result = evaluate(chats(3), [Echo()], [EscalationScorer()], Settings(bootstrap=0))
    stored = " ".join(result.replies["inquiry"]) + " ".join(result.replies["reply"])
    assert "a0@x.org" not in stored and "[EMAIL]" in stored
    assert result.replies["stored_pii_email"].sum() == 6  # inquiry and the echoed reply, 3 times
    raw = evaluate(chats(3), [Echo()], [EscalationScorer()], Settings(bootstrap=0, redact_text=False))
    assert "a0@x.org" in raw.replies.loc[0, "inquiry"]


def test_bots_remember_transcripts_without_labels() -> None:
    bot = Echo()
    evaluate(chats(3), [bot], [EscalationScorer()], Settings(bootstrap=0))
    assert bot.memory is not None and len(bot.memory.conversations) == 3
    for past in bot.memory.cases():
        assert past.reference.should_escalate is None and past.reference.escalation_source is None
        assert past.reference.reply == "I am sorry, I will refund it."


def test_a_bot_that_cannot_start_stops_the_run_before_any_bot_is_asked() -> None:
    class Asked(Echo):
        calls = 0

        async def respond(self, inquiry: Inquiry) -> Answer:
            Asked.calls += 1
            return await super().respond(inquiry)

    class NoMemory(Echo):
        def prepare(self, memory: Memory) -> None:
            raise UserError("the retrieval bot has no past inquiry with a human reply to learn from")

    with pytest.raises(UserError, match="no past inquiry"):
        evaluate(chats(), [Asked("paid"), NoMemory("retrieval")], [EscalationScorer()], Settings(bootstrap=0))
    assert Asked.calls == 0  # no paid call is made for a run that cannot finish


def test_the_error_budget_counts_failures_of_the_bot_not_gaps_in_the_data() -> None:
    failing = Echo(fail={"c1", "c2"})
    result = evaluate(chats(), [failing], [EscalationScorer()], Settings(bootstrap=0, max_error_rate=0.1))
    assert len(result.problems) == 1
    assert result.problems[0].startswith("echo: 2 of 12 replies failed (17% > replay.max_error_rate 0.1)")
    assert "2x RuntimeError: the bot fell over" in result.problems[0]
    gaps = evaluate(chats(), [Echo(missing={"c1", "c2", "c4"})], [EscalationScorer()],
                    Settings(bootstrap=0, max_error_rate=0.1))
    assert gaps.problems == [] and gaps.replies["missing"].sum() == 3 and gaps.replies["error"].notna().sum() == 3


def test_an_unusable_endpoint_stops_the_evaluation() -> None:
    class Refused(Echo):
        async def respond(self, inquiry: Inquiry) -> Answer:
            raise EndpointUnusable("http://127.0.0.1:9/v1 refused the credentials (401)")

    with pytest.raises(EndpointUnusable, match="127.0.0.1:9"):
        evaluate(chats(), [Refused()], [EscalationScorer()], Settings(bootstrap=0))


def test_after_the_time_budget_no_inquiry_is_asked_and_none_is_lost() -> None:
    slow = Echo(delay=0.2)
    result = evaluate(chats(8), [slow], [EscalationScorer()], Settings(bootstrap=0, concurrency=1, time_budget_s=0.3))
    unasked = result.replies["error"].fillna("").str.contains("time budget")
    assert len(result.replies) == 8 and 4 <= unasked.sum() <= 7
    assert result.problems  # far above the error budget


class SlowJudge:
    """A judge-like scorer: async, one call per reply; records when each call happened."""

    name = "judge_x"
    ratios: dict = {}

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def score_reply(self, case: Case, reply: Reply) -> list[Score]:
        self.calls.append(time.monotonic())
        await asyncio.sleep(0.01)
        return [Score(case.case_id, reply.variant, self.name, 1.0, "5", "fine")]


class TimedEcho(Echo):
    """Echo that records when each reply was given."""

    def __init__(self, delay: float) -> None:
        super().__init__(delay=delay)
        self.answered: list[float] = []

    async def respond(self, inquiry: Inquiry) -> Answer:
        answer = await super().respond(inquiry)
        self.answered.append(time.monotonic())
        return answer


def test_judging_overlaps_the_replay() -> None:
    judge = SlowJudge()
    bot = TimedEcho(delay=0.05)
    result = evaluate(chats(10), [bot], [judge], Settings(bootstrap=0, concurrency=1))
    assert len(judge.calls) == 10 and result.scores["value"].eq(1.0).all()
    # Compared with the bot's own clock, not a deadline: a slow machine delays both alike.
    assert judge.calls[0] < bot.answered[-1]  # the first reply was judged before the last one was given
    assert sum(call < bot.answered[-1] for call in judge.calls) >= 5


def test_bad_arguments_are_one_line_errors() -> None:
    with pytest.raises(UserError, match="baseline 'nope' is not one of the variants"):
        evaluate(chats(), [Echo()], [EscalationScorer()], Settings(baseline="nope"))
    with pytest.raises(UserError, match="variant names must differ"):
        evaluate(chats(), [Echo(), Echo()], [EscalationScorer()])
    with pytest.raises(UserError, match="no decision point"):
        evaluate([conversation("x", turns=[("customer", "hello")])], [Echo()], [EscalationScorer()])


def test_the_api_runs_without_hydra_or_mlflow(tmp_path: Path) -> None:
    script = (
        "import sys, json\n"
        "import evals\n"
        "from evals.scorers.escalation import EscalationScorer\n"
        "from evals.variants.human import HumanVariant\n"
        f"result = evals.evaluate({str(ROOT / 'datasets/bitext/test.jsonl')!r}, [HumanVariant()],\n"
        "                         [EscalationScorer()], evals.Settings(bootstrap=50))\n"
        f"result.save({str(tmp_path / 'out')!r})\n"
        "print(json.dumps({'mlflow': 'mlflow' in sys.modules, 'hydra': 'hydra' in sys.modules,\n"
        "                  'rows': len(result.replies)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["mlflow"] is False and found["hydra"] is False and found["rows"] > 100
    assert EvalResult.load(tmp_path / "out").summary["value"].notna().any()
    assert not math.isnan(EvalResult.load(tmp_path / "out").summary["n"].sum())


def test_conversation_scorers_score_each_conversation_once() -> None:
    from evals.scorers.human_access import HumanAccessConversationScorer

    two_turns = [conversation(f"c{i}", turns=[("customer", "My parcel is late."), ("agent", "Sorry, checking."),
                                              ("customer", "Still nothing?"), ("agent", "It arrives today.")])
                 for i in range(4)]
    result = evaluate(two_turns, [Echo()], [HumanAccessConversationScorer()], Settings(bootstrap=0))
    assert len(result.replies) == 8 and len(result.scores) == 4  # one verdict per conversation, on its last turn
    reached = result.summary.set_index("metric").loc["human_access_conversation.reached_rate"]
    assert reached["n"] == 4
