"""The core's value classes: `@struct` builds immutable, slotted classes without compiling code at import.

The standard library's `@dataclass` writes each class's `__init__`, `__repr__`, `__eq__`, `__hash__`,
`__setattr__` and `__delattr__` as source text and compiles it when the class is created: about 1 ms per class,
which made creating the core's classes most of a handler's import cost above `import boto3` (`make bench`
prints the handler import figures). `@struct` gives the same classes from methods written once here, which read
the class's field table at call time, so creating a class only collects its fields.

What a class gets (the subset of `@dataclass(frozen=True, slots=True)` the core uses, same behaviour):
- fields from the class annotations in order, base structs' fields first; `ClassVar` annotations are not fields;
  a class attribute is the field's default, `field(...)` sets `default` / `default_factory`, `repr`, `compare`,
  `hash`; a field without a default after one with a default, or a list/dict/set default, is a `TypeError` /
  `ValueError` when the class is created;
- `__init__` taking the fields positionally or by keyword, then calling `__post_init__` if the class has one (one
  generic method: `inspect.signature` shows `(*args, **kwargs)`, a bad call is a `TypeError` naming the fields);
- `__repr__` (fields with `repr=False` left out), `__eq__` (same class, `compare` fields), `__hash__` over the
  `hash` fields (by default the `compare` ones) for frozen structs, none for mutable ones (as `@dataclass`);
  a method the class defines itself is kept;
- `__slots__`, `__match_args__`, pickling/copying through `__getstate__` / `__setstate__`;
- frozen (the default): assigning or deleting an attribute raises `FrozenInstanceError`; `@struct(frozen=False)`
  gives a mutable struct.
`fields`, `replace` and `asdict` work on structs as their `dataclasses` namesakes do on dataclasses. mypy reads
`@struct` through `typing.dataclass_transform`, so it checks constructor calls as it does for dataclasses.
"""

from __future__ import annotations

import copy
import inspect
import operator
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar, dataclass_transform, overload

__all__ = ["Field", "FrozenInstanceError", "asdict", "field", "fields", "is_struct", "replace", "struct"]

T = TypeVar("T")
C = TypeVar("C", bound=type)


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()  # "no default" (a field's default or default_factory not given)


class FrozenInstanceError(AttributeError):
    """Assigning to or deleting a field of a frozen struct."""


class Field:
    """One field of a struct (what `fields()` returns)."""

    __slots__ = ("compare", "default", "default_factory", "hash", "name", "repr", "type")

    def __init__(
        self,
        default: Any = MISSING,
        default_factory: Any = MISSING,
        repr: bool = True,
        compare: bool = True,
        hash: bool | None = None,
    ) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.type: Any = None
        self.default = default
        self.default_factory = default_factory
        self.repr = repr
        self.compare = compare
        self.hash = compare if hash is None else hash

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, type={self.type!r}, default={self.default!r})"


@overload
def field(*, default: T, repr: bool = ..., compare: bool = ..., hash: bool | None = ...) -> T: ...
@overload
def field(
    *, default_factory: Callable[[], T], repr: bool = ..., compare: bool = ..., hash: bool | None = ...
) -> T: ...
@overload
def field(*, repr: bool = ..., compare: bool = ..., hash: bool | None = ...) -> Any: ...
def field(**options: Any) -> Any:
    """A field's options, as `dataclasses.field` (the subset structs use; the overloads above type them)."""
    return Field(**options)


def _is_classvar(annotation: Any) -> bool:
    if isinstance(annotation, str):  # the core's modules use `from __future__ import annotations`
        return annotation.startswith(("ClassVar", "typing.ClassVar"))
    return annotation is ClassVar or getattr(annotation, "__origin__", None) is ClassVar


def _collect(cls: type) -> tuple[dict[str, Field], list[str]]:
    """The class's fields (the base structs' first, in their order, then its own annotations) and its own ones."""
    table: dict[str, Field] = {}
    own: list[str] = []
    for base in reversed(cls.__mro__[1:]):
        table.update({f.name: f for f in base.__dict__.get("__struct_fields__", ())})
    for name, annotation in inspect.get_annotations(cls).items():
        if _is_classvar(annotation):
            continue
        value = cls.__dict__.get(name, MISSING)
        spec = value if isinstance(value, Field) else Field(default=value)
        if isinstance(spec.default, (list, dict, set)):
            raise ValueError(
                f"mutable default {type(spec.default).__name__} for field {name}: use default_factory"
            )
        spec.name, spec.type = name, annotation
        table.pop(name, None)
        table[name] = spec
        own.append(name)
    seen_default = False
    for spec in table.values():
        has_default = spec.default is not MISSING or spec.default_factory is not MISSING
        if seen_default and not has_default:
            raise TypeError(
                f"non-default argument {spec.name!r} follows default argument in {cls.__qualname__}"
            )
        seen_default = seen_default or has_default
    return table, own


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    cls = type(self)
    specs: tuple[Field, ...] = cls.__struct_fields__
    if len(args) > len(specs):
        raise TypeError(
            f"{cls.__qualname__}() takes {len(specs)} positional arguments but {len(args)} were given"
        )
    missing = []
    taken = 0  # keyword arguments that named a field
    for index, spec in enumerate(specs):
        name = spec.name
        if index < len(args):
            if name in kwargs:
                raise TypeError(f"{cls.__qualname__}() got multiple values for argument {name!r}")
            value = args[index]
        elif name in kwargs:
            value = kwargs[name]
            taken += 1
        elif spec.default_factory is not MISSING:
            value = spec.default_factory()
        elif spec.default is not MISSING:
            value = spec.default
        else:
            missing.append(name)
            continue
        object.__setattr__(self, name, value)
    if missing:
        raise TypeError(f"{cls.__qualname__}() missing required argument(s): {', '.join(map(repr, missing))}")
    if taken < len(kwargs):
        unknown = sorted(kwargs.keys() - set(cls.__match_args__))
        raise TypeError(
            f"{cls.__qualname__}() got unexpected keyword argument(s): {', '.join(map(repr, unknown))}"
        )
    post_init = getattr(self, "__post_init__", None)
    if post_init is not None:
        post_init()


