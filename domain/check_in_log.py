"""A key result's check-ins, kept compact so a long history loads fast from a snapshot."""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from sys import intern
from typing import Any, Protocol
from uuid import UUID

from domain.values import Confidence, ReasonCode

# A row is JSON-native: [effective_on, version, value, confidence, note, actor,
# recorded_at, original_value, corrections]; a correction is [value, reason,
# reason_code, actor, recorded_at, version]. Dates and times are ISO 8601, so
# comparing their strings compares the moments.
Row = list[Any]


@dataclass(frozen=True)
class Correction:
    value: Decimal
    reason: str
    reason_code: ReasonCode
    actor: str
    recorded_at: datetime
    version: int

    @classmethod
    def recorded_by(cls, event: CorrectionEvent) -> Correction:
        """The correction a check-in's or a reading's correction event records."""
        return cls(
            value=event.value,
            reason=event.reason,
            reason_code=ReasonCode(event.reason_code),
            actor=event.actor,
            recorded_at=event.timestamp,
            version=event.originator_version,
        )


class CorrectionEvent(Protocol):
    """What a correction event carries (KeyResult.CheckInCorrected, Kpi.ReadingCorrected)."""

    value: Decimal
    reason: str
    reason_code: str
    actor: str
    timestamp: datetime
    originator_version: int


@dataclass(frozen=True)
class CheckIn:
    id: UUID
    effective_on: date
    value: Decimal
    confidence: Confidence
    note: str
    actor: str
    recorded_at: datetime
    version: int
    original_value: Decimal
    corrections: tuple[Correction, ...] = ()


# A long-lived key result (a projection keeps thousands) holds its rows; objects are made
# when asked for and only the last few kept, so each check-in is held once, not twice.
_OBJECTS_KEPT = 32


def _to_row(check_in: CheckIn) -> Row:
    # Dates, confidences and actors repeat across check-ins: one string each.
    return [
        intern(check_in.effective_on.isoformat()),
        check_in.version,
        str(check_in.value),
        check_in.confidence.value,
        check_in.note,
        intern(check_in.actor),
        check_in.recorded_at.isoformat(),
        str(check_in.original_value),
        [
            [
                str(c.value),
                c.reason,
                c.reason_code.value,
                c.actor,
                c.recorded_at.isoformat(),
                c.version,
            ]
            for c in check_in.corrections
        ],
    ]


def _from_row(key: str, row: Row) -> CheckIn:
    return CheckIn(
        id=UUID(key),
        effective_on=date.fromisoformat(row[0]),
        version=row[1],
        value=Decimal(row[2]),
        confidence=Confidence(row[3]),
        note=row[4],
        actor=row[5],
        recorded_at=datetime.fromisoformat(row[6]),
        original_value=Decimal(row[7]),
        corrections=tuple(
            Correction(
                value=Decimal(c[0]),
                reason=c[1],
                reason_code=ReasonCode(c[2]),
                actor=c[3],
                recorded_at=datetime.fromisoformat(c[4]),
                version=c[5],
            )
            for c in row[8]
        ),
    )


class CheckInLog:
    """Check-ins by id; entries become `CheckIn` objects only when asked for."""

    __slots__ = ("_objects", "_order", "_rows")

    def __init__(self, rows: dict[str, Row] | None = None) -> None:
        self._rows: dict[str, Row] = rows if rows is not None else {}
        self._objects: dict[str, CheckIn] = {}
        # (effective_on, version, key) in order, built on first ask and kept by `put`:
        # scoring asks for the latest check-in on a day on every read and every projected
        # event, and a scan per ask made a long history quadratic.
        self._order: list[tuple[str, int, str]] | None = None

    @property
    def rows(self) -> dict[str, Row]:
        return self._rows

    def put(self, check_in: CheckIn) -> None:
        key = check_in.id.hex
        earlier = self._rows.get(key)
        row = self._rows[key] = _to_row(check_in)
        self._objects.pop(key, None)
        if self._order is None or (earlier is not None and earlier[:2] == row[:2]):
            return  # a correction keeps the check-in's place
        if earlier is not None:
            self._order = None
        else:
            insort(self._order, (row[0], row[1], key))

    def __getitem__(self, check_in_id: UUID) -> CheckIn:
        key = check_in_id.hex
        found = self._objects.get(key)
        if found is None:
            if len(self._objects) >= _OBJECTS_KEPT:
                self._objects.clear()
            found = self._objects[key] = _from_row(key, self._rows[key])
        return found

    def get(self, check_in_id: UUID) -> CheckIn | None:
        return self[check_in_id] if check_in_id.hex in self._rows else None

    def __contains__(self, check_in_id: object) -> bool:
        return isinstance(check_in_id, UUID) and check_in_id.hex in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[CheckIn]:
        """Every check-in, in the order they were recorded."""
        for key in self._rows:
            yield self[UUID(key)]

    def values(self) -> Iterator[CheckIn]:
        return iter(self)

    def count_until(self, on: date) -> int:
        """How many check-ins are effective on or before `on`."""
        return bisect_right(self._ordered(), on.isoformat(), key=itemgetter(0))

    def latest(self, on: date) -> CheckIn | None:
        """The latest check-in effective on or before `on`; the later recorded wins a tie."""
        before = self.count_until(on)
        if not before:
            return None
        return self[UUID(self._ordered()[before - 1][2])]

    def _ordered(self) -> list[tuple[str, int, str]]:
        if self._order is None:
            self._order = sorted((row[0], row[1], key) for key, row in self._rows.items())
        return self._order

    def __deepcopy__(self, memo: dict[int, Any]) -> CheckInLog:
        # Rows are replaced, never mutated in place, so copying the containers suffices.
        copy = CheckInLog(dict(self._rows))
        copy._objects = dict(self._objects)
        copy._order = list(self._order) if self._order is not None else None
        return copy

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CheckInLog) and self._rows == other._rows

    __hash__ = None  # type: ignore[assignment]
