"""Killing `chatbot-evals run` mid-replay: SIGTERM/SIGINT close its MLflow runs as KILLED in one line;
after kill -9 the next run of the experiment closes what was left RUNNING. Real subprocesses, real store."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from builders import conversation
from mlflow.tracking import MlflowClient

from evals.tracking import HOST_TAG, PID_TAG
from loopback.server import LoopbackServer, ServerConfig

SLOW = ServerConfig(latency_s=0.5)  # one reply at a time, 0.5 s each: 20 chats keep the run busy ~10 s


def dataset(tmp: Path, n: int = 20) -> Path:
    convs = [conversation(f"c{i:03d}", turns=[("customer", f"Where is my order {i}?"), ("agent", "Let me check.")])
             for i in range(n)]
    path = tmp / "chats.jsonl"
    path.write_text("".join(json.dumps(c.model_dump(exclude_none=True)) + "\n" for c in convs), encoding="utf-8")
    return path


def start(tmp: Path, *overrides: str) -> subprocess.Popen:
    env = {**os.environ, "SIGNALS_KEY": "k"}
    cmd = [sys.executable, "-m", "evals.cli", "run", "dataset=file", f"dataset.path={tmp / 'chats.jsonl'}",
           "scorer=[escalation]", "replay.cache=null", "aggregate.bootstrap=0",
           f"tracking.uri=sqlite:///{tmp}/mlflow.db", f"tracking.artifact_root={tmp}/artifacts", *overrides]
    return subprocess.Popen(cmd, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=deliverable_signals)


def deliverable_signals() -> None:
    """The child starts as from a shell: SIGINT and SIGTERM at their defaults and not blocked. An ignored or
    blocked disposition is inherited across exec, and libraries earlier tests ran in this process (process
    pools, Ray's driver) may leave one behind; the run must be tested as a user starts it."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


def start_slow(tmp: Path, url: str) -> subprocess.Popen:
    return start(tmp, "variant=[openai]", f"variant.openai.base_url={url}", "variant.openai.model=m",
                 "variant.openai.api_key_env=SIGNALS_KEY", "variant.openai.limits.concurrency=1")


def wait_mid_replay(proc: subprocess.Popen, server: LoopbackServer) -> None:
    """Until the bot has been asked once: the parent run is open and the replay is under way."""
    deadline = time.time() + 60
    while server.total_requests < 1 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None and server.total_requests >= 1, proc.stderr.read() if proc.stderr else ""


def runs(tmp: Path) -> list:
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp}/mlflow.db")
    return client.search_runs([client.get_experiment_by_name("chatbot-evals").experiment_id])


def interrupt(tmp_path: Path, signum: int) -> tuple[int, str]:
    dataset(tmp_path)
    with LoopbackServer(SLOW) as server:
        proc = start_slow(tmp_path, server.openai_url)
        wait_mid_replay(proc, server)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
        assert server.total_requests < 20  # stopped mid-run, not after it
    return proc.returncode, err


def test_sigterm_ends_the_run_as_killed_with_one_line(tmp_path: Path, new_store) -> None:
    new_store(tmp_path)  # where start() logs
    code, err = interrupt(tmp_path, signal.SIGTERM)
    [parent] = runs(tmp_path)
    assert code == 143
    assert parent.info.status == "KILLED"
    assert err.strip().splitlines()[-1] == f"interrupted by SIGTERM; MLflow run {parent.info.run_id} ended as KILLED"
    assert "Traceback" not in err


def test_sigint_ends_the_run_as_killed_with_one_line(tmp_path: Path, new_store) -> None:
    new_store(tmp_path)
    code, err = interrupt(tmp_path, signal.SIGINT)
    [parent] = runs(tmp_path)
    assert code == 130
    assert parent.info.status == "KILLED"
    assert err.strip().splitlines()[-1] == f"interrupted by SIGINT; MLflow run {parent.info.run_id} ended as KILLED"
    assert "Traceback" not in err


def test_after_kill_9_the_next_run_closes_the_orphan(tmp_path: Path, new_store) -> None:
    new_store(tmp_path)
    dataset(tmp_path)
    with LoopbackServer(SLOW) as server:
        killed = start_slow(tmp_path, server.openai_url)
        wait_mid_replay(killed, server)
        killed.kill()
        killed.wait()
    [orphan] = runs(tmp_path)
    assert orphan.info.status == "RUNNING" and orphan.data.tags[PID_TAG] == str(killed.pid)
    assert orphan.data.tags[HOST_TAG]

    follow_up = start(tmp_path, "variant=[rules]")
    _, err = follow_up.communicate(timeout=60)
    assert follow_up.returncode == 0, err[-2000:]
    assert f"note: ended 1 MLflow run(s) left RUNNING by a killed process as KILLED: {orphan.info.run_id}" in err
    status = {r.info.run_id: r.info.status for r in runs(tmp_path)}
    assert status.pop(orphan.info.run_id) == "KILLED"
    assert set(status.values()) == {"FINISHED"}  # the follow-up's parent and variant runs
