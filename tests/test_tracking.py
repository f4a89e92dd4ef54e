import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from tests_paths import ROOT

from evals.tracking import (
    HOST_TAG,
    PID_TAG,
    REDACTED,
    STARTED_TAG,
    Tracker,
    _alive,
    _create_experiment,
    _owner_tags,
    _process_started,
    close_orphans,
    flatten,
)
from evals.tracking import (
    masked as redact,
)


def test_secret_looking_keys_never_reach_params_or_the_logged_config() -> None:
    config = {"variant": {"bot": {"api_key": "sk-live-123", "api_key_env": "MY_BOT_KEY", "base_url": "http://x",
                                  "headers": {"Authorization": "Bearer abc"}}},
              "tracking": {"token": None}, "seed": 0}
    flat = flatten(config)
    assert flat["variant.bot.api_key"] == REDACTED
    assert flat["variant.bot.headers.Authorization"] == REDACTED
    assert flat["variant.bot.base_url"] == "http://x" and flat["seed"] == "0"
    assert flat["tracking.token"] == "None"  # nothing to hide
    assert flat["variant.bot.api_key_env"] == "MY_BOT_KEY"  # names the variable, holds no secret
    assert "sk-live-123" not in str(flat) and "Bearer abc" not in str(redact(config))


def test_a_token_count_is_no_secret_but_a_token_string_is() -> None:
    flat = flatten({"judge": {"max_tokens": 400, "session_tokens": "abc-secret"}})
    assert flat["judge.max_tokens"] == "400"
    assert flat["judge.session_tokens"] == REDACTED


def test_long_values_are_cut_to_mlflow_limit() -> None:
    assert len(flatten({"prompt": "x" * 10_000})["prompt"]) == 6000


# --- runs end KILLED, orphans of killed processes are closed, no network -----------------------

SOCKET_GUARD = '''\
"""Loaded first by every Python in the test: records and blocks any connection off this machine."""
import ipaddress
import os
import socket


def _local(host):
    if host in (None, "", "localhost"):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _deny(what):
    with open(os.environ["NET_GUARD_LOG"], "a") as log:
        log.write(what + "\\n")
    raise OSError(f"network blocked by the test guard: {what}")


def _guarded(original):
    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
            _deny(f"connect {address}")
        return original(self, address)
    return connect


_resolve = socket.getaddrinfo


def _getaddrinfo(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if not _local(name):
        _deny(f"resolve {name}")
    return _resolve(host, *args, **kwargs)


socket.socket.connect = _guarded(socket.socket.connect)
socket.socket.connect_ex = _guarded(socket.socket.connect_ex)
socket.getaddrinfo = _getaddrinfo
'''


def guarded_env(tmp: Path, **extra: str) -> dict[str, str]:
    """A user's shell: no CI or pytest markers (MLflow keeps telemetry off under those), the guard loaded."""
    guard = tmp / "guard"
    guard.mkdir(exist_ok=True)
    (guard / "sitecustomize.py").write_text(SOCKET_GUARD, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in _mlflow_ci_markers()
           and k not in ("MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK")}
    return {**env, "PYTHONPATH": os.pathsep.join([str(guard), str(ROOT)]), "HOME": str(tmp),
            "NET_GUARD_LOG": str(tmp / "network.log"), **extra}


def _mlflow_ci_markers() -> set[str]:
    import inspect

    from mlflow.telemetry import utils
    return {name for name in re.findall(r'"([A-Z_]+)"', inspect.getsource(utils._is_ci_env_or_testing))}


def attempts(tmp: Path) -> list[str]:
    log = tmp / "network.log"
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def test_the_default_job_opens_no_connection_off_this_machine(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "evals.cli", "run", "sample.conversations=1", "variant=[rules]",
                           f"tracking.uri=sqlite:///{tmp_path}/mlflow.db", f"tracking.artifact_root={tmp_path}/art"],
                          cwd=tmp_path, env=guarded_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "MLflow run" in proc.stderr
    assert attempts(tmp_path) == []


def telemetry_probe(tmp: Path, wait_s: float) -> str:
    """Import the adapter, say whether MLflow built a telemetry client, start a run, wait for its traffic."""
    return (f"import os, time, evals.tracking, mlflow\n"
            f"from mlflow.telemetry import get_telemetry_client\n"
            f"print(get_telemetry_client() is not None)\n"  # decided when mlflow is imported
            f"mlflow.set_tracking_uri('sqlite:///{tmp}/mlflow.db')\n"
            f"with mlflow.start_run():\n    pass\n"
            f"deadline = time.time() + {wait_s}\n"
            f"while time.time() < deadline and not os.path.exists('{tmp}/network.log'):\n"
            f"    time.sleep(0.1)\n")


