"""Key results measured by a KPI (ADR 38): their terms, taken from the KPI, and the
check-ins the KPI's readings record on them.

A key result measured by a KPI starts from the KPI's latest reading (its baseline), rises
or falls as the KPI is to stay above or below its level, and keeps `kpi_id`. Every later
reading of the KPI effective inside the key result's cycle becomes one check-in on it,
recorded by the KPI process (processes/kpi_check_ins.py) under the `kpi-process` actor,
and each correction of that reading corrects the check-in. Each is decided here, and each
is a no-op once done: the check-in's id derives from the key result and the reading, and
the key result remembers the KPI version each check-in reflects, so a process that runs
an event twice (killed before it noted its position, or racing another) stores nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from domain.base import derived_id
from domain.cycle import Cycle
from domain.errors import ConflictError
from domain.key_result import KeyResult
from domain.kpi import Kpi
from domain.values import (
    MAX_NOTE,
    Confidence,
    Direction,
    KpiDirection,
    ReasonCode,
    check_not_future,
)

# Who records what the process records: no person, so no one's grant.
PROCESS_ACTOR = "kpi-process"

# A KPI to stay above its level measures a key result to rise from its latest reading.
KEY_RESULT_DIRECTION = {
    KpiDirection.STAY_ABOVE: Direction.INCREASE,
    KpiDirection.STAY_BELOW: Direction.DECREASE,
}


@dataclass(frozen=True)
class MeasuredTerms:
    """What a key result measured by the KPI takes from it (`KeyResult.create` checks it)."""

    kpi_id: UUID
    unit: str
    direction: Direction
    baseline: Decimal
    measurement_source: str
    measurement_query: str


def measured_terms(kpi: Kpi, cycle: Cycle, on: date) -> MeasuredTerms:
    """The terms of a key result of the cycle measured by the KPI from `on`: its baseline
    is the KPI's latest reading effective by then. A retired KPI, or one without a
    reading, measures nothing new (409)."""
    check_not_future(on)
    cycle.check_within(on)
    kpi.check_not_retired()
    readings = kpi.readings_until(on)
    if not readings:
        raise ConflictError(
            f"KPI {kpi.id} has no reading effective on or before {on}: a key result it "
            "measures takes its latest reading as its baseline; record one first",
            field="baseline",
        )
    return MeasuredTerms(
        kpi_id=kpi.id,
        unit=kpi.unit,
        direction=KEY_RESULT_DIRECTION[kpi.direction],
        baseline=readings[-1].value,
        measurement_source=kpi.data_source,
        measurement_query=kpi.formula,
    )


def reading_check_in_id(key_result_id: UUID, reading_id: UUID) -> UUID:
    """The one check-in a reading can be on a key result: derived, never random."""
    return derived_id("reading-check-in", f"{key_result_id}:{reading_id}")


class Outcome(StrEnum):
    """What a KPI event did to a key result it may measure."""

    RECORDED = "recorded"
    CORRECTED = "corrected"
    # Taken before (a re-run, or another process got there first): nothing stored.
    ALREADY = "already"
    # No check-in: not this KPI's key result, retired, its cycle closed, or the reading
    # effective outside the cycle; a correction of a reading that made no check-in.
    NOT_FED = "not_fed"


def _cited(key_result: KeyResult, check_in_id: UUID) -> int | None:
    versions = key_result.reading_versions or {}
    return versions.get(check_in_id.hex)


def _note(kpi_name: str, reading_note: str) -> str:
    said = f"KPI reading of {kpi_name}"
    note = f"{said}: {reading_note}" if reading_note else said
    return note[:MAX_NOTE]


def check_in_from_reading(
    key_result: KeyResult,
    *,
    cycle: Cycle,
    kpi_id: UUID,
    kpi_name: str,
    reading_id: UUID,
    kpi_version: int,
    value: Decimal,
    effective_on: date,
    note: str = "",
) -> Outcome:
    """Record the reading as a check-in on the key result it measures, effective on the
    reading's day, if it feeds it; the check-in's confidence is its owner's latest (a
    reading says how far, not how sure). Pending on the key result when RECORDED."""
    if key_result.kpi_id != kpi_id:
        return Outcome.NOT_FED
    check_in_id = reading_check_in_id(key_result.id, reading_id)
    if check_in_id in key_result.check_ins:
        return Outcome.ALREADY
    inside = cycle.starts_on <= effective_on <= cycle.ends_on
    if key_result.is_retired or cycle.is_closed or not inside:
        return Outcome.NOT_FED
    latest = key_result.latest_check_in(effective_on)
    key_result.trigger_event(
        KeyResult.CheckInFromReading,
        actor=PROCESS_ACTOR,
        check_in_id=check_in_id,
        value=value,
        confidence=(latest.confidence if latest is not None else Confidence.ON_TRACK).value,
        note=_note(kpi_name, note),
        effective_on=effective_on,
        kpi_id=kpi_id,
        reading_id=reading_id,
        kpi_version=kpi_version,
    )
    return Outcome.RECORDED


def correct_from_reading(
    key_result: KeyResult,
    *,
    kpi_id: UUID,
    reading_id: UUID,
    kpi_version: int,
    value: Decimal,
    reason: str,
    reason_code: ReasonCode | str,
) -> Outcome:
    """Correct the check-in a reading made to the reading's corrected value, if the key
    result has not yet taken this correction (or a later one). Corrections reach a closed
    cycle's check-ins, as an owner's do; a retired key result takes none."""
    if key_result.kpi_id != kpi_id:
        return Outcome.NOT_FED
    check_in_id = reading_check_in_id(key_result.id, reading_id)
    cited = _cited(key_result, check_in_id)
    if cited is None:
        return Outcome.NOT_FED
    if cited >= kpi_version:
        return Outcome.ALREADY
    if key_result.is_retired:
        return Outcome.NOT_FED
    code = ReasonCode(reason_code)
    if value == key_result.check_ins[check_in_id].value:
        # Nothing to correct; a later correction still outranks this one by its version.
        return Outcome.ALREADY
    key_result.trigger_event(
        KeyResult.CheckInCorrectedFromReading,
        actor=PROCESS_ACTOR,
        check_in_id=check_in_id,
        value=value,
        reason=reason,
        reason_code=code.value,
        kpi_id=kpi_id,
        reading_id=reading_id,
        kpi_version=kpi_version,
    )
    return Outcome.CORRECTED
