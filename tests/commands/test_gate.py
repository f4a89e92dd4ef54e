"""`chatbot-evals gate` and `release` through the command line, in-process, on a real sqlite MLflow store."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import mlflow
import pytest
from stores import copy_store
from test_gate import ASKING, RISKY_ASKING, HandoffBot, run  # tests/test_gate.py: the bots and the data

from evals.cli import main
from evals.tracking import RELEASED_TAG, Tracker

POLICY = """\
floors:
  escalation.recall: 0.5
margins:
  escalation.recall: 0.05
  escalation.missed_rate: 0.05
zero_tolerance:
  missed_risky_handoff:
    description: missed hand-offs on intents marked risky
    scorer: escalation
    labels: [missed]
    among: [correct_handoff]
    intents: [payment_issue]
"""


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory, store_template: Path) -> str:
    """One sqlite store for the module (making one takes seconds); each test has its own experiment."""
    return copy_store(store_template, tmp_path_factory.mktemp("mlflow"), "m.db")


@pytest.fixture()
def store(tmp_path: Path, database: str, request: pytest.FixtureRequest) -> dict:
    policy = tmp_path / "gate.yaml"
    policy.write_text(POLICY)
    return {"uri": database, "policy": str(policy), "tmp": tmp_path, "experiment": request.node.name[:60]}


def logged(store: dict, name: str, result) -> str:
    """A parent run with a results folder, as `chatbot-evals run` leaves it."""
    tracker = Tracker(store["uri"], store["experiment"], artifact_root=str(store["tmp"] / "artifacts"))
    with tracker.experiment_run(name, {"seed": 1}, {"dataset": "chats"}) as run_id:
        tracker.log_files("results", result.save(store["tmp"] / name / "results"))
    return run_id


def gate(store: dict, *args: str, out: str = "out") -> int:
    return main(["gate", *args, "--tracking-uri", store["uri"], "--experiment", store["experiment"],
                 "--policy", store["policy"], "--out", str(store["tmp"] / out)])


def release(store: dict, *args: str) -> int:
    return main(["release", *args, "--tracking-uri", store["uri"], "--experiment", store["experiment"]])


def files(store: dict, out: str = "out") -> tuple[str, ET.Element, dict]:
    folder = store["tmp"] / out
    return ((folder / "gate.md").read_text(), ET.parse(folder / "junit.xml").getroot(),
            json.loads((folder / "verdict.json").read_text()))


def test_a_candidate_missing_handoffs_the_released_run_caught_fails(store: dict, capsys) -> None:
    released = logged(store, "v1", run(HandoffBot()))
    assert release(store, "v1") == 0
    assert f"run {released} marked released" in capsys.readouterr().out
    logged(store, "v2", run(HandoffBot(misses=frozenset(RISKY_ASKING[:4]))))

    assert gate(store, "v2") == 1
    said = capsys.readouterr().out
    assert said.startswith("FAIL: v2 against released; 3 of 6 rules passed, 3 failed (margin.escalation.recall, "
                           "margin.escalation.missed_rate, zero_tolerance.missed_risky_handoff)")
    md, junit, verdict = files(store)
    assert "missed hand-offs on intents marked risky: 4 of 10 (c0#0, c6#0, c12#0, c18#0); the baseline got 4 of " \
           "them right" in md
    assert f"- baseline: `released` (run {released}), variant `bot`" in md
    assert junit.get("failures") == "3" and junit.get("tests") == "6"
    assert verdict["verdict"] == "fail" and verdict["baseline"]["run_id"] == released

    client = mlflow.MlflowClient(tracking_uri=store["uri"])
    experiment = client.get_experiment_by_name(store["experiment"]).experiment_id
    (gate_run,) = client.search_runs([experiment], "attributes.run_name = 'gate'")
    assert gate_run.data.tags["evals.gate.verdict"] == "fail"
    assert gate_run.data.tags["evals.gate.baseline_run"] == released
    assert gate_run.data.tags["evals.gate.rule.zero_tolerance.missed_risky_handoff"].startswith("fail: missed")
    assert gate_run.data.metrics["gate.rules_failed"] == 3
    assert {a.path for a in client.list_artifacts(gate_run.info.run_id)} == {"gate.md", "junit.xml", "verdict.json"}


def test_an_equivalent_candidate_passes(store: dict, capsys) -> None:
    logged(store, "v1", run(HandoffBot()))
    release(store, "v1")
    logged(store, "v2", run(HandoffBot()))
    assert gate(store, "v2") == 0
    said = capsys.readouterr().out
    assert "PASS: v2 against released; 6 of 6 rules passed" in said
    assert "pass  margin.escalation.recall: +0 [+0, +0], n=20 (diff CI low >= -0.05)" in said
    md, junit, verdict = files(store)
    assert md.startswith("## Release gate: ✅ pass") and junit.get("failures") == "0" and verdict["exit_code"] == 0


def test_no_released_baseline_cannot_be_decided_and_says_why(store: dict, capsys) -> None:
    logged(store, "v2", run(HandoffBot(misses=frozenset(ASKING))))  # would fail every rule
    assert gate(store, "v2") == 2
    said = capsys.readouterr().out
    assert said.startswith("CANNOT DECIDE: v2; ")
    md, junit, verdict = files(store)
    assert ("no baseline to compare with: released: no finished run marked released (chatbot-evals release RUN) "
            f"in experiment '{store['experiment']}'") in md
    assert verdict["verdict"] == "cannot decide" and verdict["baseline"] is None
    assert junit.get("skipped") == "3"  # the baseline and both margins


def test_a_variant_of_the_same_run_is_a_baseline_and_a_run_of_several_needs_a_variant(store: dict, capsys) -> None:
    run_id = logged(store, "both", run(HandoffBot(name="careful"), HandoffBot(name="careless",
                                                                              misses=frozenset(RISKY_ASKING))))
    assert gate(store, f"{run_id}#careless", "--baseline", "#careful") == 1
    assert "margin.escalation.recall" in capsys.readouterr().out
    assert gate(store, f"{run_id}#careful", "--baseline", f"{run_id}#careless") == 0
    capsys.readouterr()
    assert gate(store, run_id, "--baseline", "none") == 2
    assert capsys.readouterr().err.strip() == (f"error: {run_id}: the run has variants careful, careless; name the "
                                               f"candidate, e.g. {run_id}#careless")


def test_release_marks_the_newest_and_undo_hands_the_baseline_back(store: dict, capsys) -> None:
    first, second = logged(store, "v1", run(HandoffBot())), logged(store, "v2", run(HandoffBot()))
    assert release(store, first) == 0 and release(store, second) == 0
    client = mlflow.MlflowClient(tracking_uri=store["uri"])
    assert client.get_run(second).data.tags[RELEASED_TAG] == "true"
    assert client.get_run(second).data.tags["evals.released_at"].endswith("+00:00")
    capsys.readouterr()
    assert release(store, second, "--undo") == 0
    assert f"`--baseline released` now finds run {first}" in capsys.readouterr().out
    assert client.get_run(second).data.tags[RELEASED_TAG] == "false"
    logged(store, "v3", run(HandoffBot()))
    assert gate(store, "v3") == 0
    assert json.loads((store["tmp"] / "out" / "verdict.json").read_text())["baseline"]["run_id"] == first


def test_releasing_an_older_run_says_which_one_the_gate_will_use(store: dict, capsys) -> None:
    first, second = logged(store, "v1", run(HandoffBot())), logged(store, "v2", run(HandoffBot()))
    release(store, second)
    capsys.readouterr()
    release(store, first)
    assert f"note: `--baseline released` finds run {second}, evaluated later" in capsys.readouterr().out


def test_help_teaches_and_mistakes_are_one_line(store: dict, capsys) -> None:
    assert main(["gate", "--help"]) == 0
    said = capsys.readouterr().out
    assert "exit codes: 0 pass; 1 fail" in said and "--baseline '#human'" in said
    assert main(["release", "--help"]) == 0 and "--undo" in capsys.readouterr().out
    assert main(["gate"]) == 2
    assert capsys.readouterr().err.strip() == ("error: the following arguments are required: CANDIDATE "
                                               "(see chatbot-evals gate --help)")
    nowhere = {**store, "uri": f"sqlite:///{store['tmp']}/none.db"}
    assert gate(nowhere, "v1") == 2
    assert capsys.readouterr().err.strip().startswith(f"error: no MLflow store at {nowhere['uri']}")
    assert release(store, "x#bot") == 2
    assert "release marks a whole run" in capsys.readouterr().err
