"""The main job with `shards.count=2`: the same MLflow metrics as the unsharded job, and a bad shards key is
one line naming the key and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from test_locate import run_job, uri

from evals.errors import UserError


def test_a_sharded_job_logs_what_the_unsharded_job_logs(tmp_path: Path) -> None:
    whole = run_job(tmp_path, "whole")
    sharded = run_job(tmp_path, "sharded", "shards.count=2", "shards.chunk=3", "run_name=sharded")
    client = MlflowClient(uri(tmp_path))
    for variant in ("human", "rules"):
        mine = client.get_run(sharded.variant_run_ids[variant]).data.metrics
        theirs = client.get_run(whole.variant_run_ids[variant]).data.metrics
        same = {k: v for k, v in theirs.items() if "latency" not in k}
        assert {k: mine[k] for k in same} == same
    sharding = sharded.result.manifest["sharding"]
    assert (sharding["shards"], sharding["engine"], sharding["chunk"]) == (2, "local", 3)
    assert set(sharding["seconds"]) == {"plan", "shards", "merge"}
    assert len(sharding["peak_rss_mb"]["shards"]) == 2 and sharding["peak_rss_mb"]["driver"] > 50
    assert client.get_run(sharded.parent_run_id).info.status == "FINISHED"


def test_a_bad_shards_key_is_one_line(tmp_path: Path) -> None:
    allowed = r"\(allowed: one of local, joblib, ray\)"
    with pytest.raises(UserError, match=rf"shards.engine: 'spark' is not allowed {allowed}"):
        run_job(tmp_path, "bad", "shards.count=2", "shards.engine=spark")
