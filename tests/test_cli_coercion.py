"""comwit's conversion of option values: what typer's own (pydantic's) conversion gives, value for
value and error for error as a user reads it, for every kind of annotation the commands use."""

from __future__ import annotations

import enum
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any, Literal

import pytest
import typer
import typer.main
from pydantic import ValidationError
from typer import _adapters
from typer._display import get_error_msg
from typer.models import OptionInfo

from comwit.cli.app import typer_app
from comwit.cli.coercion import PlainValues, coerce_param, coerce_plainly, converter
from comwit.cli.usage import usage_error


class Colour(enum.StrEnum):
    red = "red"
    dark_blue = "dark-blue"


WHOLE = (int, {"min": 1, "max": 64})
NUMBER = (float, {"min": 0})
CASES = [
    (WHOLE, ["4", " 4 ", "+4", "1_0", "4.0", "-4.00", 16, "0", "65", "-1", "x", "4.5", "4.", "", "٣", "1e1", 4.0]),
    ((int, {}), ["-7", "0", "12345678901234567890", "0x10"]),
    (NUMBER, ["0.5", "1e3", " 2 ", "1_0.5", "inf", 0.0, 3, "-0.1", "nan", "x", ""]),
    ((float, {"max": 10}), ["10", "10.0001", "-inf"]),
    ((str, {}), ["w*", "", "ünï", "a b"]),
    ((bool, {}), ["yes", "Off", "TRUE", " 1 ", "", "0", True, False, "maybe", "2"]),
    ((Path, {}), ["out.tar.zst", "a/b/", " x ", Path("p")]),
    ((Colour, {}), ["red", "dark-blue", Colour.red, "RED", "dark_blue", "blue", ""]),
    ((Colour, {"case_sensitive": False}), ["RED", "Dark-Blue", "green"]),
    ((Literal["a", "b"], {}), ["a", "b", "c"]),
    ((Literal[1, 2], {}), ["1", 2, "3"]),
    ((list[str], {}), [("a", "b"), [], ("",)]),
    ((list[int], {"max": 9}), [("1", "2"), ("1", "10"), ("x",)]),
    ((list[Path], {}), [("a", "b")]),
    ((list[Colour], {}), [("red",), ("red", "pink")]),
]  # fmt: skip
PAIRS = [(kind, value) for kind, values in CASES for value in values]


@pytest.mark.parametrize(("kind", "value"), PAIRS, ids=[f"{k[0]}-{v!r}" for k, v in PAIRS])
def test_a_plain_value_converts_as_typer_converts_it(kind: tuple[Any, dict[str, Any]], value):
    annotation, settings = kind
    info = OptionInfo(**settings)
    theirs, their_error = _typer_converts(annotation, info, value)
    ours, our_error = _comwit_converts(annotation, info, value)
    assert our_error == their_error
    assert ours == theirs
    assert type(ours) is type(theirs)


PATH_SETTINGS = [
    {},
    {"exists": True},
    {"file_okay": False},
    {"dir_okay": False},
    {"readable": False},
]


@pytest.mark.parametrize("settings", PATH_SETTINGS, ids=["plain", "exists", "dir", "file", "any"])
@pytest.mark.parametrize("there", ["file", "dir", "nothing"])
def test_a_path_is_checked_as_typer_checks_it(tmp_path, settings, there):
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir()
    info = OptionInfo(**settings)
    value = str(tmp_path / there)
    assert _comwit_converts(Path, info, value) == _typer_converts(Path, info, value)


@pytest.mark.parametrize(
    ("settings", "named"), [({}, "a file"), ({"file_okay": False}, "a directory")]
)  # fmt: skip
def test_an_empty_path_is_refused_where_typer_takes_it_for_the_directory(settings, named):
    info, value = OptionInfo(**settings), ""
    assert _typer_converts(Path, info, value)[0] == Path()
    assert _comwit_converts(Path, info, value) == (
        None,
        f"error: --x: an empty path; pass {named} name (see `comwit --help`)",
    )


def _typer_converts(annotation: Any, info: OptionInfo, value: Any) -> tuple[Any, str | None]:
    adapter = _adapters.try_build_adapter(annotation, info)
    assert adapter is not None
    try:
        return adapter.validate_python(value), None
    except ValidationError as exc:
        return None, usage_error(typer.BadParameter(get_error_msg(exc), param=_option(False)))
    except typer.BadParameter as exc:  # a path's checks say it themselves
        return None, usage_error(typer.BadParameter(exc.message, param=_option(False)))


def _comwit_converts(annotation: Any, info: OptionInfo, value: Any) -> tuple[Any, str | None]:
    many = annotation.__origin__ is list if hasattr(annotation, "__origin__") else False
    convert = converter(annotation.__args__[0] if many else annotation, info)
    assert convert is not None, annotation
    try:
        return PlainValues(convert, many).coerce(value, _option(many), None), None
    except typer.BadParameter as exc:
        return None, usage_error(exc)


def _option(multiple: bool) -> Any:
    """What the conversion reads of an option, and its errors of its name."""
    return SimpleNamespace(multiple=multiple, nargs=1, get_error_hint=lambda: "'--x'")


def test_an_unset_value_stays_unset_and_a_list_of_none_is_empty():
    assert PlainValues(str, many=False).coerce(None, _option(False), None) is None
    assert PlainValues(str, many=True).coerce(None, _option(True), None) == ()
    with pytest.raises(typer.BadParameter, match="iterable"):
        PlainValues(str, many=True).coerce("a", _option(True), None)


@pytest.mark.parametrize(
    ("annotation", "settings"),
    [
        (datetime, {}),
        (int, {"min": 1, "clamp": True}),
        (str, {"parser": str.upper}),
        (Path, {"resolve_path": True}),
        (Path, {"allow_dash": True}),
        (Path, {"path_type": str}),
        (tuple[int, int], {}),
    ],
    ids=["datetime", "clamp", "parser", "resolve", "dash", "path type", "tuple"],
)
def test_what_is_not_plain_is_left_to_typer(annotation, settings):
    assert converter(annotation, OptionInfo(**settings)) is None


def test_a_command_converts_plain_options_itself_and_others_through_typer():
    app = typer_app()
    got: dict[str, Any] = {}

    @app.command()
    def run(
        level: Annotated[int, typer.Option(min=1, max=19)] = 3,
        when: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"])] = None,
    ) -> None:
        got.update(level=level, when=when)

    command = typer.main.get_command(app)
    coerce_plainly(command)
    level, when = command.params
    assert isinstance(level._runtime_param, PlainValues)  # type: ignore[attr-defined]
    assert when._runtime_param is None  # type: ignore[attr-defined]
    command.main(["--level", "7", "--when", "2026-12-02"], standalone_mode=False)
    assert got == {"level": 7, "when": datetime(2026, 12, 2)}
    with pytest.raises(typer.BadParameter, match="must be at most 19"):
        command.main(["--level", "20"], standalone_mode=False)


def test_a_parameter_without_typers_runtime_contract_is_left_as_it_is():
    descriptor = SimpleNamespace(annotation=int, parameter_info=OptionInfo())
    older = SimpleNamespace(type_descriptor=descriptor)  # no _runtime_param: another typer
    coerce_param(older)  # type: ignore[arg-type]
    assert not hasattr(older, "_runtime_param")
    coerce_param(SimpleNamespace(name="x"))  # type: ignore[arg-type]  # a click parameter
    coerce_param(None)
