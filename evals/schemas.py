"""Schemas for the component config groups: `variant`, `scorer`, `dataset`, `judge`, `prices`.

A variant's or scorer's schema is the constructor of the class its `_target_` names: each keyword with
its type hint and default. A new component (a user's own too) needs no schema of its own, and the
schema cannot drift from the code. The dataset, the judge and the price table have fixed schemas.
Pydantic checks types, `Literal` choices, required and unknown keys, for every entry at once, before
any data is read or MLflow run made; ranges and cross-field rules stay with the components, which
raise a `UserError` when they are built.
"""

from __future__ import annotations

import collections.abc as abc
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import fields
from functools import cache
from typing import Any, Literal, Union

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model

from evals.calls.limits import Limits
from evals.errors import UserError
from evals.load import OnError

_PLAIN = (str, int, float, bool, type(None), Any)
_CONTAINERS = {abc.Sequence: abc.Sequence, list: list, tuple: tuple, abc.Mapping: abc.Mapping, dict: dict}


def _config_type(hint: Any) -> Any:
    """The part of a type hint a YAML value can have: classes a config cannot hold become Any."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint in _PLAIN or origin is Literal:
        return hint
    if origin in (Union, types.UnionType):
        return Union[tuple(_config_type(a) for a in args)]  # noqa: UP007 -- built from a tuple
    if origin in _CONTAINERS and args:
        return _CONTAINERS[origin][tuple(_config_type(a) for a in args)] if origin is not tuple \
            else tuple[tuple(_config_type(a) for a in args)]
    return Any


def _model(name: str, spec: Mapping[str, tuple[Any, Any]], extra: Literal["forbid", "allow"] = "forbid") -> type:
    """A pydantic model of `spec` (key -> (type, default or ...)). Fields are aliased so a key may be
    any word (`json`, `schema`, `model_x`) without clashing with pydantic's own names."""
    fields_ = {f"f{i}": (hint, Field(default, alias=key)) for i, (key, (hint, default)) in enumerate(spec.items())}
    config = ConfigDict(extra=extra, arbitrary_types_allowed=True, protected_namespaces=())
    return create_model(name, __config__=config, **fields_)  # type: ignore[call-overload]


_LIMITS = _model("limits", {f.name: (_config_type(typing.get_type_hints(Limits)[f.name]), f.default)
                            for f in fields(Limits)})
_PRICE = _model("price", {"input_per_mtok": (float, ...), "output_per_mtok": (float, ...)})
PRICES = dict[str, _PRICE]  # type: ignore[valid-type]
DATASET = _model("dataset", {"name": (str, ...), "path": (str, ...), "history_path": (str | None, None),
                             "policy_path": (str | None, None), "on_error": (OnError, "fail"),
                             "references_path": (str | None, None)})
# Keys whose value has its own schema wherever they appear in a component's arguments.
NESTED: dict[str, Callable[[], Any]] = {"limits": lambda: _LIMITS | None, "prices": lambda: PRICES | None,
                                        "judge": lambda: _judge_model()}


@cache
def _judge_model() -> type:
    from evals.scorers.judge import Judge

    return _signature_model(Judge)


@cache
def _signature_model(built: Callable[..., Any]) -> type:
    """A constructor's (or factory's) keywords as a schema (`name` is the config key, set when built)."""
    function: Any = built.__init__ if inspect.isclass(built) else built
    hints = typing.get_type_hints(function)
    spec: dict[str, tuple[Any, Any]] = {}
    extra: Literal["forbid", "allow"] = "forbid"
    parameters = list(inspect.signature(function).parameters.values())
    for param in parameters[1:] if inspect.isclass(built) else parameters:
        if param.kind is param.VAR_KEYWORD:
            extra = "allow"
        elif param.name != "name" and param.kind is not param.VAR_POSITIONAL:
            hint = NESTED[param.name]() if param.name in NESTED else _config_type(hints.get(param.name, Any))
            spec[param.name] = (hint, ... if param.default is param.empty else param.default)
    return _model(built.__name__, spec, extra)


ALL_GROUPS = ("dataset", "judge", "prices", "variant", "scorer")


def problems(cfg: DictConfig, groups: tuple[str, ...] = ALL_GROUPS) -> list[str]:
    """Every schema problem of the given groups, one line each (key, value, what is allowed)."""
    found: list[str] = []
    for group in groups:
        node, raw = _resolved(cfg, group), OmegaConf.to_container(cfg[group]) if group in cfg else None
        if node is None:
            continue
        if group in ("variant", "scorer"):
            if not isinstance(node, Mapping) or not isinstance(raw, Mapping):
                continue  # settings.check reports an empty or malformed selection
            for key, entry in node.items():
                found += _component(f"{group}.{key}", entry, raw[key])
        else:
            schema = {"dataset": DATASET, "prices": PRICES, "judge": _judge_model()}[group]
            found += _validate(group, schema, node, raw)
    return found


