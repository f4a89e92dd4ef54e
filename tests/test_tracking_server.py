"""A team's tracking server: a real `mlflow server` on PostgreSQL that keeps the artifacts itself.

PostgreSQL comes from EVALS_TEST_POSTGRES, a URI of a role that may create databases (`.ci/run` starts a
throwaway cluster on loopback and sets it). Without it, or without the server's driver (psycopg), the tests
skip with the reason, except under CI (the CI variable set), where that is a failure: CI must prove it works.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from mlflow.tracking import MlflowClient

from evals.config import CONFIG_DIR, register_resolvers
from evals.tracking import artifact_location, load_results

POSTGRES_VARIABLE = "EVALS_TEST_POSTGRES"
# Small and deterministic: the same sample and seed give the same metrics in every process.
# (The accuracy scorer's embedding model would triple the time and tell nothing about the server.)
JOB = ["variant=[human,rules]", "scorer=[escalation]", "sample.conversations=5", "tracking.traces=1",
       "replay.cache=null", "aggregate.bootstrap=200"]
LOCAL_STORES = ("mlruns", "mlartifacts")  # what MLflow writes when artifacts go to the client's own disk


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the tracking server test may not be skipped; .ci/run starts PostgreSQL)")
    pytest.skip(f"{reason}; `.ci/run` shows how to start a throwaway PostgreSQL and set {POSTGRES_VARIABLE}")


def _admin_uri() -> str:
    uri = os.environ.get(POSTGRES_VARIABLE)
    if not uri:
        _unavailable(f"{POSTGRES_VARIABLE} is not set (postgresql://role@127.0.0.1:PORT/postgres)")
    try:
        import psycopg  # noqa: F401  (the server's driver: postgresql+psycopg://)
    except ImportError:
        _unavailable("psycopg is not installed (pip install 'psycopg[binary]')")
    return uri  # type: ignore[return-value]


def _admin_sql(admin_uri: str, statement: str) -> None:
    import psycopg

    plain = urlparse(admin_uri)._replace(scheme="postgresql").geturl()  # libpq knows no +driver
    with psycopg.connect(plain, autocommit=True, connect_timeout=10) as connection:  # CREATE DATABASE: no transaction
        connection.execute(statement)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Server:
    url: str
    artifacts: Path  # --artifacts-destination: where the server, not the client, keeps artifacts


def _wait_for_health(url: str, process: subprocess.Popen, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"mlflow server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"mlflow server did not answer {url}/health in {timeout_s:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`mlflow server` on a fresh PostgreSQL database and a free loopback port, serving artifacts from a tmp folder."""
    admin = _admin_uri()
    database = f"evals_test_{uuid.uuid4().hex[:12]}"
    _admin_sql(admin, f"CREATE DATABASE {database}")
    backend = urlparse(admin)._replace(scheme="postgresql+psycopg", path=f"/{database}").geturl()
    home = tmp_path_factory.mktemp("server")
    artifacts, log = home / "artifacts", home / "server.log"
    url = f"http://127.0.0.1:{_free_port()}"
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend,
               "--artifacts-destination", str(artifacts), "--serve-artifacts",
               "--host", "127.0.0.1", "--port", url.rsplit(":", 1)[1], "--workers", "1"]  # one: quicker to start
    with log.open("w") as out:
        # its own process group: the server's uvicorn workers stop with it
        process = subprocess.Popen(command, cwd=home, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                   env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"})
    try:
        _wait_for_health(url, process, log, timeout_s=120)
        yield Server(url, artifacts)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)  # uvicorn's graceful shutdown waits on idle keep-alive connections
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        _admin_sql(admin, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def _stray_local_stores(folder: Path) -> list[Path]:
    return [p for name in LOCAL_STORES for p in folder.rglob(name)]


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def _artifact_paths(client: MlflowClient, run_id: str, path: str | None = None) -> set[str]:
    found = set()
    for item in client.list_artifacts(run_id, path):
        found |= _artifact_paths(client, run_id, item.path) if item.is_dir else {item.path}
    return found


def _timeless(metrics: dict[str, float]) -> dict[str, float]:
    """Metrics that two runs of the same job must agree on: all but the measured latencies."""
    return {k: v for k, v in metrics.items() if "latency" not in k}


def _runs(client: MlflowClient, experiment: str) -> tuple[list, list]:
    found = client.get_experiment_by_name(experiment)
    assert found is not None and found.artifact_location.startswith("mlflow-artifacts:"), found
    runs = client.search_runs([found.experiment_id])
    return ([r for r in runs if "mlflow.parentRunId" not in r.data.tags],
            [r for r in runs if "mlflow.parentRunId" in r.data.tags])


def test_a_run_from_one_folder_is_read_back_from_another_through_the_server(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from evals import experiment

    register_resolvers()
    client_folder, elsewhere = tmp_path / "client", tmp_path / "elsewhere"
    client_folder.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(client_folder)
    # the default local choice's artifact_root (runs/mlartifacts) too: a server URI must override it
    overrides = [*JOB, f"tracking.uri={server.url}", "experiment=from-one-folder", f"output_dir={client_folder}/out"]
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    assert cfg.tracking.artifact_root == "runs/mlartifacts"
    done = experiment.run(cfg)

    assert _stray_local_stores(client_folder) == []
    kept = _files(server.artifacts)
    assert any(p.name == "replies.parquet" for p in kept) and any(p.name == "report.html" for p in kept)

    monkeypatch.chdir(elsewhere)
    _, result = load_results(server.url, done.parent_run_id)
    assert result.variants == ["human", "rules"]
    assert result.manifest["dataset"]["conversations"] == 5
    assert len(result.replies) == len(done.result.replies) > 0
    client = MlflowClient(tracking_uri=server.url)
    for variant, run_id in done.variant_run_ids.items():
        table = pd.read_parquet(client.download_artifacts(run_id, "replies.parquet", str(elsewhere)))
        assert len(table) == len(result.replies) // 2, variant
        assert "escalation.f1" in client.get_run(run_id).data.metrics, variant
    assert _stray_local_stores(elsewhere) == []


def test_two_processes_at_once_lose_nothing(server: Server, tmp_path: Path) -> None:
    folders = [tmp_path / "a", tmp_path / "b"]
    jobs = []
    for folder in folders:
        folder.mkdir()
        jobs.append(subprocess.Popen(
            [sys.executable, "-m", "evals.cli", "run", *JOB, "tracking=server", f"tracking.uri={server.url}",
             "experiment=two-at-once"], cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = [job.communicate(timeout=300) for job in jobs]
    for job, (_, err) in zip(jobs, outputs, strict=True):
        assert job.returncode == 0, err[-3000:]
        assert f"open the results: open {server.url}" in err and "mlflow ui" not in err

    client = MlflowClient(tracking_uri=server.url)
    parents, children = _runs(client, "two-at-once")
    assert len(parents) == 2 and len(children) == 4
    assert {r.info.status for r in parents + children} == {"FINISHED"}
    # the same data and seed in both processes: every metric and artifact of one is in the other, equal
    by_parent = {p.info.run_id: {c.info.run_name: c for c in children
                                 if c.data.tags["mlflow.parentRunId"] == p.info.run_id} for p in parents}
    first, second = (by_parent[p.info.run_id] for p in parents)
    assert set(first) == set(second) == {"human", "rules"}
    for name in first:
        assert set(first[name].data.metrics) == set(second[name].data.metrics) >= {"escalation.f1", "replies"}
        assert _timeless(first[name].data.metrics) == _timeless(second[name].data.metrics)
        assert _artifact_paths(client, first[name].info.run_id) == _artifact_paths(client, second[name].info.run_id)
        assert {"replies.parquet", "replies.json", "config.yaml"} <= _artifact_paths(client, first[name].info.run_id)
    assert _timeless(parents[0].data.metrics) == _timeless(parents[1].data.metrics)
    parent_files = [_artifact_paths(client, p.info.run_id) for p in parents]
    assert parent_files[0] == parent_files[1] and "report/report.html" in parent_files[0]
    for parent in parents:
        _, result = load_results(server.url, parent.info.run_id)
        assert result.variants == ["human", "rules"]
    for folder in folders:
        assert _stray_local_stores(folder) == []


def test_a_folder_artifact_root_is_left_to_the_server_and_a_uri_is_kept(tmp_path: Path) -> None:
    assert artifact_location("http://mlflow.internal:5000", "runs/mlartifacts") is None
    assert artifact_location("https://mlflow.internal", str(tmp_path)) is None
    assert artifact_location("http://mlflow.internal:5000", "s3://team/mlflow") == "s3://team/mlflow"
    assert artifact_location("http://mlflow.internal:5000", "file:///shared/mlflow") == "file:///shared/mlflow"
    assert artifact_location(f"sqlite:///{tmp_path}/m.db", str(tmp_path / "art")) == (tmp_path / "art").as_uri()
    assert artifact_location(f"sqlite:///{tmp_path}/m.db", None) is None
