"""A cycle's change report also lists KPI target and healthy-range changes (ADR 37).

A KPI belongs to no cycle, so its rows carry none: a cycle's report takes the changes
effective or recorded within the cycle's dates (both inclusive), decided at read time
from the cycle's dates, and flags those that moved the level after the cycle's first day
(`changed_mid_cycle`): the cycle's KPIs were then judged against two levels. Backdating
and a lowered target are flagged when the row is projected, as for any goal.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol, TypeVar

from psycopg.sql import SQL, Composable

MID_CYCLE = "changed_mid_cycle"
# The one KPI event the report lists: its target or healthy range changed.
KPI_CHANGE = "target_changed"


class Row(Protocol):
    @property
    def goal_kind(self) -> str: ...

    @property
    def effective_on(self) -> date | None: ...

    @property
    def recorded_at(self) -> datetime: ...

    @property
    def flags(self) -> tuple[str, ...]: ...


R = TypeVar("R", bound=Row)


def _midnight(on: date) -> datetime:
    return datetime(on.year, on.month, on.day, tzinfo=UTC)


def _between(first: date, last: date) -> tuple[Composable, list[Any]]:
    """Effective or recorded on a day from `first` to `last`, both inclusive."""
    condition = SQL(
        "((t.effective_on >= %s AND t.effective_on <= %s)"
        " OR (t.recorded_at >= %s AND t.recorded_at < %s))"
    )
    return condition, [first, last, _midnight(first), _midnight(last + timedelta(days=1))]


def cycle_scope(cycle_id: str, dates: tuple[date, date] | None) -> tuple[Composable, list[Any]]:
    """The rows of the cycle's report: its goals', and, given its dates, the KPI changes
    within them (KPI rows hold no cycle)."""
    if dates is None:
        return SQL("t.cycle_id = %s"), [cycle_id]
    within, params = _between(*dates)
    condition = (
        SQL("(t.cycle_id = %s OR (t.cycle_id IS NULL AND t.goal_kind = 'kpi' AND ")
        + within
        + SQL("))")
    )
    return condition, [cycle_id, *params]


def mid_cycle_condition(dates: tuple[date, date] | None) -> tuple[Composable, list[Any]]:
    """The SQL for rows `changed_mid_cycle` would flag (none without the cycle's dates)."""
    if dates is None:
        return SQL("1 = 0"), []
    starts_on, ends_on = dates
    if starts_on == ends_on:
        return SQL("1 = 0"), []
    within, params = _between(starts_on + timedelta(days=1), ends_on)
    return SQL("(t.goal_kind = 'kpi' AND ") + within + SQL(")"), params


def changed_mid_cycle(row: Row, dates: tuple[date, date]) -> bool:
    """A KPI change effective or recorded after the cycle's first day, by its last."""
    if row.goal_kind != "kpi":
        return False
    starts_on, ends_on = dates
    recorded_on = row.recorded_at.astimezone(UTC).date()
    effective = row.effective_on is not None and starts_on < row.effective_on <= ends_on
    return effective or starts_on < recorded_on <= ends_on


def flagged(rows: list[R], dates: tuple[date, date] | None) -> list[R]:
    """The rows with `changed_mid_cycle` added where it applies."""
    if dates is None:
        return rows
    return [
        replace(row, flags=(*row.flags, MID_CYCLE))  # type: ignore[type-var]
        if changed_mid_cycle(row, dates)
        else row
        for row in rows
    ]
