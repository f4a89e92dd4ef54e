"""Every bad run override is one line naming the key, the value and the allowed values."""

import pytest
from hydra import compose, initialize_config_dir
from mlflow.tracking._tracking_service.utils import _tracking_store_registry

from evals.config import CONFIG_DIR, register_resolvers
from evals.errors import UserError
from evals.settings import TRACKING_SCHEMES, check

register_resolvers()


def composed(*overrides: str):
    # output_dir comes from Hydra's runtime, which only a real job sets
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=["output_dir=out", *overrides])


# (override, what the one line must say: the key, the value as given, the allowed values)
BAD = [
    ("replay.view=foo", ["replay.view", "'foo'", "agent, customer"]),
    ("replay.decision_points=middle", ["replay.decision_points", "'middle'", "every, first, last"]),
    ("replay.concurrency=0", ["replay.concurrency", "0", "whole number >= 1"]),
    ("replay.concurrency=abc", ["replay.concurrency", "'abc'", "whole number >= 1"]),
    ("aggregate.bootstrap=-1", ["aggregate.bootstrap", "-1", "whole number >= 0"]),
    ("aggregate.confidence=2", ["aggregate.confidence", "2", "(0, 1)"]),
    ("aggregate.min_n=-1", ["aggregate.min_n", "-1", "whole number >= 0"]),
    ("aggregate.max_undefined=2", ["aggregate.max_undefined", "2", "[0, 1]"]),
    ("replay.max_error_rate=1.5", ["replay.max_error_rate", "1.5", "[0, 1]"]),
    ("replay.time_budget_s=0", ["replay.time_budget_s", "0", "seconds > 0, or null"]),
    ("results.redact_text=maybe", ["results.redact_text", "'maybe'", "true or false"]),
    ("aggregate.baseline=nosuch", ["aggregate.baseline", "'nosuch'", "human, retrieval, rules, or null"]),
    ("dataset.on_error=ignore", ["dataset.on_error", "'ignore'", "fail, skip"]),
    ("sample.conversations=abc", ["sample.conversations", "'abc'", "whole number >= 1, or null"]),
    ("sample.conversations=0", ["sample.conversations", "0", "whole number >= 1, or null"]),
    ("seed=abc", ["seed", "'abc'", "whole number >= 0"]),
    ("seed=true", ["seed", "True", "whole number >= 0"]),
    ("variant=[]", ["variant: none selected", "human, openai", "variant=["]),
    ("scorer=[]", ["scorer: none selected", "accuracy, empathy", "scorer=["]),
    ("tracking.uri=garbage://x", ["tracking.uri", "'garbage://x'", "sqlite:, postgresql:", "http:, https:"]),
    ("tracking.uri=sqlite://m.db", ["tracking.uri", "'sqlite://m.db'", "sqlite:///path.db"]),
    ("tracking.traces=-1", ["tracking.traces", "-1", "decision points >= 0, or all"]),
    ("tracking.traces=some", ["tracking.traces", "'some'", "decision points >= 0, or all"]),
    ("+frobnicate=1", ["frobnicate: unknown key", "value 1", "replay, results, run_name, sample"]),
    ("+replay.views=agent", ["replay.views: unknown key", "'agent'",
     "cache, concurrency, decision_points, max_error_rate, pass_threshold, repeats, time_budget_s, view"]),
    ("replay.repeats=0", ["replay.repeats", "0", "whole number >= 1"]),
    ("replay.pass_threshold=2", ["replay.pass_threshold", "2", "[0, 1]"]),
    ("+trust.judge_empathy=high", ["trust.judge_empathy", "'high'", "[-1, 1]"]),
]


@pytest.mark.parametrize(("override", "says"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_override_is_one_line_naming_key_value_and_allowed_values(override: str, says: list[str]) -> None:
    with pytest.raises(UserError) as caught:
        check(composed(override))
    message = str(caught.value)
    assert "\n" not in message
    for part in says:
        assert part in message, (part, message)


@pytest.mark.parametrize("overrides", [
    [],
    ["variant=[rules]"],  # the default baseline (null) follows the selection
    ["aggregate.baseline=rules", "variant=[human,rules]", "replay.view=customer", "replay.decision_points=last"],
    ["sample.conversations=5", "seed=3", "aggregate.confidence=0.9", "aggregate.max_undefined=0",
     "+trust.escalation=0.6"],
    ["dataset=file", "dataset.path=x.jsonl", "dataset.on_error=skip", "replay.cache=null", "run_name=mine"],
    ["tracking.uri=sqlite:////abs/m.db"], ["tracking.uri=runs/mlruns"], ["tracking.uri=file:///tmp/mlruns"],
    ["tracking.uri=http://localhost:5000"], ["tracking.uri=postgresql+psycopg2://u@h/db"],
    ["tracking.uri=databricks"],
])
def test_good_configs_pass(overrides: list[str]) -> None:
    check(composed(*overrides))


def test_every_accepted_tracking_scheme_has_an_mlflow_store() -> None:
    assert set(TRACKING_SCHEMES) <= set(_tracking_store_registry._registry)


def test_every_problem_is_reported_at_once_on_one_line() -> None:
    with pytest.raises(UserError) as caught:
        check(composed("seed=abc", "replay.view=foo"))
    assert "\n" not in str(caught.value) and "seed:" in str(caught.value) and "replay.view:" in str(caught.value)


def test_an_option_file_holding_a_list_is_one_line_not_a_traceback(tmp_path) -> None:
    from omegaconf import OmegaConf

    cfg = composed("variant=[rules]")
    OmegaConf.set_struct(cfg, False)
    cfg.variant = ["a", "b"]  # what a user's variant/mybot.yaml holding `- a` `- b` composes to
    with pytest.raises(UserError) as caught:
        check(cfg)
    assert str(caught.value) == ("variant: a selected variant file holds a list, not a mapping "
                                 "(allowed: each variant/<option>.yaml holds '<name>: {_target_: ..., ...}')")

