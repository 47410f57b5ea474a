"""KPIs: what a client sends to define one, record and correct readings, move the target;
what it reads."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.common import (
    Corrected,
    Day,
    Exact,
    FromRow,
    Identifier,
    ReasonText,
    Request,
    RetiredPublic,
    Title,
    Value,
)
from domain.kpi import Cadence, Kpi, KpiStatus
from domain.values import MAX_NAME, MAX_NOTE, KpiDirection, ReasonCode

# Requests


class KpiDefinition(Request):
    formula: Annotated[str, Field(min_length=1, max_length=2000)]
    data_source: Annotated[str, Field(min_length=1, max_length=MAX_NAME)]
    cadence: Cadence


class KpiCreate(Request):
    area: Annotated[str, Field(min_length=1, max_length=MAX_NAME, examples=["Customer retention"])]
    name: Annotated[Title, Field(examples=["First-response time"])]
    owner: Identifier
    unit: Annotated[str, Field(max_length=MAX_NAME)] = ""
    definition: KpiDefinition
    direction: KpiDirection
    target: Value
    healthy_low: Value | None = None
    healthy_high: Value | None = None
    target_set_on: Day | None = None


class KpiReadingCreate(Request):
    value: Value
    effective_on: Day | None = None
    note: Annotated[str, Field(max_length=MAX_NOTE)] = ""


class KpiReadingCorrection(Request):
    reading_id: UUID
    value: Value
    reason: ReasonText
    reason_code: ReasonCode = ReasonCode.DATA_ERROR


class KpiTargetChange(Request):
    target: Value
    healthy_low: Value | None = None
    healthy_high: Value | None = None
    reason: ReasonText
    reason_code: ReasonCode
    effective_on: Day | None = None


# Responses


class ReadingPublic(FromRow):
    id: UUID
    effective_on: date
    value: Exact
    original_value: Exact
    corrected: Corrected
    note: str
    actor: str
    recorded_at: datetime


class KpiPublic(BaseModel):
    id: UUID
    area: str
    name: str
    owner: str
    unit: str
    definition: dict[str, Any]
    direction: KpiDirection
    target: Exact
    healthy_low: Exact | None
    healthy_high: Exact | None
    target_set_on: date
    version: int
    as_of: date
    known_at: datetime | None
    last_reading: ReadingPublic | None
    healthy: bool | None
    okr_candidate: bool
    retired: RetiredPublic | None
    graduated_from: UUID | None = Field(
        default=None, description="The key result this KPI graduated from (ADR 36)."
    )
    measured_by: list[UUID] = Field(
        default_factory=list,
        description="The key results this KPI measures, as far as the KPI process has "
        "followed the log (ADR 38).",
    )

    @classmethod
    def of(
        cls, kpi: Kpi, status: KpiStatus, okr_candidate: bool, known_at: datetime | None
    ) -> KpiPublic:
        threshold = status.threshold
        return cls(
            id=kpi.id,
            area=kpi.area,
            name=kpi.name,
            owner=kpi.owner,
            unit=kpi.unit,
            definition={
                "formula": kpi.formula,
                "data_source": kpi.data_source,
                "cadence": kpi.cadence.value,
            },
            direction=kpi.direction,
            target=threshold.target,
            healthy_low=threshold.healthy_low,
            healthy_high=threshold.healthy_high,
            target_set_on=threshold.set_on,
            version=kpi.version,
            as_of=status.as_of,
            known_at=known_at,
            last_reading=status.last_reading,
            healthy=status.healthy,
            okr_candidate=okr_candidate,
            retired=status.retired,
            graduated_from=kpi.graduated_from,
        )
