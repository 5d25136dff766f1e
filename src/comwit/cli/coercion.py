"""Option and argument values from the command line as Python values, without pydantic.

typer 0.29 checks each value through a pydantic TypeAdapter that it builds per parameter (even
for a default of None), so parsing any command with an option imports pydantic: about as much
as the rest of a short command's start-up. The annotations comwit's commands use are plain
(str; int and float, with typer's min/max; bool; Path; enums and Literals; lists of these), and
`coerce_plainly` gives such a parameter comwit's own conversion, through typer's runtime
parameter contract (`coerce(value, param, ctx)`). Any other annotation, and any typer whose
parameters lack that contract, keeps typer's own coercion.
"""

from __future__ import annotations

import enum
import functools
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args, get_origin

import typer

from comwit.cli.paths import checked_path
from comwit.escape import quoted
from comwit.frozen import frozen

if TYPE_CHECKING:
    from typer._click import Command, Context, Parameter
    from typer.core import TyperArgument, TyperOption

# A value from argv, an env var or a default -> its Python value; ValueError says what is wrong.
Convert = Callable[[Any], Any]


def coerce_plainly(command: Command) -> None:
    """Give every parameter of `command` (and of its subcommands) with a plain annotation
    comwit's conversion; leave the others, and a typer that works otherwise, alone."""
    for param in command.params:
        coerce_param(param)
    for sub in getattr(command, "commands", {}).values():
        coerce_plainly(sub)


def coerce_param(param: Parameter | None) -> None:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or getattr(param, "_runtime_param", False) is not None:
        return  # not typer 0.29's parameter, or its coercion is already made
    many = get_origin(descriptor.annotation) is list
    item = get_args(descriptor.annotation)[0] if many else descriptor.annotation
    convert = converter(item, descriptor.parameter_info)
    if convert is not None:
        param._runtime_param = PlainValues(convert, many)  # type: ignore[union-attr]


@frozen
class PlainValues:
    """typer's runtime parameter (what `process_value` asks to coerce a value) for one
    plain annotation, or a list of it."""

    convert: Convert
    many: bool

    def coerce(self, value: Any, param: TyperArgument | TyperOption, ctx: Context) -> Any:
        multiple = param.multiple or param.nargs == -1
        if value is None:
            return () if multiple else None
        if multiple and isinstance(value, str):
            raise typer.BadParameter("Value must be an iterable.", ctx=ctx, param=param)
        try:
            if self.many:
                items = value if isinstance(value, list | tuple) else [value]
                return [self.convert(each) for each in items]
            return self.convert(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), ctx=ctx, param=param) from exc


def converter(annotation: Any, info: Any) -> Convert | None:
    """The conversion of a plain annotation with these typer settings; None: not plain."""
    if info.parser is not None:
        return None
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return functools.partial(_choice, tuple(annotation), info.case_sensitive)
    if get_origin(annotation) is Literal:
        return functools.partial(_choice, get_args(annotation), info.case_sensitive)
    if annotation is str:
        return _text
    if annotation is bool:
        return _boolean
    if annotation in (int, float) and not info.clamp:
        return functools.partial(_number, annotation, info.min, info.max)
    if annotation is Path and _plain_path(info):
        return functools.partial(checked_path, info=info)
    return None


def _text(value: Any) -> str:
    return os.fsdecode(value) if isinstance(value, bytes) else str(value)


_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"", "0", "off", "f", "false", "n", "no"})


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise ValueError("must be true or false")


def _number(kind: type[int | float], low: float | None, high: float | None, value: Any) -> float:
    """A whole number (`int`) or a number (`float`), within typer's min and max (NaN is
    within neither)."""
    number = _parse_number(kind, value)
    if low is not None and not number >= low:
        raise ValueError(f"must be at least {low}")
    if high is not None and not number <= high:
        raise ValueError(f"must be at most {high}")
    return number


def _parse_number(kind: type[int | float], value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if kind is float or isinstance(value, int) or value.is_integer():
            return kind(value)
    elif isinstance(value, str) and value.isascii():  # int() and float() take any digits
        try:
            return _whole(value) if kind is int else float(value)
        except ValueError:
            pass
    raise ValueError("must be a whole number" if kind is int else "must be a number")


def _whole(text: str) -> int:
    """A whole number as typer has read one: int()'s digits, or with a fraction of zeros (4.0)."""
    whole, dot, zeros = text.strip().partition(".")
    return int(whole if dot and zeros and not zeros.strip("0") else text)


def _choice(choices: Sequence[Any], case_sensitive: bool, value: Any) -> Any:
    """One of an enum's members or a Literal's values, named by its value, as typer does."""
    if any(value is choice for choice in choices if isinstance(choice, enum.Enum)):
        return value
    wanted = _fold(value, case_sensitive)
    named = {choice: _fold(choice, case_sensitive) for choice in choices}
    for choice, name in named.items():
        if name == wanted:
            return choice
    listed = ", ".join(map(quoted, named.values()))
    raise ValueError(f"{quoted(value)} is not one of {listed}.")


def _fold(choice: Any, case_sensitive: bool) -> str:
    name = str(choice.value) if isinstance(choice, enum.Enum) else str(choice)
    return name if case_sensitive else name.casefold()


def _plain_path(info: Any) -> bool:
    """Path settings that ask only about what is at the path (none that resolve or rename it)."""
    return not (info.resolve_path or info.allow_dash or info.path_type)
