"""`qscan.structs`: the core's value classes behave as `@dataclass(frozen=True, slots=True)` did, without compiling
code when a class is created (the handler import cost, tests/bench/bench_handler_ecr.py)."""

from __future__ import annotations

import ast
import copy
import pickle
from pathlib import Path
from typing import ClassVar

import pytest
from qscan.structs import FrozenInstanceError, asdict, field, fields, is_struct, replace, struct

CORE = Path(__file__).resolve().parents[2] / "shared" / "qscan"


@struct
class Point:
    x: int
    y: int = 0
    label: str = field(default="", compare=False)
    token: str = field(default="", repr=False)
    tags: tuple[str, ...] = field(default_factory=tuple, hash=False)
    kind: ClassVar[str] = "point"


@struct
class Point3(Point):
    z: int = 0


@struct(frozen=False)
class Counter:
    seen: list[str] = field(default_factory=list)
    total: int = 0


@struct
class Checked:
    number: int
    calls: ClassVar[list[int]] = []

    def __post_init__(self) -> None:
        Checked.calls.append(self.number)
        if self.number < 1:
            raise ValueError("numbers start at 1")


@struct
class Masked:
    secret: str

    def __repr__(self) -> str:
        return "Masked(secret=***)"


@struct
class Outer:
    point: Point
    points: list[Point] = field(default_factory=list)
    by_name: dict[str, Point] = field(default_factory=dict)


def test_fields_come_in_order_base_first_classvars_left_out() -> None:
    assert [f.name for f in fields(Point)] == ["x", "y", "label", "token", "tags"]
    assert [f.name for f in fields(Point3(1))] == ["x", "y", "label", "token", "tags", "z"]
    assert Point.kind == "point" and Point.__match_args__ == ("x", "y", "label", "token", "tags")


def test_init_takes_fields_positionally_or_by_keyword_with_defaults_and_fresh_factories() -> None:
    p = Point(1, 2, label="a")
    assert (p.x, p.y, p.label, p.token, p.tags) == (1, 2, "a", "", ())
    assert Point3(1, z=5).z == 5
    first, second = Counter(), Counter()
    first.seen.append("a")
    assert second.seen == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (Point, r"Point\(\) missing required argument\(s\): 'x'"),
        (lambda: Point(1, y=2, colour="red"), r"unexpected keyword argument\(s\): 'colour'"),
        (lambda: Point(1, x=2), r"got multiple values for argument 'x'"),
        (lambda: Point(1, 2, "", "", (), 6), r"takes 5 positional arguments but 6 were given"),
    ],
)
def test_bad_constructor_calls_raise_type_errors_naming_the_problem(call: object, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        call()  # type: ignore[operator]


def test_frozen_structs_refuse_assignment_and_deletion_and_have_no_dict() -> None:
    p = Point(1)
    with pytest.raises(FrozenInstanceError, match="cannot assign to field 'x'"):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError, match="cannot delete field 'x'"):
        del p.x  # type: ignore[misc]
    with pytest.raises(AttributeError):
        p.other = 1  # type: ignore[attr-defined]
    assert not hasattr(p, "__dict__")
    assert isinstance(FrozenInstanceError("x"), AttributeError)


def test_mutable_structs_take_assignment_and_are_unhashable() -> None:
    c = Counter()
    c.total += 1
    assert c.total == 1
    with pytest.raises(TypeError, match="unhashable"):
        hash(c)


def test_equality_and_hash_follow_compare_and_hash() -> None:
    assert Point(1, label="a") == Point(1, label="b")  # label: compare=False
    assert Point(1) != Point(2)
    assert Point(1) != Point3(1)  # another class is never equal
    assert hash(Point(1, tags=("a",))) == hash(Point(1, tags=("b",)))  # tags: hash=False, still compared
    assert Point(1, tags=("a",)) != Point(1, tags=("b",))
    assert len({Point(1), Point(1), Point(2)}) == 2


def test_repr_leaves_out_repr_false_fields_and_keeps_a_repr_the_class_defines() -> None:
    assert repr(Point(1, token="secret-value")) == "Point(x=1, y=0, label='', tags=())"
    assert repr(Masked("secret-value")) == "Masked(secret=***)"


def test_post_init_runs_on_init_and_on_replace() -> None:
    Checked.calls.clear()
    checked = Checked(1)
    assert replace(checked, number=2).number == 2
    assert Checked.calls == [1, 2]
    with pytest.raises(ValueError, match="start at 1"):
        replace(checked, number=0)


def test_replace_keeps_the_other_fields_and_refuses_unknown_ones() -> None:
    p = Point3(1, 2, label="a", z=3)
    q = replace(p, y=9)
    assert (q.x, q.y, q.label, q.z, type(q)) == (1, 9, "a", 3, Point3)
    with pytest.raises(TypeError, match="unexpected keyword"):
        replace(p, w=1)
    with pytest.raises(TypeError, match="needs a struct instance"):
        replace(Point, x=1)


def test_asdict_converts_nested_structs_and_copies_containers() -> None:
    inner = Point(1, tags=("t",))
    outer = Outer(inner, [inner], {"a": inner})
    data = asdict(outer)
    plain = {"x": 1, "y": 0, "label": "", "token": "", "tags": ("t",)}
    assert data == {"point": plain, "points": [plain], "by_name": {"a": plain}}
    data["points"].append(1)
    assert outer.points == [inner]
    with pytest.raises(TypeError, match="needs a struct instance"):
        asdict({"x": 1})


def test_pickle_and_copy_round_trip_frozen_structs() -> None:
    p = Point3(1, 2, label="a", tags=("x",), z=3)
    for clone in (pickle.loads(pickle.dumps(p)), copy.copy(p), copy.deepcopy(p)):
        assert clone == p and clone.label == "a" and type(clone) is Point3


def test_match_statement_reads_fields_positionally() -> None:
    match Point(1, 2):
        case Point(x, y):
            assert (x, y) == (1, 2)
        case _:
            pytest.fail("Point(x, y) did not match")


def test_class_definitions_dataclasses_refuse_are_refused_too() -> None:
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):

        @struct
        class Bad:
            a: int = 0
            b: int

    with pytest.raises(ValueError, match="mutable default list for field a"):

        @struct
        class Shared:
            a: list[int] = []

    with pytest.raises(ValueError, match="both default and default_factory"):
        field(default=1, default_factory=int)  # type: ignore[call-overload]


def test_is_struct_and_fields_tell_structs_from_other_classes() -> None:
    assert is_struct(Point) and is_struct(Point(1)) and not is_struct(object())
    with pytest.raises(TypeError, match="needs a struct"):
        fields(object)


def test_the_core_defines_its_value_classes_with_struct_not_dataclass() -> None:
    """One way to make a value class in the core: a module importing `dataclasses` would bring back the per-class
    compile cost at import (and two behaviours for the same concept)."""
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if "dataclasses" in names or module == "dataclasses":
                offenders.append(str(path.relative_to(CORE)))
    assert offenders == []
