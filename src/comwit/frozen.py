"""Frozen values: `@frozen` makes a class the frozen dataclass `@dataclass(frozen=True)` makes,
without writing out and compiling six methods for it, which on Python 3.11 costs about 4 M
instructions a class (a `plan` defines some fifty: a fifth of its start-up).

The class is a real dataclass (`dataclasses.fields`, `replace`, `asdict`, `is_dataclass` and
pydantic see its fields), and `==`, `hash`, `repr`, `match` and FrozenInstanceError behave as
the dataclass's own; the methods are shared functions that read the class's field names.
Making an instance costs what the generated `__init__` costs, or less (the new instance's
`__dict__` is one copy of a template, filled in by the arguments).
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

_T = TypeVar("_T")
_SPEC = "__frozen_spec__"


class _Spec:
    """What the shared methods read from a class (a plain class: a NamedTuple costs more)."""

    __slots__ = ("fill", "key", "known", "names", "template")

    def __init__(self, fields: tuple[dataclasses.Field[Any], ...]) -> None:
        self.names = tuple(each.name for each in fields)  # __init__'s parameters, in order
        self.known = frozenset(self.names)
        # A new instance's __dict__ starts as a copy of this (in field order, as vars() shows
        # it); the fields without a plain default are then checked one by one.
        self.template = {each.name: _default(each) for each in fields}
        self.fill = tuple(
            (each.name, each.default_factory)
            for each in fields
            if each.default is dataclasses.MISSING
        )
        self.key = _key(self.names)  # the field values, as a tuple: what ==, < and hash compare


_REQUIRED = object()  # stands for a field's value until an argument gives it
_FACTORY = object()  # stands for a field's value until its default_factory makes it


def _default(field: dataclasses.Field[Any]) -> object:
    if field.default is not dataclasses.MISSING:
        return field.default
    return _REQUIRED if field.default_factory is dataclasses.MISSING else _FACTORY


@overload
def frozen(cls: type[_T], /) -> type[_T]: ...


@overload
def frozen(*, order: bool = False) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def frozen(
    cls: type[_T] | None = None, /, *, order: bool = False
) -> type[_T] | Callable[[type[_T]], type[_T]]:
    """`cls` made a frozen dataclass, as `@dataclass(frozen=True)` (`@frozen(order=True)`:
    `@dataclass(frozen=True, order=True)`) would make it."""
    if cls is None:
        return lambda each: _make(each, order=order)
    return _make(cls, order=order)


def _make(cls: type[_T], *, order: bool) -> type[_T]:
    if not cls.__dict__.get("__doc__"):
        # dataclass would write one from inspect.signature(cls): most of what it costs here
        cls.__doc__ = cls.__name__
    dataclasses.dataclass(init=False, repr=False, eq=False)(cls)
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    for each in fields:
        if not (each.init and each.repr and each.compare and each.hash is None) or each.kw_only:
            raise TypeError(f"{cls.__name__}.{each.name}: @frozen takes plain fields only")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: @frozen has no __post_init__; use @dataclass")
    setattr(cls, _SPEC, _Spec(fields))
    _install(cls, order=order)
    return cls


def _key(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    if not names:
        return lambda value: ()
    if len(names) == 1:
        one = operator.attrgetter(names[0])
        return lambda value: (one(value),)
    return operator.attrgetter(*names)


def _install(cls: type, *, order: bool) -> None:
    own = cls.__dict__
    guarded = ("__setattr__", "__delattr__", *(_ORDER if order else ()))
    for name in guarded:
        if name in own:
            raise TypeError(f"{cls.__name__}: a frozen class cannot define {name}")
    shared: dict[str, Callable[..., object]] = {"__init__": _init, "__repr__": _repr, "__eq__": _eq}
    for name, method in shared.items():
        if name not in own:
            setattr(cls, name, method)
    for name, method in _ORDER.items() if order else ():
        setattr(cls, name, method)
    # As dataclass decides: a __hash__ of the class's own stays, unless it is the None that
    # defining __eq__ leaves behind.
    if own.get("__hash__") is None:
        cls.__hash__ = _hash  # type: ignore[method-assign,assignment]
    cls.__setattr__ = _setattr  # type: ignore[method-assign,assignment]
    cls.__delattr__ = _delattr  # type: ignore[method-assign,assignment]


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    spec: _Spec = getattr(self, _SPEC)
    values = spec.template.copy()
    if args:
        if len(args) > len(spec.names):
            raise TypeError(
                f"{type(self).__name__}() takes {len(spec.names)} arguments "
                f"but {len(args)} were given"
            )
        values.update(zip(spec.names, args, strict=False))
    if kwargs:
        given = spec.names[: len(args)]
        if not spec.known.issuperset(kwargs) or not kwargs.keys().isdisjoint(given):
            _refuse(self, spec, given, kwargs)
        values.update(kwargs)
    for name, factory in spec.fill:
        value = values[name]
        if value is _FACTORY:
            values[name] = factory()  # type: ignore[operator]
        elif value is _REQUIRED:
            raise TypeError(f"{type(self).__name__}() missing required argument: {name!r}")
    object.__setattr__(self, "__dict__", values)


def _refuse(self: Any, spec: _Spec, given: tuple[str, ...], kwargs: dict[str, Any]) -> None:
    name = type(self).__name__
    unknown = [each for each in kwargs if each not in spec.known]
    if unknown:
        raise TypeError(f"{name}() got an unexpected keyword argument {unknown[0]!r}")
    twice = [each for each in given if each in kwargs]
    raise TypeError(f"{name}() got multiple values for argument {twice[0]!r}")


def _repr(self: Any) -> str:
    spec: _Spec = getattr(self, _SPEC)
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in spec.names)
    return f"{type(self).__qualname__}({shown})"


def _eq(self: Any, other: object) -> object:
    if other.__class__ is not self.__class__:
        return NotImplemented
    key = getattr(self, _SPEC).key
    return key(self) == key(other)


def _ordering(compare: Callable[[Any, Any], bool]) -> Callable[[Any, object], object]:
    def method(self: Any, other: object) -> object:
        if other.__class__ is not self.__class__:
            return NotImplemented
        key = getattr(self, _SPEC).key
        return compare(key(self), key(other))

    return method


_ORDER = {
    "__lt__": _ordering(operator.lt),
    "__le__": _ordering(operator.le),
    "__gt__": _ordering(operator.gt),
    "__ge__": _ordering(operator.ge),
}


def _hash(self: Any) -> int:
    return hash(getattr(self, _SPEC).key(self))


def _setattr(self: Any, name: str, value: object) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _delattr(self: Any, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
