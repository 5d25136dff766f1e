"""`@frozen` makes what `@dataclass(frozen=True)` makes, without compiling code per class."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any

import pydantic
import pytest

from comwit.frozen import frozen


@frozen
class Entry:
    """A value with the kinds of fields comwit's values have."""

    name: str
    size: int | None = None
    tags: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Twin:
    """The same value as the standard library makes it."""

    name: str
    size: int | None = None
    tags: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)


@frozen
class Longer(Entry):
    extra: bool = False


@frozen
class Key:
    name: str
    size: int | float | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class KeyTwin:
    name: str
    size: int | float | None = None
    tags: tuple[str, ...] = ()


@frozen
class Undocumented:
    only: int


def test_it_is_a_dataclass_with_the_same_fields_as_the_standard_one() -> None:
    assert dataclasses.is_dataclass(Entry)
    mine = [(f.name, f.type, f.default) for f in dataclasses.fields(Entry)]
    theirs = [(f.name, f.type, f.default) for f in dataclasses.fields(Twin)]
    assert mine == theirs
    assert Entry.__match_args__ == Twin.__match_args__ == ("name", "size", "tags", "env")


def test_arguments_bind_as_the_standard_init_binds_them() -> None:
    for args, kwargs in [(("a",), {}), (("a", 3), {"env": {"K": "v"}}), ((), {"name": "b"})]:
        mine, theirs = Entry(*args, **kwargs), Twin(*args, **kwargs)
        assert dataclasses.asdict(mine) == dataclasses.asdict(theirs)
    assert Entry("a").env is not Entry("a").env  # a fresh default from the factory each time
    # vars() lists the fields in their order, however the arguments came (output relies on it)
    assert list(vars(Entry(env={}, tags=(), name="a"))) == ["name", "size", "tags", "env"]


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((), {}, "missing required argument: 'name'"),
        (("a", 1, (), {}, "surplus"), {}, "takes 4 arguments but 5 were given"),
        (("a",), {"colour": "red"}, "unexpected keyword argument 'colour'"),
        (("a",), {"name": "b"}, "multiple values for argument 'name'"),
    ],
)
def test_wrong_arguments_raise_type_error(
    args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        Entry(*args, **kwargs)


def test_equality_hash_and_repr_match_the_standard_ones() -> None:
    a, b, c = Key("a", 1, ("x",)), Key("a", 1, ("x",)), Key("a", 2)
    assert a == b and hash(a) == hash(b) and len({a, b, c}) == 2
    assert a != c
    assert a != KeyTwin("a", 1, ("x",))  # another class is never equal, as with dataclasses
    assert Longer("a") != Entry("a")
    nan = Key("n", float("nan"))
    assert nan == Key("n", nan.size)  # the same object inside compares equal, as in a tuple
    assert repr(a) == repr(KeyTwin("a", 1, ("x",))).replace("KeyTwin", "Key")
    assert hash(a) == hash(KeyTwin("a", 1, ("x",)))
    assert repr(Entry("a")) == repr(Twin("a")).replace("Twin", "Entry")
    with pytest.raises(TypeError, match="unhashable"):
        hash(Entry("a"))  # a dict inside, as with dataclasses


def test_fields_cannot_be_assigned_or_deleted() -> None:
    entry = Entry("a")
    with pytest.raises(FrozenInstanceError):
        entry.name = "b"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del entry.name
    assert entry.name == "a"


def test_replace_copy_pickle_and_match_work_as_on_dataclasses() -> None:
    entry = Entry("a", 1)
    assert dataclasses.replace(entry, size=2) == Entry("a", 2)
    assert copy.copy(entry) == entry and copy.deepcopy(entry) == entry
    assert pickle.loads(pickle.dumps(entry)) == entry
    match entry:
        case Entry(name, size):
            assert (name, size) == ("a", 1)
        case _:
            pytest.fail("the positional pattern did not match")


def test_a_subclass_adds_its_fields_after_the_base_fields() -> None:
    longer = Longer("a", 1, extra=True)
    assert [f.name for f in dataclasses.fields(longer)] == ["name", "size", "tags", "env", "extra"]
    assert longer.extra and repr(longer).startswith("Longer(name='a', size=1,")


def test_an_undocumented_class_gets_a_short_docstring_of_its_own() -> None:
    assert Undocumented.__doc__ == "Undocumented"
    assert Entry.__doc__ == "A value with the kinds of fields comwit's values have."


def test_pydantic_validates_and_dumps_a_frozen_value_inside_a_model() -> None:
    class Holder(pydantic.BaseModel):
        entry: Entry

    held = Holder.model_validate({"entry": {"name": "a", "tags": ["x"]}})
    assert held.entry == Entry("a", None, ("x",))
    assert held.model_dump() == {"entry": {"name": "a", "size": None, "tags": ("x",), "env": {}}}


def test_field_options_it_does_not_implement_are_refused() -> None:
    with pytest.raises(TypeError, match="plain fields only"):

        @frozen
        class Hidden:
            secret: str = field(repr=False)

    with pytest.raises(TypeError, match="no __post_init__"):

        @frozen
        class Checked:
            value: int

            def __post_init__(self) -> None:
                pass


@contextmanager
def _compiled_code() -> Iterator[list[str]]:
    """The names of the code-compiling builtins (exec, eval, compile) called meanwhile."""
    seen: list[str] = []
    watched = {exec, eval, compile}

    def profile(frame: object, event: str, arg: object) -> None:
        if event == "c_call" and arg in watched:
            seen.append(getattr(arg, "__name__", "?"))

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        yield seen
    finally:
        sys.setprofile(previous)


def test_making_a_class_compiles_no_code_where_the_standard_decorator_does() -> None:
    with _compiled_code() as standard:

        @dataclass(frozen=True)
        class Standard:
            name: str
            size: int = 0

    with _compiled_code() as mine:

        @frozen
        class Mine:
            name: str
            size: int = 0

    assert standard  # the probe sees dataclasses write its methods
    assert mine == []
    assert Mine("a") == Mine("a", 0) and Standard("a") == Standard("a", 0)


@frozen(order=True)
class Ranked:
    line: int
    name: str = ""


@dataclass(frozen=True, order=True)
class RankedTwin:
    line: int
    name: str = ""


def test_order_true_sorts_by_the_fields_in_turn_as_the_standard_one_does() -> None:
    pairs = [(3, "a"), (1, "z"), (1, "b"), (2, "")]
    mine = sorted(Ranked(*pair) for pair in pairs)
    theirs = sorted(RankedTwin(*pair) for pair in pairs)
    assert [(r.line, r.name) for r in mine] == [(r.line, r.name) for r in theirs]
    assert Ranked(1) <= Ranked(1) < Ranked(2) and Ranked(2) >= Ranked(2) > Ranked(1)
    with pytest.raises(TypeError):
        _ = Ranked(1) < RankedTwin(1)  # another class does not compare, as with dataclasses
    with pytest.raises(TypeError):
        _ = Key("a") < Key("b")  # type: ignore[operator]  # no order unless asked for
