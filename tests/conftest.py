"""Fixtures shared across test folders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import ray_cluster
from stores import copy_store


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


@pytest.fixture(scope="session")
def store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow store, made once by the installed MLflow (its ~60 schema migrations take seconds)."""
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("store_template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()  # creates and migrates the tables
    return path


@pytest.fixture()
def new_store(store_template: Path) -> Callable[..., str]:
    """`new_store(folder, name="mlflow.db")`: a copy of the empty store in `folder`, as a tracking URI.

    Tests that are about a store being made (or not made) leave this out: the quick start, the wheel, the
    default job, and every "no store is created" check make theirs from nothing."""
    return lambda folder, name="mlflow.db": copy_store(store_template, folder, name)
