"""When each signal is due, and what marks one occurrence from the next (ADR 39).

"Today" is always passed in: the rules read no clock.
"""

from __future__ import annotations

from datetime import date, timedelta

from domain.cycle import Cycle
from domain.key_result import KeyResult
from domain.kpi import Kpi
from domain.objective import Objective
from domain.signal import (
    Signal,
    candidacy_entry,
    cycle_ending_signal,
    key_result_stale_signal,
    kpi_candidate_signal,
    kpi_defined_on,
    kpi_overdue_signal,
    reading_due_on,
    signal_id,
    stale_on,
)
from domain.values import Reason, ReasonCode

Q3_START, Q3_END = date(2026, 7, 1), date(2026, 9, 30)
PRIORITIES = Reason("the mid-quarter review moved engineers", ReasonCode.PRIORITIES_CHANGED)


def a_quarter() -> tuple[Cycle, KeyResult]:
    cycle = Cycle.open(actor="ceo", key="2026-Q3", starts_on=Q3_START, ends_on=Q3_END)
    objective = Objective.create(
        actor="ceo", cycle=cycle, title="Stop the leaky bucket", owner="ceo", kind="committed"
    )
    key_result = KeyResult.create(
        actor="head-of-cs",
        objective=objective,
        cycle=cycle,
        title="Gross revenue churn",
        owner="head-of-cs",
        unit="%",
        direction="decrease",
        baseline="3.1",
        target="2.0",
        weight="1",
        measurement_source="billing",
        measurement_query="churned MRR / starting MRR",
        effective_on=Q3_START,
    )
    return cycle, key_result


def a_kpi(cadence: str = "weekly") -> Kpi:
    return Kpi.define(
        actor="head-of-cs",
        area="Retention",
        name="Logo churn",
        owner="head-of-cs",
        unit="%",
        formula="churned / customers",
        data_source="billing",
        cadence=cadence,
        direction="stay_below",
        target="2",
        target_set_on=Q3_START,
    )


def check_in(key_result: KeyResult, cycle: Cycle, on: date) -> None:
    key_result.record_check_in(
        actor="head-of-cs",
        cycle=cycle,
        value="2.8",
        confidence="on_track",
        note="",
        effective_on=on,
    )


def test_a_key_result_goes_stale_21_days_after_its_last_check_in() -> None:
    cycle, key_result = a_quarter()
    # Tracked from the cycle's start: stale on day 21 after it, not the day before.
    assert key_result_stale_signal(key_result, cycle, Q3_START + timedelta(days=20)) is None
    first = key_result_stale_signal(key_result, cycle, Q3_START + timedelta(days=21))
    assert first is not None
    event = first.pending_events[0]
    assert isinstance(event, Signal.KeyResultBecameStale)
    assert (event.stale_on, event.last_check_in_on) == (Q3_START + timedelta(days=21), None)
    assert (event.owner, event.cycle_id, event.key_result_id) == (
        "head-of-cs",
        "2026-Q3",
        key_result.id,
    )
    # Still stale a week later: the same occurrence, the same id.
    week_later = key_result_stale_signal(key_result, cycle, Q3_START + timedelta(days=28))
    assert week_later is not None and week_later.id == first.id

    # A check-in, then 21 days without one: a second occurrence.
    check_in(key_result, cycle, date(2026, 8, 1))
    assert key_result_stale_signal(key_result, cycle, date(2026, 8, 21)) is None
    second = key_result_stale_signal(key_result, cycle, date(2026, 8, 22))
    assert second is not None and second.id not in (first.id,)
    assert second.id == signal_id(Signal.KeyResultBecameStale, key_result.id, date(2026, 8, 22))


def test_staleness_ends_with_the_cycle_a_retirement_or_a_close() -> None:
    # 21 days after the last check-in falls after the cycle's end: never stale.
    assert stale_on(date(2026, 9, 20), Q3_START, Q3_END) is None
    assert stale_on(date(2026, 9, 9), Q3_START, Q3_END) == Q3_END
    cycle, key_result = a_quarter()
    check_in(key_result, cycle, date(2026, 9, 20))
    assert key_result_stale_signal(key_result, cycle, date(2026, 11, 30)) is None

    cycle, key_result = a_quarter()
    key_result.retire(actor="head-of-cs", cycle=cycle, reason=PRIORITIES, effective_on=Q3_START)
    assert key_result_stale_signal(key_result, cycle, date(2026, 8, 1)) is None

    cycle, key_result = a_quarter()
    cycle.close(actor="ceo")
    assert key_result_stale_signal(key_result, cycle, date(2026, 8, 1)) is None


