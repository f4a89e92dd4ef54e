"""The loopback server (loopback/server.py) as a process of its own, for the benchmarks that call it over HTTP."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    """The server answering after `latency` seconds, keeping no request bodies; and its base URL
    (`/v1` for the OpenAI-compatible API, `/bot` for the team-bot contract)."""
    server = subprocess.Popen([sys.executable, "-m", "loopback.server", "--latency", str(latency), "--no-record"],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    line = server.stdout.readline().strip() if server.stdout else ""
    if not line.startswith("READY "):
        server.kill()
        raise SystemExit(f"loopback server did not start: {line!r}")
    return server, line.split()[1]
