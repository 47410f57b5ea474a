"""The demo quarter, recorded: the goals and KPIs of `cli.demo_quarter` and `cli.demo_kpis`,
told as events in the order they happened."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.ledger import GoalLedger
from cli.demo_kpis import KPIS
from cli.demo_quarter import (
    CHURN_CORRECTION,
    COVERAGE_REBASELINE,
    CYCLE,
    ENDS_ON,
    OBJECTIVES,
    ONBOARDING_RETIREMENT,
    STARTS_ON,
    WEEKS,
)
from domain.errors import NotFoundError


@dataclass(frozen=True)
class DemoSummary:
    cycle: str
    objectives: int
    key_results: int
    check_ins: int
    kpis: int
    readings: int


def demo_loaded(ledger: GoalLedger) -> bool:
    try:
        ledger.get_cycle(CYCLE)
    except NotFoundError:
        return False
    return True


def load_demo(ledger: GoalLedger) -> DemoSummary:
    """Record the demo quarter; opening the cycle comes first, so a second load is refused."""
    ledger.open_cycle(actor="ceo", key=CYCLE, starts_on=STARTS_ON, ends_on=ENDS_ON)
    key_results = _plan_quarter(ledger)
    check_ins = _run_weeks(ledger, key_results)
    readings = _track_kpis(ledger)
    return DemoSummary(
        cycle=CYCLE,
        objectives=len(OBJECTIVES),
        key_results=len(key_results),
        check_ins=check_ins,
        kpis=len(KPIS),
        readings=readings,
    )


def _plan_quarter(ledger: GoalLedger) -> dict[str, UUID]:
    objective_ids: dict[str, UUID] = {}
    key_result_ids: dict[str, UUID] = {}
    for objective in OBJECTIVES:
        objective_ids[objective.handle] = ledger.create_objective(
            actor=objective.owner,
            cycle_id=CYCLE,
            title=objective.title,
            owner=objective.owner,
            kind=objective.kind,
            parent_id=objective_ids[objective.parent] if objective.parent else None,
        ).id
        for kr in objective.key_results:
            key_result_ids[kr.handle] = ledger.create_key_result(
                actor=objective.owner,
                objective_id=objective_ids[objective.handle],
                title=kr.title,
                owner=kr.owner,
                unit=kr.unit,
                direction=kr.direction,
                baseline=kr.baseline,
                target=kr.target,
                measurement_source=kr.source,
                measurement_query=kr.query,
                effective_on=STARTS_ON,
            ).id
    return key_result_ids


def _run_weeks(ledger: GoalLedger, key_result_ids: dict[str, UUID]) -> int:
    """Weekly check-ins in date order, with the quarter's changes of plan where they fell."""
    specs = [kr for objective in OBJECTIVES for kr in objective.key_results]
    check_in_ids: dict[tuple[str, int], UUID] = {}
    rebaseline, correction, retirement = (
        COVERAGE_REBASELINE,
        CHURN_CORRECTION,
        ONBOARDING_RETIREMENT,
    )
    for week, friday in enumerate(WEEKS, start=1):
        if week == rebaseline.before_week:
            ledger.rebaseline_key_result(
                actor=rebaseline.actor,
                key_result_id=key_result_ids[rebaseline.key_result],
                baseline=rebaseline.baseline,
                target=rebaseline.target,
                reason=rebaseline.reason,
                reason_code=rebaseline.reason_code,
                effective_on=rebaseline.effective_on,
            )
        for kr in specs:
            value, confidence, note = kr.weeks[week - 1]
            saved = ledger.record_check_in(
                actor=kr.owner,
                key_result_id=key_result_ids[kr.handle],
                value=value,
                confidence=confidence,
                note=note,
                effective_on=friday,
            )
            if saved.check_in_id is not None:
                check_in_ids[kr.handle, week] = saved.check_in_id
        if week == correction.recorded_after_week:
            ledger.correct_check_in(
                actor=correction.actor,
                key_result_id=key_result_ids[correction.key_result],
                check_in_id=check_in_ids[correction.key_result, correction.week],
                value=correction.value,
                reason=correction.reason,
                reason_code=correction.reason_code,
            )
    ledger.retire_key_result(
        actor=retirement.actor,
        key_result_id=key_result_ids[retirement.key_result],
        reason=retirement.reason,
        reason_code=retirement.reason_code,
        effective_on=retirement.effective_on,
    )
    return len(check_in_ids)


def _track_kpis(ledger: GoalLedger) -> int:
    count = 0
    for kpi in KPIS:
        kpi_id = ledger.define_kpi(
            actor=kpi.owner,
            area=kpi.area,
            name=kpi.name,
            owner=kpi.owner,
            unit=kpi.unit,
            formula=kpi.formula,
            data_source=kpi.data_source,
            cadence="monthly",
            direction=kpi.direction,
            target=kpi.target,
            healthy_low=kpi.healthy_low,
            healthy_high=kpi.healthy_high,
            target_set_on=kpi.target_set_on,
        ).id
        change = kpi.target_change
        for effective_on, value in kpi.readings:
            if change is not None and change.effective_on <= effective_on:
                ledger.change_kpi_target(
                    actor=change.actor,
                    kpi_id=kpi_id,
                    target=change.target,
                    healthy_low=change.healthy_low,
                    healthy_high=change.healthy_high,
                    reason=change.reason,
                    reason_code=change.reason_code,
                    effective_on=change.effective_on,
                )
                change = None
            ledger.record_kpi_reading(
                actor=kpi.owner, kpi_id=kpi_id, value=value, effective_on=effective_on
            )
            count += 1
    return count
