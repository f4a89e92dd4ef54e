"""The run config's own keys, checked before anything is loaded or logged.

A bad override (`replay.view=foo`, `seed=abc`, `+frobnicate=1`) becomes one `UserError` line naming
the key, the value and what is allowed, instead of a silent default or a traceback deep in a stage.
The contents of the `variant`, `scorer`, `dataset`, `judge` and `prices` groups are checked against
their schemas by `evals.schemas` (which imports the components), except the few keys this module names.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args
from urllib.parse import urlparse

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from evals.calls.secrets import env_name_problem
from evals.config import CONFIG_DIR, options
from evals.errors import UserError
from evals.load import DecisionPoints, OnError
from evals.types import View

_MISSING = object()


@dataclass(frozen=True)
class Rule:
    allowed: str  # what the user may write, as the error says it
    accepts: Callable[[Any], bool]


def _whole(minimum: int) -> Rule:
    return Rule(f"a whole number >= {minimum}",
                lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= minimum)


def _number(low: float, high: float, *, open_ends: bool = False) -> Rule:
    brackets = "()" if open_ends else "[]"

    def accepts(v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return False
        return low < v < high if open_ends else low <= v <= high

    return Rule(f"a number in {brackets[0]}{low:g}, {high:g}{brackets[1]}", accepts)


def _one_of(*choices: str) -> Rule:
    return Rule(f"one of {', '.join(choices)}", lambda v: v in choices)


def _or_null(rule: Rule) -> Rule:
    return Rule(f"{rule.allowed}, or null", lambda v: v is None or rule.accepts(v))


# Every scheme MLflow 3 has a tracking store for (mlflow.tracking._tracking_service.utils); a
# database scheme may name its driver (postgresql+psycopg2://). A bare path is a file store.
DATABASE_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")
TRACKING_SCHEMES = ("file", "http", "https", "databricks", "databricks-uc", "uc", *DATABASE_SCHEMES)


def _tracking_uri(uri: Any) -> bool:
    if not isinstance(uri, str) or not uri.strip():
        return False
    scheme = urlparse(uri).scheme.lower().split("+")[0]
    if scheme == "sqlite":
        return uri.startswith("sqlite:///")  # sqlite:///relative.db or sqlite:////abs/path.db
    return scheme in ("", *TRACKING_SCHEMES) or len(scheme) == 1  # one letter: a Windows drive


_TEXT = Rule("a non-empty text", lambda v: isinstance(v, str) and bool(v.strip()))
_URI = Rule("a folder path or a URI with one of the schemes " + ", ".join(f"{s}:" for s in TRACKING_SCHEMES)
            + " (sqlite:///path.db)", _tracking_uri)

RULES: dict[str, Rule] = {
    "experiment": _TEXT,
    "run_name": _or_null(_TEXT),
    "seed": _whole(0),  # numpy's generators refuse negative seeds
    "sample.conversations": _or_null(_whole(1)),
    "replay.decision_points": _one_of(*get_args(DecisionPoints)),
    "replay.view": _one_of(*get_args(View)),
    "replay.concurrency": _whole(1),
    "replay.cache": _or_null(_TEXT),
    "replay.max_error_rate": _number(0, 1),
    "replay.repeats": _whole(1),
    "replay.pass_threshold": _number(0, 1),
    "replay.time_budget_s": _or_null(Rule("a number of seconds > 0", lambda v: isinstance(v, (int, float))
                                          and not isinstance(v, bool) and math.isfinite(v) and v > 0)),
    "results.redact_text": Rule("true or false", lambda v: isinstance(v, bool)),
    "aggregate.bootstrap": _whole(0),
    "aggregate.confidence": _number(0, 1, open_ends=True),
    "aggregate.min_n": _whole(0),
    "aggregate.max_undefined": _number(0, 1),
    "tracking.uri": _URI,
    "tracking.artifact_root": _or_null(_TEXT),
    "tracking.traces": Rule("a number of decision points >= 0, or all",
                            lambda v: v == "all" or (isinstance(v, int) and not isinstance(v, bool) and v >= 0)),
    "output_dir": _TEXT,
    "dataset.on_error": _one_of(*get_args(OnError)),
    "shards.count": _whole(1),
    "shards.engine": _one_of("local", "joblib", "ray"),
    "shards.chunk": _whole(1),
    "shards.ray_address": _or_null(_TEXT),
    "shards.examples": _whole(1),
}
OPTIONAL = {"aggregate.min_n", "aggregate.max_undefined", "aggregate.baseline", "trust",  # code has defaults
            "replay.max_error_rate", "replay.time_budget_s", "results.redact_text", "replay.repeats",
            "replay.pass_threshold", "tracking.traces", "shards.count", "shards.engine", "shards.chunk",
            "shards.ray_address", "shards.examples"}
# every key of these sections is known here
CHECKED_SECTIONS = ("sample", "replay", "aggregate", "tracking", "results", "shards")
GROUPS = ("dataset", "variant", "scorer", "judge", "prices")  # their contents belong to their components
TOP_LEVEL = sorted({key.split(".")[0] for key in RULES} | set(GROUPS) | {"trust", "business"})  # business: its own
SECTION_KEYS = {section: sorted({k.split(".", 1)[1] for k in [*RULES, *OPTIONAL] if k.startswith(f"{section}.")})
                for section in CHECKED_SECTIONS}
TRUST = _number(-1, 1)  # a minimum Cohen's kappa


def check(cfg: DictConfig, config_folders: Sequence[Path] = (CONFIG_DIR,)) -> None:
    """Raise one `UserError` listing every problem with the run's own keys, or return.

    `config_folders`: where the options an empty selection may choose from are listed from."""
    problems = [*_unknown_keys(cfg), *_unset(cfg), *_selections(cfg, config_folders), *_secret_names(cfg)]
    for key, rule in RULES.items():
        value = _value(cfg, key)
        if value is _MISSING:
            if key not in OPTIONAL:
                problems.append(f"{key}: missing (allowed: {rule.allowed})")
        elif not rule.accepts(value):
            problems.append(f"{key}: {value!r} is not allowed (allowed: {rule.allowed})")
    trust = _value(cfg, "trust")
    if isinstance(trust, Mapping):
        problems += [f"trust.{name}: {minimum!r} is not allowed (allowed: {TRUST.allowed}, a minimum kappa)"
                     for name, minimum in trust.items() if not TRUST.accepts(minimum)]
    elif trust not in (_MISSING, None):
        problems.append(f"trust: {trust!r} is not allowed (allowed: scorer names with a minimum kappa, "
                        "e.g. +trust.judge_empathy=0.6)")
    if problems:
        raise UserError("; ".join(problems))


def _unknown_keys(cfg: DictConfig) -> list[str]:
    found = [f"{key}: unknown key (value {cfg[key]!r}; known keys: {', '.join(TOP_LEVEL)})"
             for key in cfg if key not in TOP_LEVEL]
    for section in CHECKED_SECTIONS:
        node = cfg.get(section)
        if not isinstance(node, Mapping):
            if section in cfg:
                found.append(f"{section}: {node!r} is not allowed (allowed: keys {', '.join(SECTION_KEYS[section])})")
            continue
        found += [f"{section}.{key}: unknown key (value {node[key]!r}; known keys: "
                  f"{', '.join(SECTION_KEYS[section])})" for key in node if key not in SECTION_KEYS[section]]
    return found


def _unset(cfg: DictConfig) -> list[str]:
    """Values a config leaves for the user to give (`???`), such as `dataset.path` of `dataset=file`."""
    return [f"{key}: missing (set it on the command line: {key}=...)" for key in sorted(OmegaConf.missing_keys(cfg))
            if not key.startswith("hydra.")]


def _selections(cfg: DictConfig, folders: Sequence[Path]) -> list[str]:
    """`variant` and `scorer` name at least one option; `aggregate.baseline` names a selected variant."""
    found = []
    for group in ("variant", "scorer"):
        if not cfg.get(group):
            choices = options(list(folders), group)
            found.append(f"{group}: none selected (allowed: {group}=[...] with one or more of {', '.join(choices)})")
        elif not isinstance(cfg[group], DictConfig):  # an option file holding a list or a bare value
            kind = "list" if isinstance(cfg[group], ListConfig) else type(cfg[group]).__name__
            found.append(f"{group}: a selected {group} file holds a {kind}, not a mapping "
                         f"(allowed: each {group}/<option>.yaml holds '<name>: {{_target_: ..., ...}}')")
            return found
    variants = list(cfg.get("variant") or {})
    baseline = _value(cfg, "aggregate.baseline")
    if baseline not in (_MISSING, None) and baseline not in variants:
        found.append(f"aggregate.baseline: {baseline!r} is not a selected variant (allowed: "
                     f"{', '.join(variants) or 'none selected'}, or null for the first one)")
    return found


def job_config_folders() -> list[Path]:
    """Inside a Hydra job: the shipped config folder and a user's own (`--config-dir`)."""
    from hydra.core.hydra_config import HydraConfig

    return [CONFIG_DIR, *(Path(source.path) for source in HydraConfig.get().runtime.config_sources
                          if source.schema == "file" and Path(source.path) != CONFIG_DIR)]