def _repr(self: Any) -> str:
    shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in self.__struct_fields__ if f.repr)
    return f"{type(self).__qualname__}({shown})"


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return self.__struct_compared__(self) == self.__struct_compared__(other)


def _hash(self: Any) -> int:
    return hash(self.__struct_hashed__(self))


def _values(names: list[str]) -> staticmethod[[Any], tuple[Any, ...]]:
    """The named attributes of an object, as a tuple (a class attribute: `attrgetter` runs at C speed)."""
    if len(names) > 1:
        return staticmethod(operator.attrgetter(*names))
    return staticmethod(lambda obj: tuple(getattr(obj, name) for name in names))


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r} of a frozen {type(self).__qualname__}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r} of a frozen {type(self).__qualname__}")


def _getstate(self: Any) -> list[Any]:
    return [getattr(self, f.name) for f in self.__struct_fields__]


def _setstate(self: Any, state: list[Any]) -> None:
    for spec, value in zip(self.__struct_fields__, state, strict=True):
        object.__setattr__(self, spec.name, value)


def _build(cls: type, frozen: bool) -> type:
    table, own = _collect(cls)
    namespace = {
        k: v for k, v in cls.__dict__.items() if k not in ("__dict__", "__weakref__") and k not in own
    }
    namespace["__slots__"] = tuple(own)
    namespace["__struct_fields__"] = tuple(table.values())
    namespace["__struct_compared__"] = _values([f.name for f in table.values() if f.compare])
    namespace["__struct_hashed__"] = _values([f.name for f in table.values() if f.hash])
    namespace["__match_args__"] = tuple(table)
    namespace["__init__"] = _init
    namespace.setdefault("__repr__", _repr)
    namespace.setdefault("__eq__", _eq)
    if "__hash__" not in cls.__dict__ or cls.__dict__["__hash__"] is None:
        namespace["__hash__"] = _hash if frozen else None
    namespace.setdefault("__getstate__", _getstate)
    namespace.setdefault("__setstate__", _setstate)
    if frozen:
        namespace["__setattr__"] = _frozen_setattr
        namespace["__delattr__"] = _frozen_delattr
    return type(cls)(cls.__name__, cls.__bases__, namespace)


@overload
def struct(cls: C, /) -> C: ...
@overload
def struct(*, frozen: bool = True) -> Callable[[C], C]: ...
@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))
def struct(cls: Any = None, /, *, frozen: bool = True) -> Any:
    """Make `cls` a struct (see the module docstring): `@struct`, or `@struct(frozen=False)` for a mutable one."""
    if cls is None:
        return lambda c: _build(c, frozen)
    return _build(cls, frozen)


def is_struct(obj: Any) -> bool:
    """True for a struct class or instance."""
    return hasattr(obj if isinstance(obj, type) else type(obj), "__struct_fields__")


def fields(obj: Any) -> tuple[Field, ...]:
    """A struct's (or struct class's) fields, in order."""
    if not is_struct(obj):
        raise TypeError(f"fields() needs a struct, not {type(obj).__name__}")
    specs: tuple[Field, ...] = obj.__struct_fields__  # a class attribute, read through an instance too
    return specs


def replace(obj: T, /, **changes: Any) -> T:
    """A copy of the struct `obj` with `changes` applied (its `__post_init__` runs again)."""
    if isinstance(obj, type) or not is_struct(obj):
        raise TypeError(f"replace() needs a struct instance, not {type(obj).__name__}")
    values = {f.name: getattr(obj, f.name) for f in fields(obj)}
    values.update(changes)
    return type(obj)(**values)


def asdict(obj: Any) -> dict[str, Any]:
    """The struct as a dict, nested structs, lists, tuples and dicts converted too (others deep-copied)."""
    if isinstance(obj, type) or not is_struct(obj):
        raise TypeError(f"asdict() needs a struct instance, not {type(obj).__name__}")
    return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}


def _plain(value: Any) -> Any:
    if is_struct(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return type(value)((_plain(k), _plain(v)) for k, v in value.items())
    return copy.deepcopy(value)
