"""`chatbot-evals review align` through the command line, in-process, against a real loopback judge and a real
sqlite MLflow store: the table, the files, the side run, and one-line errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest
import yaml
from align_helpers import AlignJudgeServer, build_run, judge_settings, length_grade
from stores import copy_store

from evals.cli import main
from evals.results import EvalResult
from evals.tracking import Tracker


@pytest.fixture(scope="module")
def server():
    with AlignJudgeServer("learns") as srv:
        yield srv


@pytest.fixture(scope="module")
def run(server, tmp_path_factory: pytest.TempPathFactory, store_template: Path) -> dict:
    """One evaluated run, its labels and an MLflow store for the module (making a store takes seconds)."""
    folder = tmp_path_factory.mktemp("align")
    results, dataset, labels = build_run(folder, server.url)
    uri = copy_store(store_template, folder)
    Tracker(uri, "align-tests", artifact_root=str(folder / "artifacts"))  # the store exists, as after a run
    return {"results": results, "dataset": dataset, "labels": labels, "uri": uri, "folder": folder}


def review_align(run: dict, *args: str, out: str = "out", labels: Path | None = None) -> int:
    return main(["review", "align", str(run["results"].parent), "--labels", str(labels or run["labels"]),
                 "--out", str(run["folder"] / out), "--tracking-uri", run["uri"], "--experiment", "align-tests",
                 "--bootstrap", "300", *args])


def test_it_prints_old_and_new_decides_and_logs_a_side_run(run: dict, capsys: pytest.CaptureFixture) -> None:
    assert review_align(run, "--judge", "judge_empathy") == 0
    shown = capsys.readouterr()
    lines = shown.out.splitlines()
    old, new = (next(line for line in lines if line.strip().startswith(name)) for name in ("old ", "new "))
    summary = json.loads((run["folder"] / "out" / "alignment.json").read_text())
    assert summary["kept"] and f"{summary['old']['kappa']:.2f}" in old and f"{summary['new']['kappa']:.2f}" in new
    assert any(line.startswith("kept: the gain (+") for line in lines)
    assert "max_tokens" in shown.err  # the manifest hid it; said so, not silently
    aligned = run["folder"] / "out" / "judge_empathy.aligned.yaml"
    assert yaml.safe_load(aligned.read_text())["examples"] == summary["examples"]
    client = mlflow.MlflowClient(tracking_uri=run["uri"])
    experiment = client.get_experiment_by_name("align-tests")
    [logged] = client.search_runs([experiment.experiment_id], "attributes.run_name = 'align'")
    metrics, tags = logged.data.metrics, logged.data.tags
    assert metrics["old.kappa"] == pytest.approx(summary["old"]["kappa"], abs=1e-6)
    assert metrics["new.kappa"] == pytest.approx(summary["new"]["kappa"], abs=1e-6)
    assert metrics["gain.ci_low"] > 0 and metrics["kept"] == 1.0
    assert (tags["decision"], tags["old.rubric_version"], tags["new.rubric_version"]) == (
        "kept", summary["old"]["version"], summary["new"]["version"])
    artifacts = {a.path for a in client.list_artifacts(logged.info.run_id)}
    assert artifacts == {"judge_empathy.aligned.yaml", "alignment.json"}


def test_a_judge_config_replaces_the_runs_endpoint(run: dict, tmp_path: Path, capsys) -> None:
    config = tmp_path / "judge.yaml"
    config.write_text(yaml.safe_dump({**judge_settings(run_url(run)), "max_tokens": 300}))
    assert review_align(run, "--judge", "judge_empathy", "--judge-config", str(config), out="with_config") == 0
    assert "max_tokens" not in capsys.readouterr().err


def run_url(run: dict) -> str:
    manifest = json.loads((run["results"] / "manifest.json").read_text())
    return manifest["config"]["scorer"]["judge_empathy"]["judge"]["base_url"]


@pytest.mark.parametrize(("args", "message"), [
    (["--judge", "judge_tone"], "--judge judge_tone: the run has no judge of that name (its judges: judge_empathy)"),
    (["--judge", "judge_empathy", "--holdout", "1"], "--holdout 1: a share strictly between 0 and 1"),
    (["--judge", "judge_empathy", "--examples", "0"], "--examples 0: at least 1 worked case"),
    (["--judge", "judge_empathy", "--holdout", "0.05"], "too few labelled replies to align judge_empathy"),
    (["--judge", "judge_empathy", "--dataset", "nowhere.jsonl"], "--dataset nowhere.jsonl: no such file"),
    ([], "the following arguments are required: --judge"),
])
def test_mistakes_are_one_line_errors_with_exit_code_2(run: dict, capsys, args: list[str], message: str) -> None:
    assert review_align(run, *args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]


def test_labels_without_the_judges_criterion_say_which_criteria_they_have(run: dict, tmp_path: Path, capsys) -> None:
    labels = tmp_path / "accuracy.jsonl"
    labels.write_text(json.dumps({"case_id": "conv00#0", "variant": "bot", "criterion": "accuracy",
                                  "reviewer": "ana", "label": 3}) + "\n")
    assert review_align(run, "--judge", "judge_empathy", labels=labels) == 2
    assert "no empathy labels to align judge_empathy with (criteria in the file: accuracy)" in capsys.readouterr().err


def test_a_judge_config_with_an_unknown_key_names_it(run: dict, tmp_path: Path, capsys) -> None:
    config = tmp_path / "judge.yaml"
    config.write_text("model: m\ntemperatur: 0\n")
    assert review_align(run, "--judge", "judge_empathy", "--judge-config", str(config)) == 2
    assert f"--judge-config {config}: unknown key 'temperatur' (keys: model, base_url" in capsys.readouterr().err


def test_help_answers_without_work(capsys) -> None:
    assert main(["review", "align", "--help"]) == 0
    assert "--judge-config" in capsys.readouterr().out


def test_labels_the_judge_already_matches_leave_nothing_to_add(run: dict, tmp_path: Path, capsys) -> None:
    replies = EvalResult.load(run["results"]).replies
    labels = tmp_path / "agreeing.jsonl"
    labels.write_text("".join(json.dumps({"case_id": c, "variant": "bot", "criterion": "empathy", "reviewer": "ana",
                                          "label": length_grade(t)}) + "\n"
                              for c, t in zip(replies["case_id"], replies["reply"])))
    assert review_align(run, "--judge", "judge_empathy", labels=labels, out="agreeing") == 0
    assert "not kept: nothing to add, the judge agrees with people on all 44 judged training replies" in \
        capsys.readouterr().out
    assert not list((run["folder"] / "agreeing").glob("*.yaml"))
