"""Fixtures shared across test folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import ray_cluster


@pytest.fixture(scope="session")
def ray_head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real Ray head on loopback for the session (starting one takes ~15 s): its address."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAY_USAGE_STATS_ENABLED", "0")  # drivers that join it report nothing either
        # One auth mode for the head and every driver: a local ray.init() elsewhere on this machine (Ray >= 2.5x
        # turns token auth on for those) leaves ~/.ray/auth_token, which some Ray processes then pick up and
        # others do not, and the drivers are refused (InvalidAuthToken). This head is on loopback for one session.
        patch.setenv("RAY_AUTH_MODE", "disabled")
        with ray_cluster.ray_head(tmp_path_factory.mktemp("ray_head")) as address:
            yield address


@pytest.fixture(scope="session")
def embeddings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's embedding cache file (see shared_embeddings.py); jobs link to it, the first creates it."""
    return tmp_path_factory.mktemp("embeddings") / "embeddings.sqlite"