def _secret_names(cfg: DictConfig) -> list[str]:
    """A key pasted where a variable NAME belongs (`api_key_env`, `header_env` values) in any variant,
    scorer or judge node: refused before it is used or logged, and never echoed."""
    found: list[str] = []

    def walk(node: Any, path: str) -> None:
        if not isinstance(node, Mapping):
            return
        for key, value in node.items():
            where = f"{path}.{key}"
            if key == "api_key_env" and value is not None and not _interpolation(value):
                problem = env_name_problem(value)
                found.extend([f"{where}: the value {problem} (the value is not shown)"] if problem else [])
            elif key == "header_env" and isinstance(value, Mapping):
                found.extend(f"{where}.{header}: the value {problem} (the value is not shown)"
                             for header, env in value.items()
                             if not _interpolation(env) and (problem := env_name_problem(env)))
            else:
                walk(value, where)

    for group in ("variant", "scorer", "judge"):
        node = cfg.get(group) if isinstance(cfg, Mapping) else None
        if OmegaConf.is_config(node):
            node = OmegaConf.to_container(node, resolve=False)  # interpolations stay text, nothing resolves
        walk(node, group)
    return found


def _interpolation(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("${")


def _value(cfg: DictConfig, key: str) -> Any:
    try:
        value = OmegaConf.select(cfg, key, default=_MISSING)
    except OmegaConfBaseException as exc:  # a bad interpolation, or ??? left unset
        raise UserError(f"{key}: {str(exc).splitlines()[0]}") from None
    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
