"""quick_init: the same frozen dataclass, made without a setattr per field."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import FrozenInstanceError, dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

import pytest

from projections import audit_trail
from projections.evidence import items
from projections.frozen import quick_init


@quick_init
@dataclass(frozen=True)
class Reading:
    name: str
    value: int
    unit: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlainReading:
    name: str
    value: int
    unit: str | None = None
    tags: tuple[str, ...] = ()


def test_it_makes_what_the_dataclass_makes() -> None:
    quick = Reading("churn", 3, tags=("q3",))
    plain = PlainReading("churn", 3, tags=("q3",))
    assert dataclasses.asdict(quick) == dataclasses.asdict(plain)
    assert (quick.name, quick.value, quick.unit, quick.tags) == ("churn", 3, None, ("q3",))
    assert quick == Reading(name="churn", value=3, unit=None, tags=("q3",))
    assert hash(quick) == hash(Reading("churn", 3, None, ("q3",)))
    assert quick != Reading("churn", 4, tags=("q3",))


def test_its_signature_is_the_dataclass_one() -> None:
    assert str(inspect.signature(Reading)) == str(inspect.signature(PlainReading))
    with pytest.raises(TypeError):
        Reading("churn")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Reading("churn", 3, colour="red")  # type: ignore[call-arg]


def test_it_stays_frozen_and_replaceable() -> None:
    quick = Reading("churn", 3)
    with pytest.raises(FrozenInstanceError):
        quick.value = 4  # type: ignore[misc]
    assert replace(quick, value=4) == Reading("churn", 4)
    assert quick.value == 3


def test_it_refuses_what_it_would_get_wrong() -> None:
    @dataclass
    class Thawed:
        name: str

    @dataclass(frozen=True)
    class Checked:
        name: str

        def __post_init__(self) -> None:
            raise ValueError

    @dataclass(frozen=True)
    class Factory:
        names: list[str] = field(default_factory=list)

    @dataclass(frozen=True, kw_only=True)
    class KeywordsOnly:
        name: str

    for cls in (Thawed, Checked, Factory, KeywordsOnly):
        with pytest.raises(TypeError):
            quick_init(cls)


def _parameters(cls: type[Any]) -> list[tuple[str, Any]]:
    return [(p.name, p.default) for p in inspect.signature(cls).parameters.values()]


def _fields(cls: type[Any]) -> list[tuple[str, Any]]:
    empty = inspect.Parameter.empty
    return [
        (f.name, empty if f.default is dataclasses.MISSING else f.default)
        for f in dataclasses.fields(cls)
    ]


@pytest.mark.parametrize(
    "cls",
    [
        audit_trail.TrailEntry,
        *(
            value
            for value in vars(items).values()
            if inspect.isclass(value) and dataclasses.is_dataclass(value)
        ),
    ],
)
def test_every_read_row_keeps_its_fields_in_order(cls: type[Any]) -> None:
    assert _parameters(cls) == _fields(cls)


def test_a_trail_row_is_made_whole() -> None:
    row: dict[str, Any] = {
        "position": 7,
        "goal_id": uuid4(),
        "goal_kind": "key_result",
        "version": 2,
        "event": "check_in_recorded",
        "actor": "head-of-cs",
        "recorded_at": datetime(2026, 11, 30, tzinfo=UTC),
        "effective_on": date(2026, 11, 27),
        "cycle_id": "2026-Q4",
        "owner": "head-of-cs",
        "reason": None,
        "reason_code": None,
        "subject_id": uuid4(),
        "before": {},
        "after": {"value": "2.8"},
        "flags": ("backdated",),
    }
    entry = audit_trail.TrailEntry(**row)
    assert {f.name: getattr(entry, f.name) for f in dataclasses.fields(entry)} == {
        **row,
        "title": None,
    }
