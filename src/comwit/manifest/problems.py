"""Turn validation failures into `Problem`s: file:line:col, the field path, and what to do."""

from __future__ import annotations

import datetime
import difflib
import math
import types
from collections.abc import Mapping
from dataclasses import field
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from comwit.errors import Problem
from comwit.escape import cut, quoted
from comwit.frozen import frozen
from comwit.manifest.locate import Path, Position
from comwit.manifest.overlay import origin_of

_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "bool_type": "a boolean (true or false)",
    "list_type": "an array",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}


@frozen
class SourceMap:
    """Where things are in one manifest file, and where overlaid values came from."""

    file: str
    positions: Mapping[Path, Position] = field(default_factory=dict)
    origins: Mapping[Path, Path] = field(default_factory=dict)

    def problem(self, path: Path, message: str) -> Problem:
        """A problem about `path` of the (merged) document, located in the file."""
        source = origin_of(path, self.origins)
        line, column = self._position(source)
        return Problem(self.file, line, column, format_path(source), message)

    def _position(self, path: Path) -> tuple[int, int]:
        """Where `path`, or its longest prefix that the file spells out, starts; a problem
        with the file as a whole (a missing top-level key) is at its start, 1:1."""
        for end in range(len(path), 0, -1):
            position = self.positions.get(path[:end])
            if position is not None:
                return position
        return 1, 1


def format_path(path: Path) -> str:
    """`apps.web.hosts[1]`: dots between keys, brackets around indexes, quotes where needed."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            key = part if part and part.replace("-", "").replace("_", "").isalnum() else f'"{part}"'
            text += f".{key}" if text else key
    return text


def validation_problems(
    exc: ValidationError, document: Mapping[str, Any], model: type[BaseModel], source: SourceMap
) -> list[Problem]:
    """One problem per pydantic error, located at the deepest part of its path that exists."""
    problems = []
    for error in exc.errors(include_url=False):
        path = _existing_path(document, _clean(error["loc"]))
        problems.append(source.problem(path, _message(error, path, model)))
    return problems


def suggest(word: str, choices: list[str]) -> str | None:
    """The choice the user most likely meant: a close spelling, or one `word` abbreviates."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return close[0]
    longer = sorted(choice for choice in choices if choice.startswith(word) and word)
    return longer[0] if len(longer) == 1 else None


def toml_type(value: object) -> str:
    """The TOML name of a parsed value's type."""
    match value:
        case bool():
            return "boolean"
        case int():
            return "integer"
        case float():
            return "float"
        case str():
            return "string"
        case list():
            return "array"
        case dict():
            return "table"
        case datetime.date() | datetime.time():
            return "date-time"
    return type(value).__name__


def _clean(loc: tuple[int | str, ...]) -> Path:
    return tuple(part for part in loc if part != "[key]")


def _existing_path(document: Mapping[str, Any], loc: Path) -> Path:
    """The error's path cut where the document ends: a missing key is kept, a scalar stops it."""
    node: Any = document
    kept: list[str | int] = []
    for part in loc:
        if isinstance(node, Mapping) and isinstance(part, str):
            kept.append(part)
            if part not in node:
                break
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            kept.append(part)
            node = node[part]
        else:
            break
    return tuple(kept)


def _message(error: ErrorDetails, path: Path, model: type[BaseModel]) -> str:
    kind = error["type"]
    given = error["input"]
    if kind == "extra_forbidden":
        return _unknown_key(path, model)
    if kind == "missing":
        return _missing(path)
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {toml_type(given)}{_show(given)}"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"must be {expected}, {_got(given)}"
    if kind == "greater_than":
        return f"must be greater than {error.get('ctx', {}).get('gt')}, {_got(given)}"
    if kind == "less_than_equal":
        return f"must be at most {error.get('ctx', {}).get('le')}, {_got(given)}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        most = error.get("ctx", {}).get("max_length")
        return f"must be at most {most} characters, not {len(given)}; shorten it"
    if kind == "too_short" and path == ("apps",):
        return "no apps: add at least one [apps.NAME] table"
    message = error["msg"]
    return message.removeprefix("Value error, ")


def _unknown_key(path: Path, model: type[BaseModel]) -> str:
    key = str(path[-1])
    known = _fields_at(model, path[:-1])
    message = f"unknown key {quoted(key)}"
    close = suggest(key, known)
    if close:
        return f"{message}; did you mean {quoted(close)}?"
    if known:
        return f"{message}; expected one of: {', '.join(sorted(known))}"
    return message


def _missing(path: Path) -> str:
    key = str(path[-1])
    if path == ("version",):
        return "missing 'version'; add `version = 1` at the top of the file"
    if path == ("apps",):
        return "no apps: add at least one [apps.NAME] table"
    return f"missing required key {quoted(key)}"


def _fields_at(model: type[BaseModel], path: Path) -> list[str]:
    """The keys a table at `path` accepts, found by walking the model's annotations."""
    annotation: Any = model
    for part in path:
        annotation = _step(annotation, part)
        if annotation is None:
            return []
    target = _model_in(annotation)
    return list(target.model_fields) if target else []


def _step(annotation: Any, part: str | int) -> Any:
    target = _model_in(annotation)
    if target is not None and isinstance(part, str):
        info = target.model_fields.get(part)
        return info.annotation if info else None
    for candidate in _members(annotation):
        origin = get_origin(candidate)
        if origin is dict and isinstance(part, str):
            return get_args(candidate)[1]
        if origin is list and isinstance(part, int):
            return get_args(candidate)[0]
    return None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    for candidate in _members(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _members(annotation: Any) -> list[Any]:
    """`annotation` without Annotated wrappers, and each member when it is a union."""
    while hasattr(annotation, "__metadata__"):
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        return [member for arg in get_args(annotation) for member in _members(arg)]
    return [annotation]


def _got(value: object) -> str:
    if _huge(value):
        return f"got an integer{_show(value)}"
    return f"got{_show(value)}" if _show(value) else f"got a {toml_type(value)}"


def _show(value: object) -> str:
    """` 'value'` (with its leading space, `cut` when long) for a scalar; nothing for a table
    or array."""
    if isinstance(value, dict | list):
        return ""
    if isinstance(value, int) and _huge(value):  # too long for str(): Python refuses it
        return f" of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    return " " + (quoted(value) if isinstance(value, str) else cut(str(value).lower()))


def _huge(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128
