"""A params file read into Params: each YAML mapping becomes its section's dataclass, each value
its field's type, and each section's checks run as it is built.

Every key must be present and known: the committed profiles list them all, so a misspelt key
is caught instead of silently falling back to a default. Each problem stops with one sentence
that names the key and says what to do.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from pathlib import Path
from typing import Any, Literal

import yaml

from emo.config.params import Params
from emo.config.reads import Section, bind, reads_unlogged
from emo.errors import ConfigError

PARAMS_FILE = Path("params.yaml")

# Keys renamed since a params file may have been written: old key -> new key. The parser names
# the new key instead of calling the old one unknown.
RENAMED = {
    "tune.units": "tune.lstm_units",
    "tune.neurons": "tune.dense_units",
    "attribute.mask": "attribute.aggregate",
    "demo.recordings.neutral_s": "demo.recordings.neutral_range_s",
    "demo.recordings.apex_s": "demo.recordings.apex_range_s",
}


def load_params(path: str | Path = PARAMS_FILE) -> Params:
    """Read and validate a params file; raise ConfigError naming the first bad key."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path} not found; run from the project root or copy a profile from profiles/ to {path}.")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path} is not valid YAML{where}; fix its syntax.") from None
    return parse_params(raw, str(path))


def parse_params(raw: Any, source: str = "params.yaml") -> Params:
    with reads_unlogged():  # validation reads every key; only a stage's own reads are logged
        return _build(Params, raw, source, "")


def _build(cls: type, raw: Any, source: str, prefix: str):
    where = f"'{prefix}'" if prefix else "the top level"
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: {where} must be a mapping of keys; see profiles/paper.yaml for its shape.")
    names = [f.name for f in dataclasses.fields(cls)]
    for k in raw:
        if k not in names:
            full = f"{prefix}.{k}" if prefix else str(k)
            if full in RENAMED:
                raise ConfigError(f"{source}: {full} was renamed {RENAMED[full]}; rename the key.")
            raise ConfigError(
                f"{source}: unknown key '{full}'; remove it or use one of: {', '.join(names)}."
            )
    hints = typing.get_type_hints(cls)
    values = {}
    for name in names:
        full = f"{prefix}.{name}" if prefix else name
        if name not in raw:
            raise ConfigError(f"{source}: key '{full}' is missing; add it (profiles/paper.yaml lists every key).")
        values[name] = _convert(hints[name], raw[name], source, full)
    obj = cls(**values)
    if isinstance(obj, Section):
        bind(obj, prefix)
    check = getattr(obj, "check", None)
    if check is not None:
        check(lambda k: f"{source}: {prefix}.{k}" if prefix else f"{source}: {k}")
    return obj


def _fail(source: str, key: str, value: Any, expected: str) -> typing.NoReturn:
    raise ConfigError(f"{source}: '{key}' must be {expected}, not {value!r}; fix its value.")


def _convert(hint: Any, value: Any, source: str, key: str):
    """`value` as type `hint`: a section, one of a Literal's values, one of a union's types, a
    container of them, or a plain value."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, source, key)
    if origin is Literal:
        if value not in args:
            _fail(source, key, value, "one of " + ", ".join(repr(a) for a in args))
        return value
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            try:
                return _convert(arg, value, source, key)
            except ConfigError:
                continue
        _fail(source, key, value, " or ".join(_describe(a) for a in args))
    if origin in (tuple, list, dict):
        return _convert_container(origin, args, value, source, key)
    return _convert_plain(hint, value, source, key)


def _convert_container(origin: type, args: tuple, value: Any, source: str, key: str):
    """A YAML list as a tuple (of any length, or one value per type) or a list; a mapping as a dict."""
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        if not isinstance(value, list):
            _fail(source, key, value, f"a list of {_plural(args[0])}")
        return tuple(_convert(args[0], v, source, f"{key}[{i}]") for i, v in enumerate(value))
    if origin is tuple:
        if not isinstance(value, list) or len(value) != len(args):
            _fail(source, key, value, f"a list of {len(args)} values")
        return tuple(_convert(a, v, source, f"{key}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if origin is list:
        if not isinstance(value, list):
            _fail(source, key, value, f"a list of {_plural(args[0])}")
        return [_convert(args[0], v, source, f"{key}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, dict):
        _fail(source, key, value, "a mapping")
    return {_convert(args[0], k, source, key): _convert(args[1], v, source, f"{key}.{k}") for k, v in value.items()}


def _convert_plain(hint: Any, value: Any, source: str, key: str):
    """A YAML scalar as null, a bool, an int, a finite float, a string or a path."""
    if hint is type(None):
        if value is not None:
            _fail(source, key, value, "null")
        return None
    if hint is bool:
        if not isinstance(value, bool):
            _fail(source, key, value, "true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(source, key, value, "an integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _fail(source, key, value, "a number")
        if not math.isfinite(value):  # .nan and .inf slip past one-sided checks such as C <= 0
            _fail(source, key, value, "a finite number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            _fail(source, key, value, "a string")
        return value
    if hint is Path:
        if not isinstance(value, str) or not value:
            _fail(source, key, value, "a path")
        return Path(value)
    raise TypeError(f"unsupported params type {hint!r} for {key}")


def _describe(hint: Any) -> str:
    if typing.get_origin(hint) is Literal:
        return " or ".join(repr(a) for a in typing.get_args(hint))
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false", type(None): "null"}.get(
        hint, str(hint)
    )


def _plural(hint: Any) -> str:
    """What a list holds, e.g. 'integers', "'random' or 'bottom' values"."""
    if typing.get_origin(hint) is Literal:
        return f"{_describe(hint)} values"
    return {int: "integers", float: "numbers", str: "strings", bool: "true or false values", Path: "paths"}.get(
        hint, str(hint))
