"""Fixtures shared across test folders."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import ray_cluster


@pytest.fixture(scope="session")
def ray_head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real Ray head on loopback for the session (starting one takes ~15 s): its address."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAY_USAGE_STATS_ENABLED", "0")  # drivers that join it report nothing either
        with ray_cluster.ray_head(tmp_path_factory.mktemp("ray_head")) as address:
            yield address