def test_mlflow_telemetry_is_off_unless_the_user_turns_it_on(tmp_path: Path) -> None:
    off = subprocess.run([sys.executable, "-c", telemetry_probe(tmp_path, 0)], env=guarded_env(tmp_path),
                         capture_output=True, text=True, timeout=120)
    assert off.returncode == 0, off.stderr[-2000:]
    assert off.stdout.strip() == "False" and attempts(tmp_path) == []
    # the user's opt-in is honoured, and the guard sees telemetry reach off the machine (so it would catch it)
    on = subprocess.run([sys.executable, "-c", telemetry_probe(tmp_path, 20)],
                        env=guarded_env(tmp_path, MLFLOW_DISABLE_TELEMETRY="false"),
                        capture_output=True, text=True, timeout=120)
    assert on.returncode == 0, on.stderr[-2000:]
    assert on.stdout.strip() == "True"
    assert attempts(tmp_path) != []


def test_an_interrupt_inside_a_variant_run_ends_it_and_its_parent_as_killed(tmp_path: Path, monkeypatch,
                                                                             new_store) -> None:
    tracker = Tracker(new_store(tmp_path), "signals", str(tmp_path / "art"))

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(mlflow, "log_table", interrupted)
    table = pd.DataFrame({"case_id": ["a"], "reply": ["hi"]})
    with pytest.raises(KeyboardInterrupt) as caught:
        with tracker.experiment_run("parent", {"seed": 0}, {}) as parent_id:
            tracker.log_variant("bot", {"seed": 0}, {"m": 1.0}, table, table, "d", "d.jsonl", {})
    client = mlflow.MlflowClient(tracking_uri=tracker.uri)
    status = {r.info.run_name: r.info.status for r in client.search_runs([tracker.experiment_id])}
    assert status == {"parent": "KILLED", "bot": "KILLED"}
    assert caught.value.killed_run == parent_id  # type: ignore[attr-defined]
    assert mlflow.active_run() is None


def test_only_runs_of_dead_processes_on_this_host_are_closed(tmp_path: Path, new_store) -> None:
    tracker = Tracker(new_store(tmp_path), "orphans", str(tmp_path / "art"))
    client = mlflow.MlflowClient(tracking_uri=tracker.uri)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    host, me = socket.gethostname(), os.getpid()
    started = _process_started(me)
    owners = {
        "dead": {PID_TAG: str(gone.pid), HOST_TAG: host},
        "alive": {PID_TAG: str(me), HOST_TAG: host, STARTED_TAG: str(started)},
        "pid reused": {PID_TAG: str(me), HOST_TAG: host, STARTED_TAG: "1"},
        "other host": {PID_TAG: str(gone.pid), HOST_TAG: host + "-elsewhere"},
        "untagged": {},
    }
    ids = {name: client.create_run(tracker.experiment_id, run_name=name, tags=tags).info.run_id
           for name, tags in owners.items()}
    finished = client.create_run(tracker.experiment_id, run_name="done", tags=owners["dead"]).info.run_id
    client.set_terminated(finished, "FINISHED")

    closed = close_orphans(tracker.experiment_id)

    assert sorted(closed) == sorted([ids["dead"], ids["pid reused"]])
    status = {r.info.run_name: r.info.status for r in client.search_runs([tracker.experiment_id])}
    assert status == {"dead": "KILLED", "pid reused": "KILLED", "alive": "RUNNING", "other host": "RUNNING",
                      "untagged": "RUNNING", "done": "FINISHED"}


def test_each_run_records_its_process() -> None:
    tags = _owner_tags()
    assert tags[PID_TAG] == str(os.getpid()) and tags[HOST_TAG] == socket.gethostname()
    assert _alive(os.getpid(), tags.get(STARTED_TAG))


def _race_on_first_link(monkeypatch, tracker: Tracker, error: str) -> list[str]:
    """The first link fails as MLflow fails when another process inserted the same dataset meanwhile."""
    real, calls = mlflow.log_input, []

    def racing(dataset, context=None, **kwargs):
        calls.append(context)
        if len(calls) == 1:
            other = mlflow.MlflowClient(tracking_uri=tracker.uri).create_run(tracker.experiment_id).info.run_id
            mlflow.MlflowClient(tracking_uri=tracker.uri).log_inputs(
                other, [mlflow.entities.DatasetInput(dataset._to_mlflow_entity())])
            raise mlflow.exceptions.MlflowException(error)
        return real(dataset, context=context, **kwargs)

    monkeypatch.setattr(mlflow, "log_input", racing)
    return calls


def test_a_dataset_logged_by_another_process_at_the_same_moment_is_linked_not_an_error(
        tmp_path: Path, monkeypatch, new_store) -> None:
    tracker = Tracker(new_store(tmp_path), "race", str(tmp_path / "art"))
    calls = _race_on_first_link(monkeypatch, tracker, "BAD_REQUEST: (psycopg.errors.UniqueViolation) duplicate key "
                                "value violates unique constraint \"dataset_pk\" DETAIL: Key (...) already exists.")
    table = pd.DataFrame({"case_id": ["a"], "reply": ["hi"]})
    with tracker.experiment_run("parent", {"seed": 0}, {}):
        run_id = tracker.log_variant("bot", {"seed": 0}, {"m": 1.0}, table, table, "shared", "d.jsonl", {})
    assert len(calls) == 2
    client = mlflow.MlflowClient(tracking_uri=tracker.uri)
    linked = client.get_run(run_id).inputs.dataset_inputs
    assert [d.dataset.name for d in linked] == ["shared"]
    others = [r for r in client.search_runs([tracker.experiment_id]) if r.info.run_name not in ("parent", "bot")]
    assert [d.dataset.digest for d in others[0].inputs.dataset_inputs] == [linked[0].dataset.digest]


