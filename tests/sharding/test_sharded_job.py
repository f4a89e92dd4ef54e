"""The main job with `shards.count=2`: the same MLflow metrics as the unsharded job, and a bad shards key is
one line naming the key and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from test_locate import run_job, uri

from evals.errors import UserError
from evals.results import EvalResult


def test_a_sharded_job_logs_what_the_unsharded_job_logs(tmp_path: Path, new_store) -> None:
    new_store(tmp_path)  # at uri(tmp_path)
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


def test_beyond_shards_examples_the_tables_are_a_sample_and_the_counts_are_every_reply(tmp_path: Path,
                                                                                        new_store) -> None:
    new_store(tmp_path)
    done = run_job(tmp_path, "sampled", "shards.count=2", "shards.chunk=3", "shards.examples=5")
    client = MlflowClient(uri(tmp_path))
    everything = EvalResult.load(done.report_dir / "results")
    assert len(everything.replies) == 24  # 12 conversations x 2 variants stay in the results folder
    kept = set(done.result.replies["conversation_id"])
    assert len(kept) == 5 and kept < set(everything.replies["conversation_id"])
    assert len(done.result.scores) == 10 and set(done.result.scores["case_id"]) == set(done.result.replies["case_id"])
    pd.testing.assert_frame_equal(done.result.summary, everything.summary)  # metrics: every decision point
    tags = client.get_run(done.parent_run_id).data.tags
    assert tags["evals.examples"] == "5 of 12 conversations (5 of 12 decision points)"
    rules = client.get_run(done.variant_run_ids["rules"])
    assert rules.data.metrics["replies"] == 12 and rules.data.metrics["handoffs"] == 4  # counted on all replies
    assert rules.data.metrics["escalation.recall_n"] == 4
    table = pd.read_parquet(client.download_artifacts(rules.info.run_id, "replies.parquet", str(tmp_path)))
    assert set(table["conversation_id"]) == kept and table["escalated"].sum() < 4  # the sample has fewer
    page = (done.report_dir / "report.html").read_text(encoding="utf-8")
    assert "a seeded sample of 5 of 12 conversations (5 of 12 decision points)" in " ".join(page.split())


def test_a_bad_shards_key_is_one_line(tmp_path: Path) -> None:
    allowed = r"\(allowed: one of local, joblib, ray\)"
    with pytest.raises(UserError, match=rf"shards.engine: 'spark' is not allowed {allowed}"):
        run_job(tmp_path, "bad", "shards.count=2", "shards.engine=spark")
