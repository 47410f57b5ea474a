"""Signals: facts that become true with the passing of time, recorded once per occurrence.

A key result going stale, a KPI reading falling overdue, a KPI becoming an OKR candidate,
a cycle entering its last week: no command causes them, so no goal's own events say
them. A signal is an aggregate of its own whose id is derived from what it says (its
kind, its subject and the occurrence), so recording the same occurrence twice clashes on
version 1 of the same stream, whoever records it (docs/adr/0039-signals.md).

Each rule below takes the goal as it stands and "today" as a parameter: the clock is the
caller's, never read here.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from domain.base import LedgerAggregate, derived_id
from domain.cycle import Cycle
from domain.key_result import KeyResult
from domain.kpi import Cadence, Kpi, Reading
from domain.scoring import STALE_AFTER_DAYS

# Who records signals: the process, acting for the store's operator.
SIGNAL_ACTOR = "goalpost-signals"
# A cycle's last week: its "ends in 7 days" signal is due from this many days before
# its last day.
CYCLE_ENDING_NOTICE_DAYS = 7
_MONTHS = {Cadence.MONTHLY: 1, Cadence.QUARTERLY: 3}


class Signal(LedgerAggregate):
    """One occurrence of a time-driven fact; created once and never changed.

    Every kind carries `owner` and `cycle_id` where it has them, so webhook
    subscriptions filtered by owner or cycle receive it (delivery reads both from the
    creating event).
    """

    class KeyResultBecameStale(LedgerAggregate.Created):
        """No check-in for 21 days: the key result went stale on `stale_on`."""

        key_result_id: UUID
        objective_id: UUID
        owner: str
        cycle_id: str
        last_check_in_on: date | None
        stale_on: date

    class KpiReadingOverdue(LedgerAggregate.Created):
        """No reading since `last_reading_on` (or the definition) by `due_on`, per its cadence."""

        kpi_id: UUID
        owner: str
        cadence: str
        last_reading_on: date | None
        due_on: date

    class KpiBecameOkrCandidate(LedgerAggregate.Created):
        """Two readings running out of the healthy range; `reading_id` is the second."""

        kpi_id: UUID
        owner: str
        reading_id: UUID
        reading_on: date

    class CycleEndsInSevenDays(LedgerAggregate.Created):
        """The cycle's last week has begun: it ends on `ends_on`."""

        cycle_id: str
        ends_on: date

    def __init__(
        self,
        *,
        actor: str,
        owner: str | None = None,
        cycle_id: str | None = None,
        key_result_id: UUID | None = None,
        kpi_id: UUID | None = None,
    ) -> None:
        # The library passes each kind's fields that are named here; the rest stay on
        # the event, which is what subscribers receive.
        self.recorded_by = actor
        self.owner = owner
        self.cycle_id = cycle_id
        self.key_result_id = key_result_id
        self.kpi_id = kpi_id


SignalKind = type[LedgerAggregate.Created]
SIGNAL_KINDS: tuple[SignalKind, ...] = (
    Signal.KeyResultBecameStale,
    Signal.KpiReadingOverdue,
    Signal.KpiBecameOkrCandidate,
    Signal.CycleEndsInSevenDays,
)


def signal_id(kind: SignalKind, subject_id: UUID, occurrence: date | UUID) -> UUID:
    """The one id of an occurrence: its kind, its subject and what marks the occurrence."""
    return derived_id(f"signal.{kind.__name__}", f"{subject_id}:{occurrence}")


def _signal(kind: SignalKind, subject_id: UUID, occurrence: date | UUID, **facts: Any) -> Signal:
    return Signal._create(
        kind,
        id=signal_id(kind, subject_id, occurrence),
        actor=SIGNAL_ACTOR,
        **facts,
    )


# Key results


def stale_on(last_check_in_on: date | None, tracked_since: date, ends_on: date) -> date | None:
    """The day a key result goes stale (21 days without a check-in), if within its cycle.

    Staleness is judged up to the cycle's last day (`domain.scoring.is_stale` as scores
    read it), so a key result whose 21 days run past the end never goes stale.
    """
    day = (last_check_in_on or tracked_since) + timedelta(days=STALE_AFTER_DAYS)
    return day if day <= ends_on else None


def tracked_since(original_effective_on: date, cycle_starts_on: date) -> date:
    """Where staleness counts from without a check-in: the first plan, not before the cycle."""
    return max(original_effective_on, cycle_starts_on)


