"""Every YAML in every config group composes, and its objects instantiate."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf
from omegaconf.errors import MissingMandatoryValue
from user_folder import user_folder

from evals.config import CONFIG_DIR, DATASETS_DIR, INSTALLED, PROJECT_ROOT, register_resolvers
from evals.variants.python_bot import load_callable

register_resolvers()
LIST_GROUPS = {"variant", "scorer"}  # groups that take a list of options
GROUPS = sorted(p.name for p in CONFIG_DIR.iterdir() if p.is_dir() and p.name not in ("hydra", "gate"))
OPTIONS = [(g, p.stem) for g in GROUPS for p in sorted((CONFIG_DIR / g).glob("*.yaml"))]


def composed(*overrides: str):
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def test_every_group_has_options() -> None:
    assert {"dataset", "variant", "scorer", "tracking", "prices", "judge"} <= set(GROUPS)
    assert len(OPTIONS) >= 9


@pytest.mark.parametrize(("group", "option"), OPTIONS)
def test_option_composes_and_instantiates(group: str, option: str) -> None:
    override = f"{group}=[{option}]" if group in LIST_GROUPS else f"{group}={option}"
    extra = ["dataset.path=somewhere.jsonl"] if option == "file" else []
    cfg = composed(override, *extra)
    if group in LIST_GROUPS:
        assert list(cfg[group]) == [option]
        obj = instantiate(cfg[group][option], name=option)
        assert obj.name == option
        assert any(callable(getattr(obj, m, None)) for m in ("respond", "score", "score_many"))
    elif group == "dataset":
        assert Path(cfg.dataset.path).name.endswith(".jsonl")
        if option != "file":
            assert Path(cfg.dataset.path).is_file() and Path(cfg.dataset.history_path).is_file()
    else:
        OmegaConf.to_container(cfg[group], resolve=True)


def test_default_runs_three_variants_and_three_scorers() -> None:
    cfg = composed()
    assert list(cfg.variant) == ["human", "retrieval", "rules"]
    assert list(cfg.scorer) == ["escalation", "accuracy", "empathy", "human_access", "human_access_conversation"]
    assert cfg.variant.retrieval.history_path == cfg.dataset.history_path


def test_own_file_without_a_path_says_which_key_is_missing() -> None:
    cfg = composed("dataset=file")
    with pytest.raises(MissingMandatoryValue, match="dataset.path"):
        _ = cfg.dataset.path


def test_shipped_configs_name_shipped_files_through_resolvers_that_work_when_installed() -> None:
    """`${evals.root:}` is the checkout; an installed package has none, so shipped configs never use it."""
    uses_root = [p.relative_to(CONFIG_DIR).as_posix() for p in CONFIG_DIR.rglob("*.yaml")
                 if "${evals.root:" in p.read_text()]
    assert uses_root == []
    cfg = composed("scorer=[judge_empathy]", "variant=[openai]")
    for path in (cfg.dataset.path, cfg.dataset.history_path, cfg.dataset.policy_path,
                 cfg.scorer.judge_empathy.rubric, cfg.variant.openai.system_prompt):
        assert Path(path).is_file(), path


def test_in_a_checkout_configs_and_datasets_are_read_in_place() -> None:
    assert not INSTALLED
    assert CONFIG_DIR == PROJECT_ROOT / "conf" and DATASETS_DIR == PROJECT_ROOT / "datasets"


def test_a_user_config_folder_adds_a_variant_and_a_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    my_conf = user_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # the CLI puts the folder it runs in on sys.path
    cfg = composed(f"hydra.searchpath=[file://{my_conf}]", "dataset=my_chats", "variant=[mybot,rules]")
    assert cfg.dataset.name == "my_chats" and Path(cfg.dataset.path).resolve() == tmp_path / "my_chats.jsonl"
    assert list(cfg.variant) == ["mybot", "rules"]  # shipped options stay available beside the user's
    bot = instantiate(cfg.variant.mybot, name="mybot")
    assert load_callable(bot.target).__module__ == "my_bots"

