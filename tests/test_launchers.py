"""Sweeps on existing engines: Hydra's joblib launcher (parallel jobs on one machine) and the Ray launcher against
a real Ray head on loopback, each ending with every job's run in MLflow and one sweep summary.

Without the plugins (the `sweeps` extra) a test is skipped with the reason, except under CI (the CI variable
set), where it fails: CI must prove the launchers really run.
"""

from __future__ import annotations

from pathlib import Path

from ray_cluster import require_plugin
from test_experiment import run_job, runs_of

SMALL = ("variant=[rules]", "scorer=[escalation]", "sample.conversations=5", "seed=0,1")  # two jobs


def assert_two_jobs_and_one_summary(tmp_path: Path, uri: str, *launcher: str) -> None:
    _, client = run_job(tmp_path, "--multirun", *launcher, *SMALL, uri=uri)
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


def test_joblib_runs_the_jobs_in_parallel_processes(tmp_path: Path, new_store) -> None:
    require_plugin("hydra_plugins.hydra_joblib_launcher", "hydra-joblib-launcher")
    assert_two_jobs_and_one_summary(tmp_path, new_store(tmp_path), "hydra/launcher=joblib", "hydra.launcher.n_jobs=2")


def test_ray_runs_the_jobs_on_a_real_local_cluster(tmp_path: Path, ray_head: str, new_store) -> None:
    assert_two_jobs_and_one_summary(tmp_path, new_store(tmp_path), "hydra/launcher=ray",
                                    f"hydra.launcher.ray.init.address={ray_head}")
