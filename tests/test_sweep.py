"""A multirun sweep ends with one table across its jobs: what each job swept, headline metrics with CI and n."""

from __future__ import annotations

from pathlib import Path

from test_compare import KeywordBot, chats

from evals import sweep
from evals.api import Settings, evaluate
from evals.scorers.escalation import EscalationScorer


def job(folder: Path, seed: int, conversations: int) -> None:
    config = {"seed": seed, "variant": {"rules": {"_target_": "x.Rules", "threshold": 0.5}},
              "output_dir": str(folder)}
    result = evaluate(chats(conversations), [KeywordBot()], [EscalationScorer()],
                      Settings(bootstrap=50, seed=seed, extra={"config": config}))
    result.save(folder / "results")


def test_the_summary_shows_what_varied_and_every_jobs_headline_metrics(tmp_path: Path) -> None:
    job(tmp_path / "0", seed=0, conversations=30)
    job(tmp_path / "1", seed=1, conversations=30)
    job(tmp_path / "10", seed=2, conversations=6)
    (tmp_path / "2").mkdir()  # a job that failed before writing results is not in the table
    jobs = sweep.jobs_of(tmp_path)
    assert [j for j, _ in jobs] == ["0", "1", "10"]  # in job order, not text order
    table = sweep.summary(jobs)
    assert list(table.columns[:3]) == ["job", "seed", "variant"]  # only the swept key, not output_dir
    f1 = table[table["metric"] == "escalation.f1"].set_index("job")
    assert f1.loc["0", "n"] == 10 and not f1.loc["0", "too_few"]
    assert f1.loc["10", "too_few"]  # 2 positives
    text = sweep.markdown(table)
    assert text.splitlines()[0].startswith("| job | seed | variant | hand-off F1 |")
    assert "too few (n=2)" in text and "[" in text.splitlines()[2]


def test_selections_show_as_names_and_settings_inside_them_only_when_every_job_has_them() -> None:
    configs = [{"variant": {"rules": {"min": 0.1}}, "seed": 0},
               {"variant": {"rules": {"min": 0.2}}, "seed": 0},
               {"variant": {"retrieval": {"k": 1}}, "seed": 0}]
    assert sweep.varying(configs[:2]) == {"variant.rules.min": ["0.1", "0.2"]}
    assert sweep.varying(configs) == {"variant": ["rules", "rules", "retrieval"]}


def test_jobs_of_other_machines_are_read_from_the_store(tmp_path: Path, new_store) -> None:
    """A remote worker's folder is not on this machine; its run, results included, is in the shared store."""
    from evals.tracking import Tracker

    uri, sweep_dir = new_store(tmp_path), tmp_path / "elsewhere" / "multirun"
    tracker = Tracker(uri, "sweep", str(tmp_path / "artifacts"))
    for number, seed in (("1", 1), ("0", 0), ("0/inner", 2)):  # a folder deeper down is no job of this sweep
        job(tmp_path / "remote" / number, seed=seed, conversations=30)
        with tracker.experiment_run(f"job {number}", {"seed": seed, "output_dir": f"{sweep_dir}/{number}"}, {}):
            tracker.log_files("results", sorted((tmp_path / "remote" / number / "results").iterdir()))
    with tracker.experiment_run("another sweep", {"seed": 5, "output_dir": f"{sweep_dir}2/0"}, {}):
        pass
    assert sweep.jobs_of(sweep_dir) == []
    jobs = sweep.jobs_in_store(uri, "sweep", sweep_dir)
    assert [j for j, _ in jobs] == ["0", "1"]
    assert [r.manifest["config"]["seed"] for _, r in jobs] == [0, 1]
