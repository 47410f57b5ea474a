"""Graduation: a key result whose level is now the norm carries on as a KPI (ADR 36).

One command changes two goals: the key result is retired with reason code
graduated_to_kpi and the KPI it names, and the KPI is defined, with the key result it
carries on. The caller saves both in one transaction, so neither is stored without the
other. A graduated key result keeps counting in its objective's score at its final score
(domain.reports.ObjectiveStatus): the success it graduated on is not taken away.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.cycle import Cycle
from domain.errors import InvalidInputError
from domain.key_result import KeyResult
from domain.kpi import Cadence, Kpi
from domain.values import Direction, KpiDirection, ReasonCode, check_not_future, check_reason

# A key result that was to rise graduates to a KPI that is to stay above its level; a
# milestone has no side to stay on, so its KPI's direction must be given.
KPI_DIRECTION = {
    Direction.INCREASE: KpiDirection.STAY_ABOVE,
    Direction.STAY_ABOVE: KpiDirection.STAY_ABOVE,
    Direction.DECREASE: KpiDirection.STAY_BELOW,
    Direction.STAY_BELOW: KpiDirection.STAY_BELOW,
}


def _direction(key_result: KeyResult, given: KpiDirection | str | None) -> KpiDirection | str:
    if given is not None:
        return given
    if key_result.direction not in KPI_DIRECTION:
        raise InvalidInputError(
            "a milestone key result graduates to a KPI only with its direction given",
            field="direction",
        )
    return KPI_DIRECTION[key_result.direction]


@dataclass(frozen=True)
class KpiTerms:
    """What the KPI a key result graduates to is defined with; checked by `Kpi.define`."""

    area: str
    name: str
    formula: str
    data_source: str
    cadence: Cadence | str
    target: Decimal | int | str
    unit: str | None = None  # the key result's
    direction: KpiDirection | str | None = None  # the side the key result moved toward
    healthy_low: Decimal | int | str | None = None
    healthy_high: Decimal | int | str | None = None


def graduate(
    key_result: KeyResult,
    *,
    actor: str,
    cycle: Cycle,
    reason: str,
    effective_on: date,
    terms: KpiTerms,
) -> Kpi:
    """Retire the key result into a new KPI, owned by the key result's owner; the KPI's
    healthy level is set on the graduation's day. Both goals hold pending events."""
    key_result.check_not_retired()
    cycle.check_open()
    check_not_future(effective_on)
    cycle.check_within(effective_on)
    why = check_reason(reason, ReasonCode.GRADUATED_TO_KPI)
    kpi = Kpi.define(
        actor=actor,
        area=terms.area,
        name=terms.name,
        owner=key_result.owner,
        unit=terms.unit if terms.unit is not None else key_result.unit,
        formula=terms.formula,
        data_source=terms.data_source,
        cadence=terms.cadence,
        direction=_direction(key_result, terms.direction),
        target=terms.target,
        healthy_low=terms.healthy_low,
        healthy_high=terms.healthy_high,
        target_set_on=effective_on,
    )
    key_result.trigger_event(
        KeyResult.Graduated,
        actor=actor,
        reason=why.text,
        reason_code=why.code.value,
        effective_on=effective_on,
        kpi_id=kpi.id,
    )
    kpi.trigger_event(Kpi.GraduatedFrom, actor=actor, key_result_id=key_result.id)
    return kpi
