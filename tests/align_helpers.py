"""A judge that worked cases can change, and a small evaluated run with people's labels, for the
alignment tests (tests/review/test_align.py, tests/commands/review/test_align.py).

The judge is a real OpenAI-compatible HTTP server on 127.0.0.1 (stdlib, one thread). Without worked
cases in the system prompt it grades empathy by the reply's LENGTH; with them (mode "learns") it grades
the way the people below do, by the empathy phrases in the reply; in mode "ignores" it never changes.
This tests the mechanics only: whether examples help a real model is measured per team, on their labels.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
from builders import conversation
from tests_paths import ROOT

from evals.results import EvalResult, scores_frame
from evals.scorers.judge_empathy import EmpathyJudge
from evals.types import Case, Reply

RUBRIC = ROOT / "evals" / "scorers" / "rubrics" / "empathy.yaml"
PHRASES = ("I'm sorry", "I understand how frustrating", "thank you for your patience", "I can imagine")


def people_grade(text: str) -> int:
    """How the reviewers grade: one point per empathy phrase, on top of 1."""
    return 1 + sum(p in text for p in PHRASES)


def length_grade(text: str) -> int:
    """How the judge grades without worked cases: longer is 'warmer'."""
    return 1 + min(4, len(text) // 70)


class AlignJudgeServer:
    """`with AlignJudgeServer("learns") as judge:` -> judge.url (an OpenAI base URL), judge.systems."""

    def __init__(self, mode: str = "learns") -> None:
        self.mode = mode
        self.systems: list[str] = []  # every system prompt received
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                system, user = body["messages"][0]["content"], body["messages"][1]["content"]
                outer.systems.append(system)
                reply = json.loads(user.split("\n", 1)[1])["reply"]["text"]
                learned = outer.mode == "learns" and "<worked_cases>" in system
                score = people_grade(reply) if learned else length_grade(reply)
                verdict = {"rationale": f"graded by {'phrases' if learned else 'length'}", "score": score}
                answer = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                                     "choices": [{"index": 0, "finish_reason": "stop", "message": {
                                         "role": "assistant", "content": json.dumps(verdict)}}],
                                     "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})
                data = answer.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> AlignJudgeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def judge_settings(url: str) -> dict[str, Any]:
    return {"model": "judge-model", "base_url": url, "api_key_env": None,  # the test server needs no key
            "limits": {"backoff_s": 0.001, "max_backoff_s": 0.01, "timeout_s": 5}}


def build_run(folder: Path, url: str, conversations: int = 44, seed: int = 3) -> tuple[Path, Path, Path]:
    """An evaluated run (results folder) whose judge_empathy verdicts came from the server, its dataset
    file, and people's labels (two reviewers, one a point off now and then, some replies adjudicated).

    Replies mix 0-4 empathy phrases with unrelated padding, so their length says nothing of their
    phrases: the length-grading judge and the people disagree, and worked cases can fix that."""
    rng = random.Random(seed)
    convs, replies = [], []
    for c in range(conversations):
        turns = [("customer", f"My order {c} is late again, this is the third time."),
                 ("agent", "Let me check."),
                 ("customer", "Can you refund the delivery fee?"), ("agent", "Yes.")]
        conv = conversation(f"conv{c:02d}", turns=turns)
        convs.append(conv)
        for ref in conv.references:
            phrases = rng.sample(PHRASES, rng.randint(0, 4))
            padding = " ".join(["We will look into the delivery route and the depot schedule."] * rng.randint(0, 4))
            text = " ".join([*phrases, padding, "Your refund is on its way."]).strip()
            replies.append((Case(conv, ref.turn, ref), Reply(f"{conv.conversation_id}#{ref.turn}", "bot", text,
                                                             False, 0.1)))
    dataset = folder / "conversations.jsonl"
    dataset.write_text("".join(json.dumps(c.model_dump(mode="json", exclude_none=True)) + "\n" for c in convs))

    settings = judge_settings(url)
    judge = EmpathyJudge("judge_empathy", rubric=str(RUBRIC), judge=settings)
    judge.prepare(None)
    scores = asyncio.run(judge.score_many([c for c, _ in replies], [r for _, r in replies]))
    table = pd.DataFrame([{"variant": r.variant, "case_id": r.case_id, "turn": c.turn_index,
                           "conversation_id": c.conversation.conversation_id, "reply": r.text,
                           "escalated": r.escalated, "error": None} for c, r in replies])
    config = {"scorer": {"judge_empathy": {
        "_target_": "evals.scorers.judge_empathy.EmpathyJudge", "rubric": str(RUBRIC),
        "judge": {**settings, "max_tokens": "***"}, "repeats": 1, "languages": None}},
        "dataset": {"name": "synthetic", "path": str(dataset)}, "replay": {"view": "agent"}}
    manifest = {"variants": ["bot"], "scorers": {"judge_empathy": judge.version}, "config": config,
                "dataset": {"name": "synthetic", "source": str(dataset)}}
    result = EvalResult(table, scores_frame(scores, {c.case_id: c.conversation.conversation_id for c, _ in replies}),
                        pd.DataFrame({"variant": ["bot"]}), pd.DataFrame({"variant": ["bot"]}), manifest)
    results = folder / "run" / "results"
    result.save(results)

    rows = []
    for i, (_, r) in enumerate(replies):
        grade = people_grade(r.text)
        second = min(5, max(1, grade + (rng.choice((-1, 1)) if rng.random() < 0.2 else 0)))
        rows.append({"case_id": r.case_id, "variant": "bot", "criterion": "empathy", "reviewer": "ana", "label": grade})
        rows.append({"case_id": r.case_id, "variant": "bot", "criterion": "empathy", "reviewer": "ben",
                     "label": second, **({"note": "counts the phrases"} if i % 5 == 0 else {})})
        if second != grade and i % 2:
            rows.append({"case_id": r.case_id, "variant": "bot", "criterion": "empathy", "reviewer": "adjudicated",
                         "label": grade, "note": "owner: each sincere phrase counts"})
    labels = folder / "labels.jsonl"
    labels.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return results, dataset, labels
