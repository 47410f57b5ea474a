"""Key results measured by a KPI (ADR 38): their terms from the KPI, and each reading and
correction taken once, decided on the aggregates alone."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import cast
from uuid import UUID

import pytest

from application.ledger import GoalLedger, replay
from domain.base import LedgerAggregate
from domain.cycle import Cycle
from domain.errors import ConflictError, GoalRetiredError, InvalidInputError
from domain.key_result import KeyResult
from domain.kpi import Kpi
from domain.kpi_measured import (
    PROCESS_ACTOR,
    Outcome,
    check_in_from_reading,
    correct_from_reading,
    measured_terms,
    reading_check_in_id,
)
from domain.objective import Objective
from domain.values import Direction, Reason, ReasonCode

STARTS = date(2026, 7, 1)
ENDS = date(2026, 9, 30)


def quarter() -> tuple[Cycle, Objective]:
    cycle = Cycle.open(actor="admin", key="2026-Q3", starts_on=STARTS, ends_on=ENDS)
    objective = Objective.create(
        actor="cs-lead", cycle=cycle, title="Keep customers", owner="cs-team", kind="committed"
    )
    return cycle, objective


def kpi(direction: str = "stay_below") -> Kpi:
    return Kpi.define(
        actor="support-lead", area="Support", name="First-response time", owner="support",
        unit="hours", formula="median(first_reply_at - opened_at)", data_source="helpdesk",
        cadence="weekly", direction=direction, target="2", target_set_on=STARTS,
    )  # fmt: skip


def measured(cycle: Cycle, objective: Objective, gauge: Kpi, target: str = "1") -> KeyResult:
    terms = measured_terms(gauge, cycle, STARTS + timedelta(days=10))
    return KeyResult.create(
        actor="cs-lead", objective=objective, cycle=cycle, title="Reply within the hour",
        owner="cs-team", unit=terms.unit, direction=terms.direction, baseline=terms.baseline,
        target=target, weight=1, measurement_source=terms.measurement_source,
        measurement_query=terms.measurement_query, effective_on=STARTS + timedelta(days=10),
        kpi_id=terms.kpi_id,
    )  # fmt: skip


def feed(
    key_result: KeyResult, cycle: Cycle, gauge: Kpi, reading_id: UUID, **changes: object
) -> Outcome:
    reading = gauge.readings[reading_id]
    arguments: dict[str, object] = {
        "cycle": cycle,
        "kpi_id": gauge.id,
        "kpi_name": gauge.name,
        "reading_id": reading_id,
        "kpi_version": reading.version,
        "value": reading.value,
        "effective_on": reading.effective_on,
        "note": reading.note,
        **changes,
    }
    return check_in_from_reading(key_result, **arguments)  # type: ignore[arg-type]


def test_the_kpi_gives_unit_direction_measurement_and_its_latest_reading_as_baseline() -> None:
    cycle, objective = quarter()
    below, above = kpi("stay_below"), kpi("stay_above")
    for gauge in (below, above):
        gauge.record_reading(actor="support-lead", value="3", effective_on=STARTS)
        gauge.record_reading(actor="support-lead", value="2.5", effective_on=STARTS + timedelta(7))
        # A reading after the key result's first day is not its baseline.
        gauge.record_reading(actor="support-lead", value="9", effective_on=STARTS + timedelta(20))
    terms = measured_terms(below, cycle, STARTS + timedelta(days=10))
    assert terms.baseline == Decimal("2.5") and terms.unit == "hours"
    assert terms.direction is Direction.DECREASE
    assert (terms.measurement_source, terms.measurement_query) == (
        "helpdesk",
        "median(first_reply_at - opened_at)",
    )
    assert measured_terms(above, cycle, STARTS + timedelta(10)).direction is Direction.INCREASE
    key_result = measured(cycle, objective, below)
    assert key_result.kpi_id == below.id and key_result.current_plan.baseline == Decimal("2.5")


def test_without_a_reading_on_a_retired_kpi_or_outside_the_cycle_it_is_refused() -> None:
    cycle, _ = quarter()
    gauge = kpi()
    with pytest.raises(ConflictError) as refused:
        measured_terms(gauge, cycle, STARTS)
    assert refused.value.field == "baseline"
    gauge.record_reading(actor="support-lead", value="3", effective_on=STARTS)
    with pytest.raises(InvalidInputError) as outside:
        measured_terms(gauge, cycle, STARTS - timedelta(days=1))
    assert outside.value.field == "effective_on"
    gauge.retire(actor="support-lead", reason=Reason("gone", ReasonCode.OTHER), effective_on=ENDS)
    with pytest.raises(GoalRetiredError):
        measured_terms(gauge, cycle, STARTS)


def test_a_reading_is_taken_once_and_a_correction_once_by_its_version() -> None:
    cycle, objective = quarter()
    gauge = kpi()
    gauge.record_reading(actor="support-lead", value="3", effective_on=STARTS)
    key_result = measured(cycle, objective, gauge)
    # The owner said at_risk last: a reading keeps the owner's confidence.
    key_result.record_check_in(
        actor="cs-team", cycle=cycle, value="2.8", confidence="at_risk", note="",
        effective_on=STARTS + timedelta(days=12),
    )  # fmt: skip
    reading = gauge.record_reading(
        actor="support-lead", value="2", effective_on=STARTS + timedelta(days=14), note="new bot"
    )
    assert feed(key_result, cycle, gauge, reading) is Outcome.RECORDED
    check_in = key_result.check_ins[reading_check_in_id(key_result.id, reading)]
    assert check_in.value == Decimal("2") and check_in.actor == PROCESS_ACTOR
    assert check_in.effective_on == STARTS + timedelta(days=14)
    assert check_in.confidence.value == "at_risk"
    assert check_in.note == "KPI reading of First-response time: new bot"
    version = key_result.version
    assert feed(key_result, cycle, gauge, reading) is Outcome.ALREADY
    assert key_result.version == version

    # Two corrections of the reading; each taken once, an older one never over a newer.
    reason = Reason("clock skew", ReasonCode.DATA_ERROR)
    gauge.correct_reading(actor="support-lead", reading_id=reading, value="1.8", reason=reason)
    first = gauge.version
    gauge.correct_reading(actor="support-lead", reading_id=reading, value="1.6", reason=reason)

    def correct(kpi_version: int, value: str) -> Outcome:
        return correct_from_reading(
            key_result, kpi_id=gauge.id, reading_id=reading, kpi_version=kpi_version,
            value=Decimal(value), reason="clock skew", reason_code="data_error",
        )  # fmt: skip

    assert correct(first, "1.8") is Outcome.CORRECTED
    assert correct(first, "1.8") is Outcome.ALREADY
    assert correct(gauge.version, "1.6") is Outcome.CORRECTED
    assert correct(first, "1.8") is Outcome.ALREADY
    corrected = key_result.check_ins[reading_check_in_id(key_result.id, reading)]
    assert corrected.value == Decimal("1.6") and len(corrected.corrections) == 2
    assert corrected.corrections[-1].actor == PROCESS_ACTOR


def test_what_a_reading_does_not_feed() -> None:
    cycle, objective = quarter()
    gauge, other = kpi(), kpi()
    for each in (gauge, other):
        each.record_reading(actor="support-lead", value="3", effective_on=STARTS)
    key_result = measured(cycle, objective, gauge)
    # Another KPI's reading, and a reading of a day outside the cycle.
    stranger = other.record_reading(actor="support-lead", value="2", effective_on=STARTS)
    assert feed(key_result, cycle, other, stranger) is Outcome.NOT_FED
    early = gauge.record_reading(actor="support-lead", value="2", effective_on=date(2026, 6, 30))
    assert feed(key_result, cycle, gauge, early) is Outcome.NOT_FED
    # A correction of a reading that made no check-in corrects nothing.
    nothing = correct_from_reading(
        key_result, kpi_id=gauge.id, reading_id=early, kpi_version=99,
        value=Decimal("1"), reason="typo", reason_code="data_error",
    )  # fmt: skip
    assert nothing is Outcome.NOT_FED
    # A closed cycle, then a retired key result, take none.
    inside = gauge.record_reading(actor="support-lead", value="2", effective_on=STARTS)
    cycle.close(actor="admin")
    assert feed(key_result, cycle, gauge, inside) is Outcome.NOT_FED
    assert not key_result.check_ins
    open_cycle, objective = quarter()
    retiring = measured(open_cycle, objective, gauge)
    retiring.retire(
        actor="cs-team", cycle=open_cycle, reason=Reason("merged", ReasonCode.DUPLICATE),
        effective_on=STARTS + timedelta(days=11),
    )  # fmt: skip
    assert feed(retiring, open_cycle, gauge, inside) is Outcome.NOT_FED


def test_a_snapshot_keeps_which_kpi_events_each_check_in_took() -> None:
    ledger = GoalLedger(env={})
    ledger.open_cycle(actor="admin", key="2026-Q3", starts_on=STARTS, ends_on=ENDS)
    objective = ledger.create_objective(
        actor="cs-lead", cycle_id="2026-Q3", title="Support", owner="cs-team", kind="committed"
    )
    gauge = ledger.define_kpi(
        actor="support-lead", area="Support", name="First-response time", owner="support",
        unit="hours", formula="median", data_source="helpdesk", cadence="daily",
        direction="stay_below", target="2", target_set_on=STARTS,
    )  # fmt: skip
    ledger.record_kpi_reading(actor="support-lead", kpi_id=gauge.id, value="9", effective_on=STARTS)
    key_result = ledger.add_kpi_key_result(
        actor="cs-lead", kpi_id=gauge.id, objective_id=objective.id, title="Under 2 hours",
        target="2", effective_on=STARTS,
    ).id  # fmt: skip
    # 99 check-ins from readings: the 100th event is where the snapshot is taken.
    for n in range(99):
        saved = ledger.record_kpi_reading(
            actor="support-lead", kpi_id=gauge.id, value=str(8 - n % 5),
            effective_on=STARTS + timedelta(days=n % 90),
        )  # fmt: skip
        assert saved.check_in_id is not None
        reading = ledger.get_kpi(gauge.id).readings[saved.check_in_id]
        outcome = ledger.check_in_from_reading(
            key_result_id=key_result, kpi_id=gauge.id, kpi_name="First-response time",
            reading_id=reading.id, kpi_version=reading.version, value=reading.value,
            effective_on=reading.effective_on,
        )  # fmt: skip
        assert outcome is Outcome.RECORDED

    assert ledger.snapshots is not None
    [snapshot] = ledger.snapshots.get(key_result)
    assert snapshot.originator_version == 100
    from_snapshot = cast(KeyResult.Snapshot, snapshot).mutate(None)
    events = ledger.events.get(key_result, lte=snapshot.originator_version)
    from_events = replay(None, cast(list[LedgerAggregate.Event], list(events)))
    assert isinstance(from_snapshot, KeyResult) and isinstance(from_events, KeyResult)
    assert from_snapshot.reading_versions == from_events.reading_versions
    assert from_events.reading_versions is not None
    assert len(from_events.reading_versions) == 99
    assert from_snapshot.kpi_id == gauge.id
    # The last reading again, on the key result as loaded (from its snapshot): nothing new.
    again = ledger.check_in_from_reading(
        key_result_id=key_result, kpi_id=gauge.id, kpi_name="First-response time",
        reading_id=reading.id, kpi_version=reading.version, value=reading.value,
        effective_on=reading.effective_on,
    )  # fmt: skip
    assert again is Outcome.ALREADY
