"""A KPI: a continuous gauge with a healthy level, grouped under a KRA (its area)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID, uuid4

from domain.base import LedgerAggregate, Retirement
from domain.check_in_log import Correction
from domain.errors import InvalidInputError, NotFoundError
from domain.ownership import TransferredEvent
from domain.scoring import kpi_healthy
from domain.values import (
    MAX_NAME,
    MAX_NOTE,
    MAX_TITLE,
    KpiDirection,
    Reason,
    ReasonCode,
    check_decimal,
    check_enum,
    check_identifier,
    check_not_future,
    check_text,
)

MAX_FORMULA = 2000


class Cadence(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


@dataclass(frozen=True)
class Threshold:
    """The healthy level in force from `set_on`: a threshold, optionally a range."""

    target: Decimal
    healthy_low: Decimal | None
    healthy_high: Decimal | None
    set_on: date
    recorded_at: datetime
    version: int
    actor: str
    reason: str | None = None
    reason_code: ReasonCode | None = None


@dataclass(frozen=True)
class Reading:
    id: UUID
    effective_on: date
    value: Decimal
    note: str
    actor: str
    recorded_at: datetime
    version: int
    original_value: Decimal
    corrections: tuple[Correction, ...] = ()


@dataclass(frozen=True)
class KpiStatus:
    as_of: date
    threshold: Threshold
    last_reading: Reading | None
    healthy: bool | None
    retired: Retirement | None


def check_range(
    low: Decimal | int | str | None, high: Decimal | int | str | None
) -> tuple[Decimal | None, Decimal | None]:
    lower = check_decimal(low, "healthy_low") if low is not None else None
    upper = check_decimal(high, "healthy_high") if high is not None else None
    if lower is not None and upper is not None and lower > upper:
        raise InvalidInputError("healthy_low must not be above healthy_high", field="healthy_low")
    return lower, upper


class Kpi(LedgerAggregate):
    class Defined(LedgerAggregate.Created):
        area: str
        name: str
        owner: str
        unit: str
        formula: str
        data_source: str
        cadence: str
        direction: str
        target: Decimal
        healthy_low: Decimal | None
        healthy_high: Decimal | None
        target_set_on: date

    class ReadingRecorded(LedgerAggregate.Event):
        reading_id: UUID
        value: Decimal
        note: str
        effective_on: date

        def apply(self, aggregate: Kpi) -> None:
            aggregate.readings[self.reading_id] = Reading(
                id=self.reading_id,
                effective_on=self.effective_on,
                value=self.value,
                note=self.note,
                actor=self.actor,
                recorded_at=self.timestamp,
                version=self.originator_version,
                original_value=self.value,
            )

    class ReadingCorrected(LedgerAggregate.Event):
        reading_id: UUID
        value: Decimal
        reason: str
        reason_code: str

        def apply(self, aggregate: Kpi) -> None:
            reading = aggregate.readings[self.reading_id]
            correction = Correction.recorded_by(self)
            aggregate.readings[self.reading_id] = replace(
                reading, value=self.value, corrections=(*reading.corrections, correction)
            )

    class TargetChanged(LedgerAggregate.Event):
        target: Decimal
        healthy_low: Decimal | None
        healthy_high: Decimal | None
        reason: str
        reason_code: str
        effective_on: date

        def apply(self, aggregate: Kpi) -> None:
            aggregate.thresholds.append(
                Threshold(
                    target=self.target,
                    healthy_low=self.healthy_low,
                    healthy_high=self.healthy_high,
                    set_on=self.effective_on,
                    recorded_at=self.timestamp,
                    version=self.originator_version,
                    actor=self.actor,
                    reason=self.reason,
                    reason_code=ReasonCode(self.reason_code),
                )
            )

    class Retired(LedgerAggregate.Retired):
        pass

    class Transferred(TransferredEvent):
        """Ownership from a day on (ADR 42); the rules are in domain/ownership.py."""

    class GraduatedFrom(LedgerAggregate.Event):
        """Saved with `Defined`, in the same transaction: the key result it carries on."""

        key_result_id: UUID

        def apply(self, aggregate: Kpi) -> None:
            aggregate.graduated_from = self.key_result_id

    # The key result this KPI graduated from (ADR 36); None for a KPI defined as one.
    graduated_from: UUID | None = None

    def __init__(
        self,
        *,
        actor: str,
        area: str,
        name: str,
        owner: str,
        unit: str,
        formula: str,
        data_source: str,
        cadence: str,
        direction: str,
        target: Decimal,
        healthy_low: Decimal | None,
        healthy_high: Decimal | None,
        target_set_on: date,
    ) -> None:
        self.area = area
        self.name = name
        self.owner = owner
        self.unit = unit
        self.formula = formula
        self.data_source = data_source
        self.cadence = Cadence(cadence)
        self.direction = KpiDirection(direction)
        self.defined_by = actor
        self.thresholds = [
            Threshold(target, healthy_low, healthy_high, target_set_on, self.created_on, 1, actor)
        ]
        self.readings: dict[UUID, Reading] = {}

    @classmethod
    def define(
        cls,
        *,
        actor: str,
        area: str,
        name: str,
        owner: str,
        unit: str,
        formula: str,
        data_source: str,
        cadence: Cadence | str,
        direction: KpiDirection | str,
        target: Decimal | int | str,
        healthy_low: Decimal | int | str | None = None,
        healthy_high: Decimal | int | str | None = None,
        target_set_on: date,
    ) -> Kpi:
        low, high = check_range(healthy_low, healthy_high)
        check_not_future(target_set_on, "target_set_on")
        return cls._create(
            cls.Defined,
            actor=actor,
            area=check_text(area, "area", max_len=MAX_NAME),
            name=check_text(name, "name", max_len=MAX_TITLE),
            owner=check_identifier(owner, "owner"),
            unit=check_text(unit, "unit", max_len=MAX_NAME, required=False),
            formula=check_text(formula, "formula", max_len=MAX_FORMULA, multiline=True),
            data_source=check_text(data_source, "data_source", max_len=MAX_NAME),
            cadence=check_enum(Cadence, cadence, "cadence").value,
            direction=check_enum(KpiDirection, direction, "direction").value,
            target=check_decimal(target, "target"),
            healthy_low=low,
            healthy_high=high,
            target_set_on=target_set_on,
        )

    # Commands

    def record_reading(
        self, *, actor: str, value: Decimal | int | str, effective_on: date, note: str = ""
    ) -> UUID:
        self.check_not_retired()
        check_not_future(effective_on)
        reading_id = uuid4()
        self.trigger_event(
            self.ReadingRecorded,
            actor=actor,
            reading_id=reading_id,
            value=check_decimal(value, "value"),
            note=check_text(note, "note", max_len=MAX_NOTE, required=False, multiline=True),
            effective_on=effective_on,
        )
        return reading_id

    def correct_reading(
        self, *, actor: str, reading_id: UUID, value: Decimal | int | str, reason: Reason
    ) -> None:
        self.check_not_retired()
        reading = self.readings.get(reading_id)
        if reading is None:
            raise NotFoundError(f"KPI {self.id} has no reading {reading_id}", field="reading_id")
        corrected = check_decimal(value, "value")
        if corrected == reading.value:
            raise InvalidInputError("the corrected value equals the recorded one", field="value")
        self.trigger_event(
            self.ReadingCorrected,
            actor=actor,
            reading_id=reading_id,
            value=corrected,
            reason=reason.text,
            reason_code=reason.code.value,
        )

    def change_target(
        self,
        *,
        actor: str,
        target: Decimal | int | str,
        reason: Reason,
        effective_on: date,
        healthy_low: Decimal | int | str | None = None,
        healthy_high: Decimal | int | str | None = None,
    ) -> None:
        self.check_not_retired()
        check_not_future(effective_on)
        new_target = check_decimal(target, "target")
        low, high = check_range(healthy_low, healthy_high)
        current = self.thresholds[-1]
        if (new_target, low, high) == (
            current.target,
            current.healthy_low,
            current.healthy_high,
        ):
            raise InvalidInputError("target and healthy range are unchanged", field="target")
        self.trigger_event(
            self.TargetChanged,
            actor=actor,
            target=new_target,
            healthy_low=low,
            healthy_high=high,
            reason=reason.text,
            reason_code=reason.code.value,
            effective_on=effective_on,
        )

    def retire(self, *, actor: str, reason: Reason, effective_on: date) -> None:
        check_not_future(effective_on)
        self._trigger_retired(self.Retired, actor, reason, effective_on)

    # Reads

    def threshold_on(self, day: date) -> Threshold:
        in_force = [t for t in self.thresholds if t.set_on <= day]
        if not in_force:
            return self.thresholds[0]
        return max(in_force, key=lambda t: (t.set_on, t.version))

    def readings_until(self, day: date) -> list[Reading]:
        """Readings effective on or before `day`, oldest first (latest recorded last on a tie)."""
        return sorted(
            (r for r in self.readings.values() if r.effective_on <= day),
            key=lambda r: (r.effective_on, r.version),
        )

    def is_healthy(self, reading: Reading) -> bool:
        threshold = self.threshold_on(reading.effective_on)
        return kpi_healthy(
            self.direction,
            threshold.target,
            reading.value,
            threshold.healthy_low,
            threshold.healthy_high,
        )

    def status(self, as_of: date) -> KpiStatus:
        readings = self.readings_until(as_of)
        last = readings[-1] if readings else None
        return KpiStatus(
            as_of=as_of,
            threshold=self.threshold_on(as_of),
            last_reading=last,
            healthy=self.is_healthy(last) if last is not None else None,
            retired=(
                self.retirement
                if self.retirement is not None and self.retirement.effective_on <= as_of
                else None
            ),
        )

    def is_okr_candidate(self, as_of: date) -> bool:
        """Out of its healthy range for its last two consecutive readings."""
        last_two = self.readings_until(as_of)[-2:]
        return len(last_two) == 2 and not any(self.is_healthy(r) for r in last_two)
