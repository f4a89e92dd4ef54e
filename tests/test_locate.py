"""Finding results from what a user types: a folder, a run id, a run name, a tag, `released`, `#variant`,
against a real sqlite MLflow store made by the main job."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from builders import conversation
from hydra import compose, initialize_config_dir
from stores import copy_store

from evals import experiment, tracking
from evals.config import CONFIG_DIR
from evals.errors import UserError
from evals.locate import locate

EXPERIMENT = "chatbot-evals"


def write_chats(path: Path, n: int = 12) -> Path:
    convs = [conversation(f"c{i}", turns=[("customer", "I want to speak to a human agent" if i % 3 == 0
                                           else f"Where is my order {i}?"), ("agent", "It ships tomorrow.")],
                          should_escalate=i % 3 == 0) for i in range(n)]
    path.write_text("".join(json.dumps(c.model_dump(exclude_none=True)) + "\n" for c in convs), encoding="utf-8")
    return path


def run_job(tmp: Path, out: str, *overrides: str) -> experiment.ExperimentResult:
    """The main job (variants human and rules, the escalation scorer) into the store under `tmp`."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[
            "dataset=file", f"dataset.path={write_chats(tmp / 'chats.jsonl')}", "variant=[human,rules]",
            "scorer=[escalation]", "replay.cache=null", "aggregate.bootstrap=20", f"tracking.uri={uri(tmp)}",
            f"tracking.artifact_root={tmp}/artifacts", f"output_dir={tmp}/{out}", *overrides])
    return experiment.run(cfg)


def uri(tmp: Path) -> str:
    return f"sqlite:///{tmp}/mlflow.db"


@dataclass(frozen=True)
class Store:
    tmp: Path
    uri: str
    alpha: str  # run "old", dataset alpha: marked released
    beta_first: str  # run "new", dataset beta
    beta_newest: str  # run "new" again, dataset beta: what names and tags find


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, store_template: Path) -> Store:
    tmp = tmp_path_factory.mktemp("store")
    copy_store(store_template, tmp)  # at uri(tmp)
    alpha = run_job(tmp, "alpha", "run_name=old", "dataset.name=alpha").parent_run_id
    first = run_job(tmp, "beta1", "run_name=new", "dataset.name=beta").parent_run_id
    newest = run_job(tmp, "beta2", "run_name=new", "dataset.name=beta").parent_run_id
    return Store(tmp, uri(tmp), alpha, first, newest)


def test_a_results_folder_or_the_run_folder_holding_it(store: Store) -> None:
    for folder in (store.tmp / "alpha", store.tmp / "alpha" / "results"):
        found = locate(str(folder), store.uri, EXPERIMENT)
        assert found.run_id is None and found.variant is None and found.variants() == ["human", "rules"]
        assert found.result.manifest["dataset"]["name"] == "alpha"
    one = locate(f"{store.tmp / 'alpha'}#rules", store.uri, EXPERIMENT)
    assert one.variant == "rules" and one.variants() == ["rules"]


def test_a_run_id_loads_the_results_the_run_logged(store: Store) -> None:
    found = locate(store.beta_first, store.uri, EXPERIMENT)
    assert found.run_id == store.beta_first
    saved = locate(str(store.tmp / "beta1"), store.uri, EXPERIMENT).result
    assert found.result.manifest["created"] == saved.manifest["created"]
    assert found.result.scores.equals(saved.scores)


def test_a_name_or_a_tag_finds_the_newest_finished_run(store: Store) -> None:
    assert locate("new", store.uri, EXPERIMENT).run_id == store.beta_newest
    assert locate("old#human", store.uri, EXPERIMENT).run_id == store.alpha
    assert locate("tag:dataset=beta", store.uri, EXPERIMENT).run_id == store.beta_newest
    assert locate("tag:dataset=alpha#rules", store.uri, EXPERIMENT).variant == "rules"


def test_released_is_the_run_marked_released(store: Store) -> None:
    with pytest.raises(UserError, match="no finished run marked released"):
        locate("released", store.uri, EXPERIMENT)
    tracking.set_run_tag(store.uri, store.alpha, tracking.RELEASED_TAG, "true")
    try:
        found = locate("released#rules", store.uri, EXPERIMENT)
        assert (found.run_id, found.variant) == (store.alpha, "rules")
    finally:
        tracking.set_run_tag(store.uri, store.alpha, tracking.RELEASED_TAG, "false")


@pytest.mark.parametrize(("reference", "message"), [
    ("nothing-by-this-name", "no finished run named 'nothing-by-this-name' in experiment 'chatbot-evals'"),
    ("tag:dataset=gamma", "no finished run with tag dataset=gamma"),
    ("old#bot", r"old#bot: no variant 'bot' \(variants: human, rules\)"),
    ("#rules", "name the results before '#'"),
    ("0123456789abcdef0123456789abcdef", "no MLflow run '0123456789abcdef0123456789abcdef'"),
])
def test_what_cannot_be_found_is_a_one_line_error(store: Store, reference: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        locate(reference, store.uri, EXPERIMENT)


def test_a_missing_store_or_experiment_is_named(store: Store, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no MLflow store at"):
        locate("released", f"sqlite:///{tmp_path}/none.db", EXPERIMENT)
    with pytest.raises(UserError, match="no MLflow experiment 'other'"):
        locate("released", store.uri, "other")
    with pytest.raises(UserError, match="not a results folder"):
        locate(str(tmp_path), store.uri, EXPERIMENT)


def test_a_mistyped_folder_is_named_as_a_folder(store: Store, tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"/nowhere/results: no such folder \(nor a finished run"):
        locate(f"{tmp_path}/nowhere/results", store.uri, EXPERIMENT)
    with pytest.raises(UserError, match="/nowhere: no such folder$"):  # and no store to look in either
        locate(f"{tmp_path}/nowhere", f"sqlite:///{tmp_path}/none.db", EXPERIMENT)
