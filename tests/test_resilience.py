"""The engine under faults, kills and secrets, against a real loopback server."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from builders import conversation
from mlflow.tracking import MlflowClient
from shared_embeddings import share_embeddings
from tests_paths import PROMPT

from evals.cache import ReplyCache
from evals.load import build_cases
from evals.memory import Memory
from evals.replay import replay_sync
from evals.variants.openai_chat import OpenAIChatBot
from loopback.server import Faults, LoopbackServer, ServerConfig, planned_fault

CONTENT = ["text", "escalated", "note", "prompt_tokens", "completion_tokens"]


def chats(n: int) -> list:
    return [conversation(f"c{i:04d}", turns=[("customer", f"Question number {i}: where is my order {i}?"),
                                             ("agent", "Let me check.")]) for i in range(n)]


def bot(url: str, **limits) -> OpenAIChatBot:
    os.environ["RESILIENCE_KEY"] = "resilience-key"
    return OpenAIChatBot("bot", model="m", system_prompt=str(PROMPT), base_url=url, api_key_env="RESILIENCE_KEY",
                         limits={"concurrency": 16, "backoff_s": 0.01, "max_backoff_s": 0.05, **limits})


def content(replies) -> list[tuple]:
    return [tuple(getattr(r, f) for f in CONTENT) for r in replies]


def test_faults_are_retried_and_results_match_a_clean_run() -> None:
    cases = build_cases(chats(120))
    with LoopbackServer(ServerConfig()) as clean:
        variant = bot(clean.openai_url)
        variant.prepare(Memory.from_cases(cases))
        expected = replay_sync(variant, cases)
    faults = Faults(fail_rate=0.2, hang_rate=0.05, hang_s=3.0, retry_after_s=0.01)
    with LoopbackServer(ServerConfig(faults=faults)) as server:
        variant = bot(server.openai_url, timeout_s=0.5)
        variant.prepare(Memory.from_cases(cases))
        replies = replay_sync(variant, cases)
        attempts = server.attempts
    assert all(r.error is None for r in replies) and len(replies) == len(cases)
    assert content(replies) == content(expected)
    planned = {key: planned_fault(key, 1, faults) for key in attempts}
    assert {"429", "500", "hang"} <= set(planned.values())  # every kind of fault was exercised
    faulted = [k for k, p in planned.items() if p]
    assert 0.15 * len(cases) < len(faulted) < 0.35 * len(cases)
    # exactly one retry for a faulted request, none for the rest: no duplicate calls
    assert all(attempts[k] == (2 if planned[k] else 1) for k in attempts)
    assert len(attempts) == len(cases)


def test_errors_after_retries_are_recorded_not_raised() -> None:
    cases = build_cases(chats(10))
    with LoopbackServer(ServerConfig(faults=Faults(fail_rate=1.0))) as server:
        variant = bot(server.openai_url, max_retries=0)
        variant.prepare(Memory.from_cases(cases))
        replies = replay_sync(variant, cases)
    assert all(r.error and r.error.startswith("Retryable: HTTP") for r in replies)


def test_cache_serves_a_rerun_without_calls_and_a_new_prompt_misses(tmp_path: Path) -> None:
    cases = build_cases(chats(30))
    cache = ReplyCache(tmp_path / "cache.sqlite")
    with LoopbackServer(ServerConfig()) as server:
        variant = bot(server.openai_url)
        variant.prepare(Memory.from_cases(cases))
        first = replay_sync(variant, cases, cache=cache)
        calls = server.total_requests
        again = replay_sync(variant, cases, cache=cache)
        assert server.total_requests == calls == 30
        assert all(r.cached for r in again) and content(again) == content(first)
        assert [r.latency_s for r in again] == [r.latency_s for r in first]
        variant.prompt += "\nAlways be brief."
        replay_sync(variant, cases, cache=cache)
        assert server.total_requests == 60


def write_dataset(path: Path, convs: list) -> Path:
    path.write_text("".join(json.dumps(c.model_dump(exclude_none=True)) + "\n" for c in convs), encoding="utf-8")
    return path


def job(tmp: Path, data: Path, url: str, cache: Path, *extra: str, key: str = "resilience-key") -> subprocess.Popen:
    env = {**os.environ, "RESILIENCE_KEY": key}
    cmd = [sys.executable, "-m", "evals.cli", "run", "dataset=file", f"dataset.path={data}", "variant=[openai]",
           "scorer=[escalation,accuracy]", f"variant.openai.base_url={url}", "variant.openai.model=m",
           "variant.openai.api_key_env=RESILIENCE_KEY", "variant.openai.limits.concurrency=4",
           f"replay.cache={cache}", f"tracking.uri=sqlite:///{tmp}/mlflow.db",
           f"tracking.artifact_root={tmp}/artifacts", *extra]
    return subprocess.Popen(cmd, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def final_table(tmp: Path) -> pd.DataFrame:
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp}/mlflow.db")
    experiment = client.get_experiment_by_name("chatbot-evals")
    runs = [r for r in client.search_runs([experiment.experiment_id]) if r.info.run_name == "openai"]
    latest = max(runs, key=lambda r: r.info.start_time)
    path = client.download_artifacts(latest.info.run_id, "replies.parquet", str(tmp))
    return pd.read_parquet(path).set_index("case_id").sort_index()


def test_a_killed_run_resumes_with_exactly_the_remaining_calls(tmp_path: Path, embeddings: Path, new_store) -> None:
    new_store(tmp_path)  # where job() logs
    share_embeddings(tmp_path, embeddings)  # the accuracy scorer's vectors; the replies are what is compared
    data = write_dataset(tmp_path / "chats.jsonl", chats(150))
    with LoopbackServer(ServerConfig(latency_s=0.02)) as server:
        first = job(tmp_path, data, server.openai_url, tmp_path / "cache.sqlite")
        deadline = time.time() + 120
        while server.total_requests < 50 and time.time() < deadline and first.poll() is None:
            time.sleep(0.01)
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert first.returncode == -signal.SIGKILL
        cached = len(ReplyCache(tmp_path / "cache.sqlite"))
        assert 0 < cached < 150
        before = server.total_requests
        resumed = job(tmp_path, data, server.openai_url, tmp_path / "cache.sqlite")
        _, err = resumed.communicate(timeout=300)
        assert resumed.returncode == 0, err[-2000:]
        assert server.total_requests - before == 150 - cached  # exactly what was not finished
        resumed_table = final_table(tmp_path)

        clean_dir = share_embeddings(tmp_path / "clean", embeddings)
        new_store(clean_dir)
        clean = job(clean_dir, data, server.openai_url, clean_dir / "cache.sqlite")
        _, err = clean.communicate(timeout=300)
        assert clean.returncode == 0, err[-2000:]
    clean_table = final_table(clean_dir)
    columns = ["reply", "escalated", "prompt_tokens", "completion_tokens", "escalation", "accuracy"]
    pd.testing.assert_frame_equal(resumed_table[columns], clean_table[columns])
    assert resumed_table["cached"].sum() == cached


def test_the_api_key_never_lands_in_runs_the_store_or_the_logs(tmp_path: Path, new_store) -> None:
    new_store(tmp_path)
    secret = "sk-test-9f8e7d6c5b4a-do-not-log"
    data = write_dataset(tmp_path / "chats.jsonl", chats(5))
    with LoopbackServer(ServerConfig()) as server:
        proc = job(tmp_path, data, server.openai_url, tmp_path / "runs" / "cache.sqlite", key=secret)
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        assert secret in server.tokens_seen  # it was used ...
    assert secret not in out + err  # ... but never printed,
    leaks = [p for p in tmp_path.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
    assert leaks == []  # nor written to the store, artifacts, cache or Hydra's logs


def test_redaction_keeps_pii_from_reaching_the_server(tmp_path: Path, new_store) -> None:
    new_store(tmp_path)
    pii = {"card": "4111 1111 1111 1111", "email": "maria.silva@example.com", "phone": "+44 20 7946 0958",
           "iban": "DE89 3704 0044 0532 0130 00"}
    convs = [conversation(f"p{i}", turns=[("customer", f"My {kind} is {value}, please help"), ("agent", "ok")])
             for i, (kind, value) in enumerate(pii.items())]
    data = write_dataset(tmp_path / "pii.jsonl", convs)
    with LoopbackServer(ServerConfig()) as server:
        proc = job(tmp_path, data, server.openai_url, tmp_path / "cache.sqlite", "variant.openai.redact_pii=true")
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        received = json.dumps(server.received)
    for value in pii.values():
        assert value not in received and value.replace(" ", "") not in received
    assert "[CARD]" in received and "[EMAIL]" in received and "[PHONE]" in received and "[IBAN]" in received
    table = final_table(tmp_path)
    assert {"pii_card", "pii_email", "pii_phone", "pii_iban"} <= set(table.columns)
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    run = next(r for r in client.search_runs([client.get_experiment_by_name("chatbot-evals").experiment_id])
               if r.info.run_name == "openai")
    metrics = run.data.metrics
    assert metrics["pii_card"] == metrics["pii_email"] == metrics["pii_phone"] == metrics["pii_iban"] == 1
    assert metrics["prompt_tokens"] == table["prompt_tokens"].sum() > 0  # usage summed per variant
    assert metrics["completion_tokens"] == table["completion_tokens"].sum() > 0
    assert metrics["latency_p50_s"] > 0 and metrics["errors"] == 0
    assert "cost_usd" not in metrics  # model "m" has no price: unknown, not 0
    assert int(table[["pii_card", "pii_email", "pii_phone", "pii_iban"]].to_numpy().sum()) == 4


@pytest.mark.parametrize("setting", ["auto"])
def test_redaction_is_off_by_default_on_loopback(setting: str) -> None:
    variant = bot("http://127.0.0.1:9/v1")
    assert variant.redactor is None and OpenAIChatBot(
        "x", model="m", system_prompt=str(PROMPT), base_url="https://api.example.com/v1").redactor is not None
