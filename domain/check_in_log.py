"""A key result's check-ins, kept compact so a long history loads fast from a snapshot."""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from sys import intern
from typing import Any, Protocol
from uuid import UUID

from domain.values import Confidence, ReasonCode

# A row as a snapshot stores it is JSON-native: [effective_on, version, value,
# confidence, note, actor, recorded_at, original_value, corrections]; a correction is
# [value, reason, reason_code, actor, recorded_at, version]. Dates and times are ISO
# 8601, so comparing their strings compares the moments; rows are keyed by the check-in
# id's hex. In memory (a worker holds a row for every check-in of every goal it keeps,
# so each byte counts a million times over) a row is a tuple keyed by the id's integer,
# its recorded_at the event's own datetime: 48 bytes each where the strings took 81.
Row = tuple[Any, ...]
StoredRow = list[Any]


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


class CheckInEvent(Protocol):
    """What an event recording a check-in carries (KeyResult.CheckInRecorded,
    KeyResult.CheckInFromReading)."""

    check_in_id: UUID
    effective_on: date
    value: Decimal
    confidence: str
    note: str
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
_OBJECTS_KEPT = 8

# No corrections, the usual case: one empty tuple for every row.
_NONE: tuple[Any, ...] = ()


# A goal loaded for one read (a `known_at` read) is dropped when the read ends: making its
# rows compact would cost more than they save (about 1 us a row, every row of a snapshot,
# on every such read). Its rows stay as the snapshot gave them; every method reads both.
_TRANSIENT: ContextVar[bool] = ContextVar("check_in_log_transient", default=False)


@contextmanager
def loaded_for_one_read() -> Iterator[None]:
    """Logs loaded inside keep the snapshot's rows as they are, for a goal read once."""
    token = _TRANSIENT.set(True)
    try:
        yield
    finally:
        _TRANSIENT.reset(token)


def _to_row(check_in: CheckIn) -> Row:
    # Dates, confidences, actors and values repeat across check-ins (a value and its
    # original are most often one): one string each, and no list for no corrections.
    return (
        intern(check_in.effective_on.isoformat()),
        check_in.version,
        intern(str(check_in.value)),
        check_in.confidence.value,
        check_in.note,
        intern(check_in.actor),
        check_in.recorded_at,
        intern(str(check_in.original_value)),
        tuple(
            (
                intern(str(c.value)),
                c.reason,
                c.reason_code.value,
                intern(c.actor),
                c.recorded_at.isoformat(),
                c.version,
            )
            for c in check_in.corrections
        )
        or _NONE,
    )


def _compact(row: StoredRow | Row) -> Row:
    """A row as a snapshot stores it, in the form `_to_row` makes."""
    # Once for every row of a loaded snapshot, so a `known_at` read pays it in full: the
    # usual row, never corrected, makes no generator for its corrections.
    corrections = row[8]
    return (
        intern(row[0]),
        row[1],
        intern(row[2]),
        intern(row[3]),
        row[4],
        intern(row[5]),
        datetime.fromisoformat(row[6]),
        intern(row[7]),
        tuple((intern(c[0]), c[1], intern(c[2]), intern(c[3]), c[4], c[5]) for c in corrections)
        if corrections
        else _NONE,
    )


def _stored(row: Row | StoredRow) -> StoredRow:
    """A row as a snapshot stores it (the JSON arrays snapshots have always held)."""
    if isinstance(row, list):  # loaded for one read: still the snapshot's own
        return row
    return [*row[:6], row[6].isoformat(), row[7], [list(c) for c in row[8]]]


