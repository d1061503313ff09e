"""Generic settings machinery: field checks with readable messages, and a parser that collects them.

Nothing here knows this app's settings. pydantic does the structural work (nested objects, lists,
missing and unknown keys, and collecting every error); the field validators below do the type and
range checks with our own messages, and a field that has the wrong type is never range-checked.
Each message names the setting, its value (as JSON, the way it was written) and what is allowed.

A check raises `fail(...)` with messages relative to the setting it checks: "=<value> ..." for a
field, ".<name>=<value> ..." for a field of the object a cross-field check runs on. `parse` prefixes
them with the setting's path.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, NoReturn, TypeVar, get_args, get_origin

from pydantic import ConfigDict, PlainValidator, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass
from pydantic_core import PydanticCustomError

T = TypeVar("T")

# Frozen dataclasses that pydantic validates; an unknown key is an error.
settings_class = dataclass(frozen=True, kw_only=True, config=ConfigDict(extra="forbid"))


class SettingsError(ValueError):
    """Raised with every problem found in a deployment's settings, one per line."""

    def __init__(self, problems: list[str], source: str = ""):
        self.problems = problems
        self.source = source  # e.g. "profile prod, settings file deploy/prod.json"
        heading = f"Invalid settings ({source}):" if source else "Invalid settings:"
        super().__init__("\n".join([heading, *(f"  - {p}" for p in problems)]))


# --------------------------------------------------------------------------- messages


def show(value: Any) -> str:
    """A value the way the user wrote it: JSON, shortened."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    return {int: "a number", float: "a decimal number", str: "a string", type(None): "null", list: "a list",
            tuple: "a list", dict: "an object"}.get(type(value), type(value).__name__)


# Settings that moved, by their old path: an old settings file is told where, not given a look-alike.
MOVED = {"streaming.log_retention_days": "log_retention_days (one retention for every log group of the app)"}


def suggest(name: str, names: Iterable[str]) -> str:
    """ " (did you mean x?)" for a likely typo of one of `names`, else "". """
    names = list(names)
    close = difflib.get_close_matches(name, names, n=1) or [n for n in names if len(name) >= 5 and n[:5] == name[:5]]
    return f" (did you mean {close[0]}?)" if close else ""


def fail(*problems: str) -> NoReturn:
    raise PydanticCustomError("settings", "{problems}", {"problems": list(problems)})


# --------------------------------------------------------------------------- field checks


def number(kind_: type, low: float, high: float, unit: str = "", note: str = "", null: str = "") -> PlainValidator:
    """A whole number (kind_=int) or any number (kind_=float) in low..high; `null` says what null means."""
    or_null = f" (or null {null})" if null else ""

    def check(value: Any) -> Any:
        if value is None and null:
            return None
        if isinstance(value, bool) or not isinstance(value, int if kind_ is int else (int, float)):
            what = "whole number" if kind_ is int else "number"
            fail(f"={show(value)} must be a {what}, not {kind(value)}: allowed {low}..{high}{unit}{or_null}")
        if not low <= value <= high:
            fail(f"={show(value)} is out of range: allowed {low}..{high}{unit}{or_null}{note}")
        return kind_(value)

    return PlainValidator(check)


def one_of(allowed: tuple[Any, ...], what: str, note: str = "") -> PlainValidator:
    def check(value: Any) -> Any:
        # type() too: True == 1 and "14" is not 14.
        if value not in allowed or type(value) is not type(allowed[0]):
            choices = ", ".join(map(str, allowed))
            hint = "; write it without quotes" if isinstance(value, str) and value in map(str, allowed) else ""
            fail(f"={show(value)} is not {what}: use one of {choices}{note}{hint}")
        return value

    return PlainValidator(check)


def flag() -> PlainValidator:
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            fail(f"={show(value)} must be true or false, not {kind(value)}")
        return value

    return PlainValidator(check)


def text(problem: Callable[[str], str | None] = lambda _: None, *, allowed: str = "a string",
         null: str = "") -> PlainValidator:
    """A string; `problem(value)` returns what is wrong with it ("=<value> ...") or None."""

    def check(value: Any) -> Any:
        if value is None and null:
            return None
        if not isinstance(value, str):
            fail(f"={show(value)} must be {allowed}{f' (or null {null})' if null else ''}, not {kind(value)}")
        if (found := problem(value)) is not None:
            fail(found)
        return value

    return PlainValidator(check)


def distinct(value: tuple[Any, ...]) -> tuple[Any, ...]:
    repeated = sorted({v for v in value if value.count(v) > 1})
    if repeated:
        fail(f"={show(list(value))} names {', '.join(map(str, repeated))} more than once: list each at most once")
    return value


# --------------------------------------------------------------------------- parsing


def _unwrap(tp: Any) -> Any:
    """The class behind Annotated[...] and X | None."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
        elif type(None) in get_args(tp):
            (tp,) = [a for a in get_args(tp) if a is not type(None)]
        else:
            return tp


def _keys_at(root: type, loc: tuple[Any, ...]) -> list[str]:
    """The setting names allowed in the object at `loc` below `root`."""
    tp: Any = root
    for part in loc:
        tp = _unwrap(tp)
        if dataclasses.is_dataclass(tp):
            tp = typing.get_type_hints(tp, include_extras=True)[part]
        else:  # tuple[X, ...] or dict[str, X]: the item type
            tp = get_args(tp)[-1 if get_origin(tp) is dict else 0]
    return [f.name for f in dataclasses.fields(_unwrap(tp))]


def _path(loc: tuple[Any, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def _message(root: type, error: Any) -> list[str]:
    """Our messages for one pydantic error: the checks' own, or one for pydantic's structural errors."""
    loc, value, kind_ = tuple(error["loc"]), error["input"], error["type"]
    path = _path(loc)
    if kind_ == "settings":
        return [(path + problem).lstrip(".") if path or problem.startswith(".") else "settings" + problem
                for problem in error["ctx"]["problems"]]
    if kind_ == "missing":
        return [f"{path} is missing"]
    if kind_ == "unexpected_keyword_argument":
        keys = _keys_at(root, loc[:-1])
        hint = f" (it moved to {MOVED[path]})" if path in MOVED else suggest(str(loc[-1]), keys)
        where = f" of {_path(loc[:-1])}" if loc[:-1] else ""
        return [f"{path}={show(value)} is not a setting{hint}: the settings{where} are {', '.join(keys)}"]
    expected = {"dataclass_type": "an object", "dataclass_args_type": "an object", "dict_type": "an object",
                "tuple_type": "a list", "list_type": "a list"}.get(kind_)
    if expected:
        return [f"{path or 'settings'}={show(value)} must be {expected}, not {kind(value)}"]
    return [f"{path or 'settings'}={show(value)}: {error['msg']}"]


@functools.cache
def _adapter(root: type) -> TypeAdapter:
    return TypeAdapter(root)


def parse(root: type[T], raw: Mapping[str, Any]) -> T:
    """Validate a complete raw mapping as a `root` settings class; raise SettingsError with every problem."""
    try:
        return _adapter(root).validate_python(raw)
    except ValidationError as error:
        raise SettingsError([m for e in error.errors(include_url=False) for m in _message(root, e)]) from None


def as_json(root: type[T], settings: T) -> dict[str, Any]:
    """`settings` (a `root`) as the JSON-compatible mapping it was parsed from."""
    return _adapter(root).dump_python(settings, mode="json")


def deep_merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """`overrides` on top of `base`: objects merge key by key, anything else (lists too) replaces."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