@dataclass(frozen=True)
class Staleness:
    """What a key result's staleness depends on, as of the day judged."""

    key_result_id: UUID
    objective_id: UUID
    owner: str
    cycle_id: str
    last_check_in_on: date | None
    tracked_since: date
    ends_on: date
    retired: bool
    cycle_closed: bool


def stale_signal(facts: Staleness, today: date) -> Signal | None:
    """The stale signal due by `today`: none once retired or the cycle closed."""
    if facts.retired or facts.cycle_closed:
        return None
    day = stale_on(facts.last_check_in_on, facts.tracked_since, facts.ends_on)
    if day is None or day > today:
        return None
    return _signal(
        Signal.KeyResultBecameStale,
        facts.key_result_id,
        day,
        key_result_id=facts.key_result_id,
        objective_id=facts.objective_id,
        owner=facts.owner,
        cycle_id=facts.cycle_id,
        last_check_in_on=facts.last_check_in_on,
        stale_on=day,
    )


def key_result_stale_signal(key_result: KeyResult, cycle: Cycle, today: date) -> Signal | None:
    """The key result's stale signal due by `today`, judged on the key result itself."""
    last = key_result.latest_check_in(min(today, cycle.ends_on))
    facts = Staleness(
        key_result_id=key_result.id,
        objective_id=key_result.objective_id,
        owner=key_result.owner,
        cycle_id=key_result.cycle_id,
        last_check_in_on=last.effective_on if last is not None else None,
        tracked_since=tracked_since(key_result.original_plan.effective_on, cycle.starts_on),
        ends_on=cycle.ends_on,
        retired=key_result.is_retired,
        cycle_closed=cycle.is_closed,
    )
    return stale_signal(facts, today)


# KPIs


def _add_months(day: date, months: int) -> date:
    """The same day `months` later, or that month's last day (31 January + 1: 28/29 February)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def reading_due_on(cadence: Cadence | str, last_reading_on: date | None, defined_on: date) -> date:
    """The day the next reading is due: one cadence after the last (or the definition)."""
    cadence = Cadence(cadence)
    since = last_reading_on if last_reading_on is not None else defined_on
    if cadence is Cadence.DAILY:
        return since + timedelta(days=1)
    if cadence is Cadence.WEEKLY:
        return since + timedelta(days=7)
    return _add_months(since, _MONTHS[cadence])


def kpi_defined_on(kpi: Kpi) -> date:
    """The UTC day the KPI was defined: its readings are due from then."""
    return kpi.created_on.date()


def kpi_overdue_signal(kpi: Kpi, today: date) -> Signal | None:
    """Overdue once `today` is past the due date with no reading since: one signal per due
    date missed; a retired KPI is never overdue."""
    if kpi.is_retired:
        return None
    readings = kpi.readings_until(date.max)
    last_on = readings[-1].effective_on if readings else None
    due = reading_due_on(kpi.cadence, last_on, kpi_defined_on(kpi))
    if today <= due:
        return None
    return _signal(
        Signal.KpiReadingOverdue,
        kpi.id,
        due,
        kpi_id=kpi.id,
        owner=kpi.owner,
        cadence=kpi.cadence.value,
        last_reading_on=last_on,
        due_on=due,
    )


def candidacy_entry(kpi: Kpi) -> Reading | None:
    """The reading that made the KPI a candidate: the second of its latest run of
    unhealthy readings (None when the latest two are not both unhealthy)."""
    readings = kpi.readings_until(date.max)
    run = 0
    for reading in reversed(readings):
        if kpi.is_healthy(reading):
            break
        run += 1
    return readings[len(readings) - run + 1] if run >= 2 else None


def kpi_candidate_signal(kpi: Kpi) -> Signal | None:
    """One signal per entry into candidacy; none for a retired KPI."""
    if kpi.is_retired:
        return None
    entry = candidacy_entry(kpi)
    if entry is None:
        return None
    return _signal(
        Signal.KpiBecameOkrCandidate,
        kpi.id,
        entry.id,
        kpi_id=kpi.id,
        owner=kpi.owner,
        reading_id=entry.id,
        reading_on=entry.effective_on,
    )


# Cycles


def cycle_ending_signal(cycle: Cycle, today: date) -> Signal | None:
    """Due in the cycle's last week (its last 7 days before the last one, and that day),
    unless it was closed early: once per cycle."""
    if cycle.is_closed:
        return None
    if not cycle.ends_on - timedelta(days=CYCLE_ENDING_NOTICE_DAYS) <= today <= cycle.ends_on:
        return None
    return _signal(
        Signal.CycleEndsInSevenDays,
        cycle.id,
        cycle.ends_on,
        cycle_id=cycle.key,
        ends_on=cycle.ends_on,
    )