def _from_row(key: int, row: Row | StoredRow) -> CheckIn:
    return CheckIn(
        id=UUID(int=key),
        effective_on=date.fromisoformat(row[0]),
        version=row[1],
        value=Decimal(row[2]),
        confidence=Confidence(row[3]),
        note=row[4],
        actor=row[5],
        recorded_at=row[6] if isinstance(row[6], datetime) else datetime.fromisoformat(row[6]),
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

    def __init__(self, rows: Mapping[str, StoredRow] | None = None) -> None:
        """The log of a snapshot's rows (check-in id hex -> row), made compact once."""
        self._rows: dict[int, Row | StoredRow] = {}
        if rows and _TRANSIENT.get():
            self._rows = {int(key, 16): row for key, row in rows.items()}
        elif rows:
            self._rows = {int(key, 16): _compact(row) for key, row in rows.items()}
        self._objects: dict[int, CheckIn] = {}
        # The keys in (effective_on, version) order, built on first ask and kept by `put`:
        # scoring asks for the latest check-in on a day on every read and every projected
        # event, and a scan per ask made a long history quadratic. Keys only (the rows
        # hold the rest): eight bytes a check-in.
        self._order: list[int] | None = None

    @property
    def rows(self) -> dict[str, StoredRow]:
        """Check-in id (hex) -> row, as a snapshot stores them."""
        return {f"{key:032x}": _stored(row) for key, row in self._rows.items()}

    def _effective_on(self, key: int) -> str:
        return self._rows[key][0]  # type: ignore[no-any-return]

    def _place(self, key: int) -> tuple[str, int]:
        row = self._rows[key]
        return row[0], row[1]

    def put(self, check_in: CheckIn) -> None:
        self._put_row(check_in.id.int, _to_row(check_in))

    def record(self, event: CheckInEvent) -> None:
        """`put` of the check-in an event records (its original value its value,
        uncorrected), made as a row directly: every check-in a goal replays or projects
        comes here."""
        value_text = intern(str(event.value))
        row = (
            intern(event.effective_on.isoformat()),
            event.originator_version,
            value_text,
            Confidence(event.confidence).value,
            event.note,
            intern(event.actor),
            event.timestamp,
            value_text,
            _NONE,
        )
        self._put_row(event.check_in_id.int, row)

    def _put_row(self, key: int, row: Row) -> None:
        earlier = self._rows.get(key)
        self._rows[key] = row
        self._objects.pop(key, None)
        if self._order is None or (
            earlier is not None and earlier[0] == row[0] and earlier[1] == row[1]
        ):
            return  # a correction keeps the check-in's place
        if earlier is not None:
            self._order = None
        else:
            insort(self._order, key, key=self._place)

    def __getitem__(self, check_in_id: UUID) -> CheckIn:
        return self._object(check_in_id.int)

    def _object(self, key: int) -> CheckIn:
        found = self._objects.get(key)
        if found is None:
            if len(self._objects) >= _OBJECTS_KEPT:
                self._objects.clear()
            found = self._objects[key] = _from_row(key, self._rows[key])
        return found

    def get(self, check_in_id: UUID) -> CheckIn | None:
        key = check_in_id.int
        return self._object(key) if key in self._rows else None

    def __contains__(self, check_in_id: object) -> bool:
        return isinstance(check_in_id, UUID) and check_in_id.int in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[CheckIn]:
        """Every check-in, in the order they were recorded."""
        for key in self._rows:
            yield self._object(key)

    def values(self) -> Iterator[CheckIn]:
        return iter(self)

    def count_until(self, on: date) -> int:
        """How many check-ins are effective on or before `on`."""
        return bisect_right(self._ordered(), on.isoformat(), key=self._effective_on)

    def latest(self, on: date) -> CheckIn | None:
        """The latest check-in effective on or before `on`; the later recorded wins a tie."""
        key = self._latest_key(on)
        return None if key is None else self._object(key)

    def latest_value(self, on: date) -> Decimal | None:
        """The value of `latest(on)`, without making the check-in: the audit trail asks it
        for every check-in projected, each time of a different one."""
        key = self._latest_key(on)
        return None if key is None else Decimal(self._rows[key][2])

    def _latest_key(self, on: date) -> int | None:
        before = self.count_until(on)
        return self._ordered()[before - 1] if before else None

    def _ordered(self) -> list[int]:
        if self._order is None:
            self._order = sorted(self._rows, key=self._place)
        return self._order

    def __deepcopy__(self, memo: dict[int, Any]) -> CheckInLog:
        # Rows are tuples, replaced and never changed, so copying the containers suffices.
        copy = CheckInLog()
        copy._rows = dict(self._rows)
        copy._objects = dict(self._objects)
        copy._order = list(self._order) if self._order is not None else None
        return copy

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CheckInLog):
            return False
        if self._rows.keys() != other._rows.keys():
            return False
        # A log loaded for one read holds stored rows: compare in the stored form.
        return all(
            mine == theirs or _stored(mine) == _stored(theirs)
            for mine, theirs in ((self._rows[k], other._rows[k]) for k in self._rows)
        )

    __hash__ = None  # type: ignore[assignment]
