"""Sweeps on existing engines: Hydra's joblib launcher (parallel jobs on one machine) and the Ray launcher against
a real Ray head on loopback, each ending with every job's run in MLflow and one sweep summary.

Without the plugins (the `sweeps` extra) a test is skipped with the reason, except under CI (the CI variable
set), where it fails: CI must prove the launchers really run.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_experiment import run_job, runs_of

SMALL = ("variant=[rules]", "scorer=[escalation]", "sample.conversations=5", "seed=0,1")  # two jobs
RAY = Path(sys.executable).with_name("ray")


def require_plugin(module: str, package: str) -> None:
    if importlib.util.find_spec(module) is None:
        reason = f"{package} is not installed"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so the launcher test may not be skipped)")
        pytest.skip(f"{reason}; install with `pip install -e '.[sweeps]'`")


def assert_two_jobs_and_one_summary(tmp_path: Path, *launcher: str) -> None:
    _, client = run_job(tmp_path, "--multirun", *launcher, *SMALL)
    parents, children = runs_of(client)
    jobs = [p for p in parents if p.info.run_name != "sweep summary"]
    assert sorted(p.data.params["seed"] for p in jobs) == ["0", "1"]
    assert [c.info.run_name for c in children] == ["rules", "rules"]
    assert all(p.info.status == "FINISHED" for p in parents)
    [summary] = [p for p in parents if p.info.run_name == "sweep summary"]
    assert "| job | seed | variant | hand-off F1 |" in summary.data.tags["mlflow.note.content"]
    folders = {Path(p.data.params["output_dir"]) for p in jobs}
    [sweep_dir] = {f.parent for f in folders}  # both jobs wrote under the launching folder's sweep dir
    assert sweep_dir.is_relative_to(tmp_path) and (sweep_dir / "sweep_summary.md").is_file()
    assert all((f / "results" / "manifest.json").is_file() for f in folders)


def test_joblib_runs_the_jobs_in_parallel_processes(tmp_path: Path) -> None:
    require_plugin("hydra_plugins.hydra_joblib_launcher", "hydra-joblib-launcher")
    assert_two_jobs_and_one_summary(tmp_path, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def ray_head(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A Ray head on loopback, started in its own folder (so its workers start elsewhere than the sweep), stopped
    after. Only this head's own processes are ended (its process group), never another Ray on the machine."""
    require_plugin("hydra_plugins.hydra_ray_launcher", "hydra-ray-launcher")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")  # no usage report over the network
    port = free_port()
    folder = tmp_path / "ray_head"
    folder.mkdir()
    log = folder / "ray.log"
    with log.open("w") as out:
        head = subprocess.Popen(
            [str(RAY), "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
             "--include-dashboard=false", "--disable-usage-stats", f"--dashboard-port={free_port()}",
             f"--ray-client-server-port={free_port()}"],
            cwd=folder, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while "Ray runtime started" not in log.read_text():
            assert head.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        time.sleep(3)  # the GCS and raylet exit on SIGTERM; what is left of the group (ray start itself) is killed
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGKILL)
        head.wait(timeout=30)


def test_ray_runs_the_jobs_on_a_real_local_cluster(tmp_path: Path, ray_head: str) -> None:
    assert_two_jobs_and_one_summary(tmp_path, "hydra/launcher=ray", f"hydra.launcher.ray.init.address={ray_head}")
