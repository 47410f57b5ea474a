"""A cycle: the time box (usually a quarter) that objectives and key results live in."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from domain.base import LedgerAggregate, derived_id
from domain.errors import CycleClosedError, InvalidInputError
from domain.values import check_date, check_identifier

MAX_CYCLE_DAYS = 400


class CycleState(StrEnum):
    """Where a cycle stands on a day: not begun, running, past its last day but not yet
    closed (late check-ins still land), or closed (only corrections)."""

    UPCOMING = "upcoming"
    CURRENT = "current"
    ENDED = "ended"
    CLOSED = "closed"


class Cycle(LedgerAggregate):
    """Identified by its key (`2026-Q3`); opening the same key twice clashes on version 1."""

    class Opened(LedgerAggregate.Created):
        key: str
        starts_on: date
        ends_on: date

    class ObjectiveAdded(LedgerAggregate.Event):
        objective_id: UUID

        def apply(self, aggregate: Cycle) -> None:
            aggregate.objective_ids.append(self.objective_id)

    class Closed(LedgerAggregate.Event):
        def apply(self, aggregate: Cycle) -> None:
            aggregate.closed_at = self.timestamp
            aggregate.closed_by = self.actor

    @staticmethod
    def create_id(key: str) -> UUID:
        return derived_id("cycle", key)

    def __init__(self, *, actor: str, key: str, starts_on: date, ends_on: date) -> None:
        self.key = key
        self.starts_on = starts_on
        self.ends_on = ends_on
        self.opened_by = actor
        self.objective_ids: list[UUID] = []
        self.closed_at: datetime | None = None
        self.closed_by: str | None = None

    @classmethod
    def open(cls, *, actor: str, key: str, starts_on: date, ends_on: date) -> Cycle:
        check_identifier(key, "id")
        check_date(starts_on, "starts_on")
        check_date(ends_on, "ends_on")
        if ends_on <= starts_on:
            raise InvalidInputError("ends_on must be after starts_on", field="ends_on")
        if (ends_on - starts_on).days > MAX_CYCLE_DAYS:
            raise InvalidInputError(f"a cycle lasts at most {MAX_CYCLE_DAYS} days", field="ends_on")
        return cls._create(
            cls.Opened,
            id=cls.create_id(key),
            actor=actor,
            key=key,
            starts_on=starts_on,
            ends_on=ends_on,
        )

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    def state_on(self, day: date) -> CycleState:
        """Closed once closed (by the end of `day`, UTC), whatever its dates: a cycle may
        be closed early. Otherwise by its dates, both of which it includes."""
        if self.closed_at is not None and self.closed_at.date() <= day:
            return CycleState.CLOSED
        if day < self.starts_on:
            return CycleState.UPCOMING
        if day <= self.ends_on:
            return CycleState.CURRENT
        return CycleState.ENDED

    def check_open(self) -> None:
        if self.closed_at is not None:
            raise CycleClosedError(
                f"cycle {self.key} was closed at {self.closed_at.isoformat()}; "
                "it takes nothing but corrections"
            )

    def check_within(self, day: date, field: str = "effective_on") -> None:
        if not self.starts_on <= day <= self.ends_on:
            raise InvalidInputError(
                f"{field} must fall within cycle {self.key} ({self.starts_on} to {self.ends_on})",
                field=field,
            )

    def add_objective(self, *, actor: str, objective_id: UUID) -> None:
        self.check_open()
        self.trigger_event(self.ObjectiveAdded, actor=actor, objective_id=objective_id)

    def close(self, *, actor: str) -> None:
        self.check_open()
        self.trigger_event(self.Closed, actor=actor)