def test_a_reading_is_due_one_cadence_after_the_last() -> None:
    last = date(2026, 1, 31)
    assert reading_due_on("daily", last, Q3_START) == date(2026, 2, 1)
    assert reading_due_on("weekly", last, Q3_START) == date(2026, 2, 7)
    # A month after the 31st is the last day of a shorter month.
    assert reading_due_on("monthly", last, Q3_START) == date(2026, 2, 28)
    assert reading_due_on("monthly", date(2027, 12, 15), Q3_START) == date(2028, 1, 15)
    assert reading_due_on("quarterly", date(2026, 11, 30), Q3_START) == date(2027, 2, 28)
    # Never read: due one cadence after the definition.
    assert reading_due_on("weekly", None, Q3_START) == date(2026, 7, 8)


def test_an_overdue_reading_signals_once_per_due_date_missed() -> None:
    kpi = a_kpi("weekly")
    defined_on = kpi_defined_on(kpi)
    # Never read: overdue the day after its first due date, not on it.
    assert kpi_overdue_signal(kpi, defined_on + timedelta(days=7)) is None
    first = kpi_overdue_signal(kpi, defined_on + timedelta(days=8))
    assert first is not None
    event = first.pending_events[0]
    assert isinstance(event, Signal.KpiReadingOverdue)
    assert (event.due_on, event.last_reading_on, event.cadence) == (
        defined_on + timedelta(days=7),
        None,
        "weekly",
    )
    # Weeks later, still without a reading: the same missed date, the same occurrence.
    later = kpi_overdue_signal(kpi, defined_on + timedelta(days=40))
    assert later is not None and later.id == first.id

    # A reading moves the due date: missing the next one is a new occurrence.
    kpi.record_reading(actor="head-of-cs", value="1.5", effective_on=Q3_START)
    next_miss = kpi_overdue_signal(kpi, defined_on + timedelta(days=40))
    assert next_miss is not None and next_miss.id != first.id
    assert next_miss.pending_events[0].due_on == Q3_START + timedelta(days=7)  # type: ignore[attr-defined]

    kpi.retire(actor="head-of-cs", reason=PRIORITIES, effective_on=Q3_START)
    assert kpi_overdue_signal(kpi, defined_on + timedelta(days=40)) is None


def test_a_kpi_becomes_a_candidate_once_per_entry_into_candidacy() -> None:
    kpi = a_kpi()

    def read(value: str, day: int) -> None:
        kpi.record_reading(actor="head-of-cs", value=value, effective_on=date(2026, 7, day))

    read("3", 1)
    assert candidacy_entry(kpi) is None and kpi_candidate_signal(kpi) is None
    read("4", 8)
    first = kpi_candidate_signal(kpi)
    entry = candidacy_entry(kpi)
    assert first is not None and entry is not None and entry.effective_on == date(2026, 7, 8)
    # A third unhealthy reading: the same entry, the same occurrence.
    read("5", 15)
    again = kpi_candidate_signal(kpi)
    assert again is not None and again.id == first.id
    # Healthy once, then unhealthy twice: a new entry.
    read("1", 22)
    assert kpi_candidate_signal(kpi) is None
    read("3", 29)
    assert kpi_candidate_signal(kpi) is None
    read("3", 30)
    second = kpi_candidate_signal(kpi)
    assert second is not None and second.id != first.id
    assert second.pending_events[0].reading_on == date(2026, 7, 30)  # type: ignore[attr-defined]


def test_a_cycle_signals_its_last_week_once() -> None:
    cycle = Cycle.open(actor="ceo", key="2026-Q3", starts_on=Q3_START, ends_on=Q3_END)
    assert cycle_ending_signal(cycle, date(2026, 9, 22)) is None
    first = cycle_ending_signal(cycle, date(2026, 9, 23))
    last_day = cycle_ending_signal(cycle, Q3_END)
    assert first is not None and last_day is not None and first.id == last_day.id
    assert first.cycle_id == "2026-Q3" and first.owner is None
    assert cycle_ending_signal(cycle, date(2026, 10, 1)) is None
    cycle.close(actor="ceo")
    assert cycle_ending_signal(cycle, date(2026, 9, 25)) is None


def test_ids_differ_by_kind_subject_and_occurrence() -> None:
    cycle, key_result = a_quarter()
    day = date(2026, 9, 23)
    ids = {
        signal_id(Signal.KeyResultBecameStale, key_result.id, day),
        signal_id(Signal.KpiReadingOverdue, key_result.id, day),
        signal_id(Signal.KeyResultBecameStale, cycle.id, day),
        signal_id(Signal.KeyResultBecameStale, key_result.id, day + timedelta(days=1)),
    }
    assert len(ids) == 4
    # Derived, never random: the same occurrence has the same id in any process.
    assert signal_id(Signal.KeyResultBecameStale, key_result.id, day) in ids
