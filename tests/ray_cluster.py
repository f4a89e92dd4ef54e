"""A real Ray head on loopback for the tests that need a cluster (the Ray launcher, sharded runs on Ray).

Without Ray (the `sweeps` extra) such a test is skipped with the reason, except under CI (the CI variable
set), where it fails: CI must prove the cluster really runs.
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

RAY = Path(sys.executable).with_name("ray")


def require_plugin(module: str, package: str) -> None:
    if importlib.util.find_spec(module) is None:
        reason = f"{package} is not installed"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so the launcher test may not be skipped)")
        pytest.skip(f"{reason}; install with `pip install -e '.[sweeps]'`")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def ray_head(folder: Path) -> Iterator[str]:
    """A Ray head on loopback, started in `folder` (so its workers start elsewhere than a sweep), stopped after.
    Only this head's own processes are ended (its process group), never another Ray on the machine."""
    require_plugin("hydra_plugins.hydra_ray_launcher", "hydra-ray-launcher")
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "ray.log"
    with log.open("w") as out:
        head = subprocess.Popen(
            [str(RAY), "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
             "--include-dashboard=false", "--disable-usage-stats", f"--dashboard-port={free_port()}",
             f"--ray-client-server-port={free_port()}"],
            cwd=folder, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})  # no usage report over the network
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
