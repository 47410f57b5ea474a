"""Key results: what a client sends to create, check in, correct and re-plan; what it reads."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
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
    Score,
    Title,
    Value,
)
from api.schemas.scores import BarPublic
from api.schemas.self_assessments import SelfAssessmentPublic
from domain.contributors import contributors_on
from domain.key_result import KeyResult
from domain.key_result_plan import KeyResultStatus
from domain.ownership import owner_on
from domain.reports import KeyResultLine
from domain.scoring import Pace, TrafficLight
from domain.self_assessment import latest_self_assessment
from domain.values import MAX_NAME, MAX_NOTE, Confidence, Direction, ReasonCode

# Requests


class Measurement(Request):
    source: Annotated[str, Field(min_length=1, max_length=MAX_NAME, examples=["billing"])]
    query: Annotated[
        str, Field(min_length=1, max_length=4000, examples=["churned MRR / starting MRR"])
    ]


class KeyResultCreate(Request):
    objective_id: UUID
    title: Annotated[Title, Field(examples=["Gross revenue churn from 3.1% to 2.0% monthly"])]
    owner: Identifier
    unit: Annotated[str, Field(max_length=MAX_NAME, examples=["% monthly"])] = ""
    direction: Direction
    baseline: Value
    target: Value
    weight: Annotated[Value, Field(gt=0)] = Decimal(1)
    measurement: Measurement
    effective_on: Day | None = None


class CheckInCreate(Request):
    value: Value
    confidence: Confidence
    note: Annotated[str, Field(max_length=MAX_NOTE, examples=["playbook rolled out"])] = ""
    effective_on: Day | None = None


class CorrectionCreate(Request):
    check_in_id: UUID
    value: Value
    reason: ReasonText
    reason_code: ReasonCode = ReasonCode.DATA_ERROR


class Rebaseline(Request):
    baseline: Value
    target: Value
    reason: ReasonText
    reason_code: ReasonCode
    effective_on: Day | None = None


class Reweight(Request):
    weight: Annotated[Value, Field(gt=0)]
    reason: ReasonText
    reason_code: ReasonCode
    effective_on: Day | None = None


# Responses


class PlanPublic(FromRow):
    baseline: Exact
    target: Exact
    weight: Exact
    effective_on: date
    recorded_at: datetime
    actor: str
    reason: str | None
    reason_code: ReasonCode | None


class CheckInPublic(FromRow):
    id: UUID
    effective_on: date
    value: Exact
    original_value: Exact
    corrected: Corrected
    confidence: Confidence
    note: str
    actor: str
    recorded_at: datetime


class KeyResultSummary(BaseModel):
    id: UUID
    title: str
    owner: str
    direction: Direction
    version: int
    value: Exact
    score: Score
    traffic_light: TrafficLight
    bar: BarPublic
    pace: Pace
    stale: bool
    retired: RetiredPublic | None

    @classmethod
    def of(cls, line: KeyResultLine) -> KeyResultSummary:
        status = line.status
        return cls(
            id=line.id,
            title=line.title,
            owner=line.owner,
            direction=Direction(line.direction),
            version=line.version,
            value=status.value,
            score=status.score,
            traffic_light=status.traffic_light,
            bar=BarPublic.model_validate(line.bar),
            pace=status.pace,
            stale=status.stale,
            retired=status.retired,
        )


class KeyResultPublic(BaseModel):
    """A key result as of a date, as known at a time, scored against both plans."""

    id: UUID
    objective_id: UUID
    cycle_id: str
    title: str
    owner: str
    unit: str
    direction: Direction
    measurement: dict[str, str]
    kpi_id: UUID | None = Field(
        default=None, description="The KPI whose readings measure it (ADR 38)."
    )
    version: int
    as_of: date
    known_at: datetime | None
    plan: PlanPublic
    original_plan: PlanPublic
    rebaselined: bool
    value: Exact
    score: Score
    score_against_original_plan: Score
    traffic_light: TrafficLight = Field(description="Judged by its objective's kind.")
    expected_progress: Score = Field(description="The elapsed share of the cycle.")
    pace: Pace
    stale: bool
    last_check_in: CheckInPublic | None
    check_in_count: int
    retired: RetiredPublic | None
    self_assessment: SelfAssessmentPublic | None = Field(
        default=None, description="The owner's latest, as known at known_at (ADR 34)."
    )
    carried_from: UUID | None = Field(
        default=None,
        description="The key result of an earlier cycle this one carries forward (ADR 37).",
    )
    owner_as_of: str = Field(
        description="Who owned it on `as_of`: `owner` is who owns it now (transfers, ADR 42)."
    )
    contributors: list[str] = Field(
        description="Who contributed to it on `as_of`, beside its owner (ADR 42)."
    )
    carried_to: UUID | None = Field(
        default=None,
        description="The key result of a later cycle this one was carried forward to, as "
        "known at known_at, whatever the day it is read as of (ADR 37).",
    )

    @classmethod
    def of(
        cls, key_result: KeyResult, status: KeyResultStatus, known_at: datetime | None
    ) -> KeyResultPublic:
        retirement = key_result.retirement
        return cls(
            id=key_result.id,
            objective_id=key_result.objective_id,
            cycle_id=key_result.cycle_id,
            title=key_result.title,
            owner=key_result.owner,
            unit=key_result.unit,
            direction=key_result.direction,
            measurement=key_result.measurement,
            kpi_id=key_result.kpi_id,
            version=key_result.version,
            as_of=status.as_of,
            known_at=known_at,
            plan=status.plan,
            original_plan=status.original_plan,
            rebaselined=status.plan.version != status.original_plan.version,
            value=status.value,
            score=status.score,
            score_against_original_plan=status.score_against_original_plan,
            traffic_light=status.traffic_light,
            expected_progress=status.expected_progress,
            pace=status.pace,
            stale=status.stale,
            last_check_in=status.last_check_in,
            check_in_count=status.check_in_count,
            retired=status.retired,
            self_assessment=SelfAssessmentPublic.of(latest_self_assessment(key_result)),
            carried_from=key_result.carried_from,
            carried_to=retirement.carried_to if retirement is not None else None,
            owner_as_of=owner_on(key_result, status.as_of, status.original_plan.effective_on),
            contributors=contributors_on(key_result, status.as_of),
        )
