"""A key result: a measurable outcome with a baseline, a target and a direction."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any, cast
from uuid import UUID, uuid4

from eventsourcing.domain import Snapshot as LibrarySnapshot

from domain.base import GraduatedEvent, LedgerAggregate, Retirement
from domain.carried import CarriedForwardEvent
from domain.check_in_log import CheckIn, CheckInLog, Correction
from domain.contributors import ContributorAddedEvent, ContributorRemovedEvent
from domain.cycle import Cycle
from domain.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from domain.key_result_plan import (
    KeyResultStatus,
    Plan,
    check_plan,
    plan_from_state,
    plan_state,
    retirement_state,
)
from domain.objective import Objective
from domain.ownership import TransferredEvent
from domain.plans import plan_in_force
from domain.reading_check_in_events import (
    CheckInCorrectedFromReadingEvent,
    CheckInFromReadingEvent,
)
from domain.scoring import (
    expected_progress,
    is_stale,
    key_result_score,
    pace,
    traffic_light,
)
from domain.self_assessment import SelfAssessedEvent
from domain.values import (
    MAX_NAME,
    MAX_NOTE,
    MAX_TITLE,
    Confidence,
    Direction,
    Reason,
    ReasonCode,
    check_decimal,
    check_enum,
    check_identifier,
    check_not_future,
    check_text,
    check_unit_interval,
    check_weight,
)

MAX_QUERY = 4000


class KeyResult(LedgerAggregate):
    class Created(LedgerAggregate.Created):
        # v2 adds the key result's links: the one it was carried forward from (ADR 37) and
        # the KPI whose readings measure it (ADR 38). Key results created before v2 have neither.
        class_version = 2
        objective_id: UUID
        cycle_id: str
        title: str
        owner: str
        unit: str
        direction: str
        baseline: Decimal
        target: Decimal
        weight: Decimal
        measurement: dict[str, str]
        effective_on: date
        carried_from: UUID | None
        kpi_id: UUID | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["carried_from"] = None
            state["kpi_id"] = None

    class CheckInRecorded(LedgerAggregate.Event):
        check_in_id: UUID
        value: Decimal
        confidence: str
        note: str
        effective_on: date

        def apply(self, aggregate: KeyResult) -> None:
            aggregate.check_ins.record(self)

    class CheckInCorrected(LedgerAggregate.Event):
        check_in_id: UUID
        value: Decimal
        reason: str
        reason_code: str

        def apply(self, aggregate: KeyResult) -> None:
            check_in = aggregate.check_ins[self.check_in_id]
            correction = Correction.recorded_by(self)
            aggregate.check_ins.put(
                replace(check_in, value=self.value, corrections=(*check_in.corrections, correction))
            )

    class Rebaselined(LedgerAggregate.Event):
        baseline: Decimal
        target: Decimal
        reason: str
        reason_code: str
        effective_on: date

        def apply(self, aggregate: KeyResult) -> None:
            aggregate.plans.append(
                Plan(
                    baseline=self.baseline,
                    target=self.target,
                    weight=aggregate.plans[-1].weight,
                    effective_on=self.effective_on,
                    recorded_at=self.timestamp,
                    version=self.originator_version,
                    actor=self.actor,
                    reason=self.reason,
                    reason_code=ReasonCode(self.reason_code),
                )
            )

    class Reweighted(LedgerAggregate.Event):
        weight: Decimal
        reason: str
        reason_code: str
        effective_on: date

        def apply(self, aggregate: KeyResult) -> None:
            latest = aggregate.plans[-1]
            aggregate.plans.append(
                replace(
                    latest,
                    weight=self.weight,
                    effective_on=self.effective_on,
                    recorded_at=self.timestamp,
                    version=self.originator_version,
                    actor=self.actor,
                    reason=self.reason,
                    reason_code=ReasonCode(self.reason_code),
                )
            )

    class Retired(LedgerAggregate.Retired):
        pass

    class Graduated(GraduatedEvent):
        pass

    class CarriedForward(CarriedForwardEvent):
        pass

    class SelfAssessed(SelfAssessedEvent):
        pass

    # Check-ins from the readings of the KPI that measures it (ADR 38).
    class CheckInFromReading(CheckInFromReadingEvent):
        pass

    class CheckInCorrectedFromReading(CheckInCorrectedFromReadingEvent):
        pass

    # Check-in id (hex) -> the version of its KPI's latest event it reflects (ADR 38).
    reading_versions: dict[str, int] | None = None

    # Ownership over time and contributors (ADR 42); the rules are in their modules.
    class Transferred(TransferredEvent):
        pass

    class ContributorAdded(ContributorAddedEvent):
        pass

    class ContributorRemoved(ContributorRemovedEvent):
        pass

    class Snapshot(LibrarySnapshot):
        """State in JSON-native form: check-ins stay compact rows, enums travel as values.

        Snapshots are a cache derived from the events; a layout change only needs old
        snapshots dropped, never an event rewritten.
        """

        @classmethod
        def take(cls, aggregate: Any) -> KeyResult.Snapshot:
            snapshot = super().take(aggregate)
            state = snapshot.state
            state["direction"] = aggregate.direction.value
            state["check_ins"] = aggregate.check_ins.rows
            state["plans"] = [plan_state(p) for p in aggregate.plans]
            if state.get("retirement") is not None:
                state["retirement"] = retirement_state(aggregate.retirement)
            return snapshot

        def mutate(self, _: None) -> KeyResult:
            # The snapshot's topic names the class it restores.
            aggregate = cast(KeyResult, super().mutate(None))
            # Snapshots taken before the links existed restore without them.
            aggregate.__dict__.setdefault("carried_from", None)
            aggregate.__dict__.setdefault("kpi_id", None)
            aggregate.direction = Direction(aggregate.direction)
            aggregate.check_ins = CheckInLog(self.state["check_ins"])
            aggregate.plans = [plan_from_state(p) for p in self.state["plans"]]
            if self.state.get("retirement") is not None:
                aggregate.retirement = Retirement(
                    **{
                        **self.state["retirement"],
                        "reason_code": ReasonCode(self.state["retirement"]["reason_code"]),
                    }
                )
            return aggregate

    def __init__(
        self,
        *,
        actor: str,
        objective_id: UUID,
        cycle_id: str,
        title: str,
        owner: str,
        unit: str,
        direction: str,
        baseline: Decimal,
        target: Decimal,
        weight: Decimal,
        measurement: dict[str, str],
        effective_on: date,
        carried_from: UUID | None = None,
        kpi_id: UUID | None = None,
    ) -> None:
        self.objective_id = objective_id
        self.carried_from = carried_from
        self.kpi_id = kpi_id
        self.cycle_id = cycle_id
        self.title = title
        self.owner = owner
        self.unit = unit
        self.direction = Direction(direction)
        self.measurement = measurement
        self.created_by = actor
        self.plans = [Plan(baseline, target, weight, effective_on, self.created_on, 1, actor)]
        self.check_ins = CheckInLog()

    @classmethod
    def create(
        cls,
        *,
        actor: str,
        objective: Objective,
        cycle: Cycle,
        title: str,
        owner: str,
        unit: str,
        direction: Direction | str,
        baseline: Decimal | int | str,
        target: Decimal | int | str,
        weight: Decimal | int | str,
        measurement_source: str,
        measurement_query: str,
        effective_on: date,
        carried_from: UUID | None = None,
        kpi_id: UUID | None = None,
    ) -> KeyResult:
        """Create the key result and add it to its objective; save both together."""
        objective.check_not_retired()
        cycle.check_open()
        chosen_direction = check_enum(Direction, direction, "direction")
        start = check_decimal(baseline, "baseline")
        goal = check_decimal(target, "target")
        check_plan(chosen_direction, start, goal)
        check_not_future(effective_on)
        cycle.check_within(effective_on)
        key_result = cls._create(
            cls.Created,
            actor=actor,
            objective_id=objective.id,
            cycle_id=cycle.key,
            title=check_text(title, "title", max_len=MAX_TITLE),
            owner=check_identifier(owner, "owner"),
            unit=check_text(unit, "unit", max_len=MAX_NAME, required=False),
            direction=chosen_direction.value,
            baseline=start,
            target=goal,
            weight=check_weight(weight),
            measurement={
                "source": check_text(measurement_source, "measurement.source", max_len=MAX_NAME),
                "query": check_text(
                    measurement_query, "measurement.query", max_len=MAX_QUERY, multiline=True
                ),
            },
            effective_on=effective_on,
            carried_from=carried_from,
            kpi_id=kpi_id,
        )
        objective.add_key_result(actor=actor, key_result_id=key_result.id, cycle=cycle)
        return key_result

    # Commands

    def record_check_in(
        self,
        *,
        actor: str,
        cycle: Cycle,
        value: Decimal | int | str,
        confidence: Confidence | str,
        note: str,
        effective_on: date,
        check_in_id: UUID | None = None,
    ) -> UUID:
        """Record a check-in; imports pass a derived `check_in_id` so re-runs are detectable."""
        self.check_not_retired()
        cycle.check_open()
        check_not_future(effective_on)
        cycle.check_within(effective_on)
        if check_in_id is None:
            check_in_id = uuid4()
        elif check_in_id in self.check_ins:
            raise AlreadyExistsError(
                f"key result {self.id} already has check-in {check_in_id}", field="check_in_id"
            )
        self.trigger_event(
            self.CheckInRecorded,
            actor=actor,
            check_in_id=check_in_id,
            value=self._check_value(value),
            confidence=check_enum(Confidence, confidence, "confidence").value,
            note=check_text(note, "note", max_len=MAX_NOTE, required=False, multiline=True),
            effective_on=effective_on,
        )
        return check_in_id

    def correct_check_in(
        self, *, actor: str, check_in_id: UUID, value: Decimal | int | str, reason: Reason
    ) -> None:
        """Corrections are the one change a closed cycle accepts; reports flag them. A key
        result carried forward still takes them, as its closed cycle does (ADR 37)."""
        if self.retirement is None or self.retirement.carried_to is None:
            self.check_not_retired()
        check_in = self.check_ins.get(check_in_id)
        if check_in is None:
            raise NotFoundError(
                f"key result {self.id} has no check-in {check_in_id}", field="check_in_id"
            )
        corrected = self._check_value(value)
        if corrected == check_in.value:
            raise InvalidInputError("the corrected value equals the recorded one", field="value")
        self.trigger_event(
            self.CheckInCorrected,
            actor=actor,
            check_in_id=check_in_id,
            value=corrected,
            reason=reason.text,
            reason_code=reason.code.value,
        )

    def rebaseline(
        self,
        *,
        actor: str,
        cycle: Cycle,
        baseline: Decimal | int | str,
        target: Decimal | int | str,
        reason: Reason,
        effective_on: date,
    ) -> None:
        self.check_not_retired()
        cycle.check_open()
        check_not_future(effective_on)
        cycle.check_within(effective_on)
        start = check_decimal(baseline, "baseline")
        goal = check_decimal(target, "target")
        check_plan(self.direction, start, goal)
        current = self.plans[-1]
        if (start, goal) == (current.baseline, current.target):
            raise InvalidInputError("baseline and target are unchanged", field="target")
        self.trigger_event(
            self.Rebaselined,
            actor=actor,
            baseline=start,
            target=goal,
            reason=reason.text,
            reason_code=reason.code.value,
            effective_on=effective_on,
        )

    def reweight(
        self,
        *,
        actor: str,
        cycle: Cycle,
        weight: Decimal | int | str,
        reason: Reason,
        effective_on: date,
    ) -> None:
        self.check_not_retired()
        cycle.check_open()
        check_not_future(effective_on)
        cycle.check_within(effective_on)
        new_weight = check_weight(weight)
        if new_weight == self.plans[-1].weight:
            raise InvalidInputError("weight is unchanged", field="weight")
        self.trigger_event(
            self.Reweighted,
            actor=actor,
            weight=new_weight,
            reason=reason.text,
            reason_code=reason.code.value,
            effective_on=effective_on,
        )

    def retire(self, *, actor: str, cycle: Cycle, reason: Reason, effective_on: date) -> None:
        cycle.check_open()
        check_not_future(effective_on)
        cycle.check_within(effective_on)
        self._trigger_retired(self.Retired, actor, reason, effective_on)

    def _check_value(self, value: Decimal | int | str) -> Decimal:
        number = check_decimal(value, "value")
        if self.direction is Direction.MILESTONE:
            check_unit_interval(number, "value")
        return number

    # Reads

    @property
    def original_plan(self) -> Plan:
        return self.plans[0]

    @property
    def current_plan(self) -> Plan:
        return self.plans[-1]

    def plan_on(self, day: date) -> Plan:
        """The plan in force on a day; before the first plan took effect, the original."""
        return plan_in_force(self.plans, day)

    def latest_check_in(self, on: date) -> CheckIn | None:
        return self.check_ins.latest(on)

    def latest_value(self, on: date) -> Decimal | None:
        """The value of the latest check-in effective on or before `on`, if any."""
        return self.check_ins.latest_value(on)

    def retired_on(self, day: date) -> Retirement | None:
        if self.retirement is not None and self.retirement.effective_on <= day:
            return self.retirement
        return None

    def status(self, cycle: Cycle, as_of: date) -> KeyResultStatus:
        plan = self.plan_on(as_of)
        original = self.original_plan
        check_in = self.latest_check_in(as_of)
        value = check_in.value if check_in is not None else plan.baseline
        score = key_result_score(self.direction, plan.baseline, plan.target, value)
        original_value = check_in.value if check_in is not None else original.baseline
        expected = expected_progress(cycle.starts_on, cycle.ends_on, as_of)
        return KeyResultStatus(
            as_of=as_of,
            plan=plan,
            original_plan=original,
            value=value,
            last_check_in=check_in,
            check_in_count=self.check_ins.count_until(as_of),
            score=score,
            score_against_original_plan=key_result_score(
                self.direction, original.baseline, original.target, original_value
            ),
            traffic_light=traffic_light(score),
            expected_progress=expected,
            pace=pace(score, expected),
            stale=is_stale(
                check_in.effective_on if check_in is not None else None,
                max(original.effective_on, cycle.starts_on),
                as_of,
            ),
            retired=self.retired_on(as_of),
        )