def test_any_other_failure_to_link_the_dataset_is_raised(tmp_path: Path, monkeypatch, new_store) -> None:
    tracker = Tracker(new_store(tmp_path), "race", str(tmp_path / "art"))
    calls = _race_on_first_link(monkeypatch, tracker, "RESOURCE_DOES_NOT_EXIST: run gone")
    table = pd.DataFrame({"case_id": ["a"], "reply": ["hi"]})
    with pytest.raises(mlflow.exceptions.MlflowException, match="run gone"):
        with tracker.experiment_run("parent", {"seed": 0}, {}):
            tracker.log_variant("bot", {"seed": 0}, {"m": 1.0}, table, table, "shared", "d.jsonl", {})
    assert len(calls) == 1


def test_an_experiment_made_by_another_process_after_the_lookup_is_used(tmp_path: Path, new_store) -> None:
    client = mlflow.MlflowClient(tracking_uri=new_store(tmp_path))
    theirs = client.create_experiment("shared")
    assert _create_experiment(client, "shared") == theirs
    assert _create_experiment(client, "mine") == client.get_experiment_by_name("mine").experiment_id


def test_the_newest_parent_run_is_found_behind_a_page_of_newer_nested_runs_of_the_same_name(tmp_path: Path,
                                                                                            new_store) -> None:
    from evals.tracking import find_run

    tracker = Tracker(new_store(tmp_path), "pages", str(tmp_path / "art"))
    client = mlflow.MlflowClient(tracking_uri=tracker.uri)
    parent = client.create_run(tracker.experiment_id, run_name="rules", start_time=1_000).info.run_id
    client.set_terminated(parent, "FINISHED")
    for i in range(60):  # newer variant runs called "rules", nested under another parent
        child = client.create_run(tracker.experiment_id, run_name="rules", start_time=2_000 + i,
                                  tags={"mlflow.parentRunId": "elsewhere"}).info.run_id
        client.set_terminated(child, "FINISHED")
    assert find_run(tracker.uri, "pages", name="rules") == parent
    assert find_run(tracker.uri, "pages", name="nothing") is None


def test_reply_traces_reach_the_store_with_every_assessment_as_it_was_made(tmp_path: Path, new_store) -> None:
    from test_reply_traces import JUDGE, result

    from evals.reply_traces import reply_traces
    from evals.tracking import _log_traces

    tracker = Tracker(new_store(tmp_path), "traces", str(tmp_path / "art"))
    client = mlflow.MlflowClient(tracking_uri=tracker.uri)
    with tracker.experiment_run("traced", {}, {}):
        with mlflow.start_run(experiment_id=tracker.experiment_id, run_name="bot", nested=True) as run:
            _log_traces(reply_traces(result(), "bot", [f"c{i}#0" for i in range(6)]))
    stored = {t.data.spans[0].attributes["case_id"]: t
              for t in client.search_traces(locations=[tracker.experiment_id], run_id=run.info.run_id)}
    assert sorted(stored) == [f"c{i}#0" for i in range(6)]
    missed = {a.name: a for a in stored["c3#0"].info.assessments}
    assert missed["escalation"].feedback.value == 0.0 and missed["escalation"].rationale == "missed: should hand off"
    assert missed["escalation"].source.source_type == "CODE"
    judged, expected = missed["judge_empathy"], missed["should_escalate"]
    assert judged.source.source_type == "LLM_JUDGE" and judged.source.source_id == JUDGE
    assert expected.expectation.value is True and expected.source.source_type == "CODE"
    assert missed["expected_response"].source.source_type == "HUMAN"
    assert {a.name: a.source.source_type for a in stored["c1#0"].info.assessments}["should_escalate"] == "HUMAN"
    unscored = {a.name: a for a in stored["c5#0"].info.assessments}["judge_empathy"]
    assert unscored.feedback.value is None and unscored.feedback.error.error_message == "no reply"
    assert all(a.trace_id == t.info.trace_id for t in stored.values() for a in t.info.assessments)


def test_a_store_path_nobody_can_make_is_one_line_naming_it(tmp_path: Path) -> None:
    from evals.errors import UserError

    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder", encoding="utf-8")
    uri = f"sqlite:///{blocker}/runs/mlflow.db"
    with pytest.raises(UserError) as raised:  # a traceback from MLflow's engine set-up, before
        Tracker(uri, "chatbot-evals")
    assert str(raised.value) == (f"tracking.uri {uri}: cannot make the store's folder {blocker}/runs (Not a "
                                 "directory); give a writable place, e.g. tracking.uri=sqlite:///runs/mlflow.db")
    with pytest.raises(UserError, match=r"cannot make the store's folder .*a_file \(a file is in the way\)"):
        Tracker(f"sqlite:///{blocker}/mlflow.db", "chatbot-evals")