def check(cfg: DictConfig, groups: tuple[str, ...] = ALL_GROUPS) -> None:
    """Raise one `UserError` listing every schema problem of the given groups."""
    if found := problems(cfg, groups):
        raise UserError("; ".join(found))


def _component(where: str, entry: Any, raw: Any) -> list[str]:
    if not isinstance(entry, Mapping):
        return [f"{where}: {entry!r} is not allowed (allowed: a mapping with _target_ and the component's keys)"]
    target = entry.get("_target_")
    if not isinstance(target, str):
        return [f"{where}._target_: missing (allowed: the component's class, e.g. evals.variants.rules.RulesBot)"]
    try:
        built = _locate(target)
    except (ImportError, AttributeError, ValueError) as exc:
        return [f"{where}._target_: cannot import {target!r} ({str(exc).splitlines()[0]})"]
    args = {k: v for k, v in entry.items() if not k.startswith("_") and k != "name"}
    found = _validate(where, _signature_model(built), args, raw)
    if entry.get("_partial_"):  # the rest of the arguments come later, from code
        found = [line for line in found if not line.endswith(": missing")]
    return found


def _locate(target: str) -> Callable[..., Any]:
    """The class or function a `_target_` names (`package.module.Name`)."""
    import importlib

    module, _, attribute = target.rpartition(".")
    if not module:
        raise ValueError("give package.module.Name")
    built = getattr(importlib.import_module(module), attribute)
    if not callable(built):
        raise ValueError(f"{attribute} is not a class or function")
    return built


def _validate(where: str, schema: Any, value: Any, raw: Any = None) -> list[str]:
    """Problems of `value`; a key that only interpolates another checked group (`judge: ${judge}`)
    is that group's to report, once."""
    borrowed = {k for k, v in raw.items() if _group_reference(v)} if isinstance(raw, Mapping) else set()
    try:
        TypeAdapter(schema).validate_python(value)
    except ValidationError as exc:
        return [_line(where, error, schema) for error in exc.errors() if str(error["loc"][0]) not in borrowed]
    return []


def _group_reference(value: Any) -> bool:
    return isinstance(value, str) and value.strip("${} ") in ALL_GROUPS and value.startswith("${")


def _line(where: str, error: Mapping[str, Any], schema: Any) -> str:
    key = ".".join([where, *(str(part) for part in error["loc"])])
    if error["type"] == "extra_forbidden":
        known = _known_keys(schema, error["loc"][:-1])
        return f"{key}: unknown key (known keys: {', '.join(known)})" if known else f"{key}: unknown key"
    if error["type"] == "missing":
        return f"{key}: missing"
    if error["type"] in ("model_type", "model_attributes_type", "dict_type"):
        known = _known_keys(schema, error["loc"])
        return f"{key}: {error['input']!r} is not allowed (allowed: a mapping" + \
            (f" with keys {', '.join(known)})" if known else ")")
    message = error["msg"][0].lower() + error["msg"][1:]
    return f"{key}: {error['input']!r} is not allowed ({message.replace('input should be', 'allowed:')})"


def _known_keys(schema: Any, loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed where an unknown key was found (`loc` leads there from the schema)."""
    hint = schema
    for part in loc:
        hint = _inside(hint, str(part))
    model = _model_in(hint)
    return [str(f.alias) for f in model.model_fields.values()] if model else []


def _inside(hint: Any, part: str) -> Any:
    """The type of `part` within `hint`: a model's field, or a mapping's values."""
    if model := _model_in(hint):
        return next((f.annotation for f in model.model_fields.values() if f.alias == part), None)
    for arg in (hint, *typing.get_args(hint)):
        if typing.get_origin(arg) in (dict, abc.Mapping):
            return typing.get_args(arg)[1]
    return None


def _model_in(hint: Any) -> type[BaseModel] | None:
    """The model `hint` is, or the one in `Model | None`."""
    union = typing.get_origin(hint) in (Union, types.UnionType)
    for arg in (hint, *(typing.get_args(hint) if union else ())):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _resolved(cfg: DictConfig, key: str) -> Any:
    try:
        value = OmegaConf.select(cfg, key, default=None)
        return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
    except OmegaConfBaseException as exc:  # a bad interpolation, or ??? left unset
        raise UserError(f"{key}: {str(exc).splitlines()[0]}") from None
