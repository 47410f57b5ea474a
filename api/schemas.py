"""Request and response bodies; requests refuse unknown fields, values are exact decimals."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from domain.access import Role
from domain.base import Retirement
from domain.check_in_log import CheckIn
from domain.errors import InvalidInputError
from domain.key_result import KeyResult, KeyResultStatus, Plan
from domain.kpi import Cadence, Kpi, KpiStatus, Reading
from domain.reports import CycleScoreboard, KeyResultLine, ObjectiveStatus
from domain.scoring import Pace, TrafficLight, rounded, rounded_or_none
from domain.values import (
    EARLIEST_DATE,
    LATEST_DATE,
    MAX_NAME,
    MAX_NOTE,
    MAX_REASON,
    MAX_TITLE,
    Confidence,
    Direction,
    KpiDirection,
    ObjectiveKind,
    ReasonCode,
    check_decimal,
    plain,
)


def _exact_input(value: object) -> Decimal:
    # The domain's own rule, so the API, the CSV import and the CLI accept alike; JSON
    # numbers arrive here as Decimal (api/json_body.py), never through float.
    try:
        return check_decimal(value, "value")  # type: ignore[arg-type]
    except InvalidInputError as error:
        raise ValueError(error.message.removeprefix("value ")) from None


Value = Annotated[
    Decimal,
    BeforeValidator(_exact_input),
    Field(
        description="An exact decimal, as a string or a JSON number, in ASCII digits.",
        examples=["41", "2.4"],
    ),
]
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day(value: object) -> object:
    # Dates are ISO 8601 text: not a number of seconds, not a datetime.
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        return value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise ValueError("must be an ISO 8601 date, YYYY-MM-DD")


def _day_in_range(day: date) -> date:
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(f"must lie between {EARLIEST_DATE} and {LATEST_DATE}")
    return day


def _moment_in_range(moment: datetime) -> datetime:
    # The same range as dates, so a moment can always be compared and moved a day.
    if not EARLIEST_DATE <= moment.date() <= LATEST_DATE:
        raise ValueError(f"must lie between {EARLIEST_DATE} and {LATEST_DATE}")
    return moment


Day = Annotated[
    date,
    BeforeValidator(_iso_day),
    AfterValidator(_day_in_range),
    Field(description=f"ISO 8601, from {EARLIEST_DATE} to {LATEST_DATE}."),
]
Moment = Annotated[datetime, AfterValidator(_moment_in_range)]

# Decimals answered as plain text, never in exponent notation (1E+2 is "100").
Exact = Annotated[Decimal, PlainSerializer(plain, return_type=str, when_used="json")]
Identifier = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,119}$",
        max_length=120,
        examples=["head-of-cs"],
    ),
]
Title = Annotated[str, Field(min_length=1, max_length=MAX_TITLE)]
ReasonText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_REASON,
        examples=["data pipeline harder than scoped; agreed at the mid-quarter review"],
    ),
]
T = TypeVar("T")

Score = Annotated[Decimal, Field(description="Rounded to four places.", examples=["0.6364"])]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# Requests


class CycleCreate(Request):
    id: Annotated[Identifier, Field(examples=["2026-Q3"])]
    starts_on: Day
    ends_on: Day


class ObjectiveCreate(Request):
    cycle_id: Annotated[Identifier, Field(examples=["2026-Q3"])]
    title: Annotated[Title, Field(examples=["Stop the leaky bucket"])]
    owner: Identifier
    kind: ObjectiveKind
    parent_id: UUID | None = None


class Retire(Request):
    reason: ReasonText
    reason_code: ReasonCode
    effective_on: Day | None = None


class Align(Request):
    parent_id: UUID | None
    reason: ReasonText
    reason_code: ReasonCode


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


class Written(BaseModel):
    """What a write stored: the goal's id (a cycle's key) and its new version (its ETag)."""

    id: UUID | str
    version: int
    position: int | None = Field(
        default=None,
        description="The write's position in the event log; read models that have passed "
        "it show the write (absent when a retry replays an earlier result).",
    )
    check_in_id: UUID | None = None
    reading_id: UUID | None = None


class RetiredPublic(BaseModel):
    effective_on: date
    reason: str
    reason_code: ReasonCode
    actor: str
    recorded_at: datetime

    @classmethod
    def of(cls, retirement: Retirement | None) -> RetiredPublic | None:
        if retirement is None:
            return None
        return cls(
            effective_on=retirement.effective_on,
            reason=retirement.reason,
            reason_code=retirement.reason_code,
            actor=retirement.actor,
            recorded_at=retirement.recorded_at,
        )


class PlanPublic(BaseModel):
    baseline: Exact
    target: Exact
    weight: Exact
    effective_on: date
    recorded_at: datetime
    actor: str
    reason: str | None
    reason_code: ReasonCode | None

    @classmethod
    def of(cls, plan: Plan) -> PlanPublic:
        return cls(
            baseline=plan.baseline,
            target=plan.target,
            weight=plan.weight,
            effective_on=plan.effective_on,
            recorded_at=plan.recorded_at,
            actor=plan.actor,
            reason=plan.reason,
            reason_code=plan.reason_code,
        )


class CheckInPublic(BaseModel):
    id: UUID
    effective_on: date
    value: Exact
    original_value: Exact
    corrected: bool
    confidence: Confidence
    note: str
    actor: str
    recorded_at: datetime

    @classmethod
    def of(cls, check_in: CheckIn | None) -> CheckInPublic | None:
        if check_in is None:
            return None
        return cls(
            id=check_in.id,
            effective_on=check_in.effective_on,
            value=check_in.value,
            original_value=check_in.original_value,
            corrected=bool(check_in.corrections),
            confidence=check_in.confidence,
            note=check_in.note,
            actor=check_in.actor,
            recorded_at=check_in.recorded_at,
        )


class KeyResultSummary(BaseModel):
    id: UUID
    title: str
    owner: str
    direction: Direction
    version: int
    value: Exact
    score: Score
    traffic_light: TrafficLight
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
            score=rounded(status.score),
            traffic_light=status.traffic_light,
            pace=status.pace,
            stale=status.stale,
            retired=RetiredPublic.of(status.retired),
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
    version: int
    as_of: date
    known_at: datetime | None
    plan: PlanPublic
    original_plan: PlanPublic
    rebaselined: bool
    value: Exact
    score: Score
    score_against_original_plan: Score
    traffic_light: TrafficLight
    expected_progress: Score
    pace: Pace
    stale: bool
    last_check_in: CheckInPublic | None
    check_in_count: int
    retired: RetiredPublic | None

    @classmethod
    def of(
        cls, key_result: KeyResult, status: KeyResultStatus, known_at: datetime | None
    ) -> KeyResultPublic:
        return cls(
            id=key_result.id,
            objective_id=key_result.objective_id,
            cycle_id=key_result.cycle_id,
            title=key_result.title,
            owner=key_result.owner,
            unit=key_result.unit,
            direction=key_result.direction,
            measurement=key_result.measurement,
            version=key_result.version,
            as_of=status.as_of,
            known_at=known_at,
            plan=PlanPublic.of(status.plan),
            original_plan=PlanPublic.of(status.original_plan),
            rebaselined=status.plan.version != status.original_plan.version,
            value=status.value,
            score=rounded(status.score),
            score_against_original_plan=rounded(status.score_against_original_plan),
            traffic_light=status.traffic_light,
            expected_progress=rounded(status.expected_progress),
            pace=status.pace,
            stale=status.stale,
            last_check_in=CheckInPublic.of(status.last_check_in),
            check_in_count=status.check_in_count,
            retired=RetiredPublic.of(status.retired),
        )


class ObjectivePublic(BaseModel):
    id: UUID
    cycle_id: str
    title: str
    owner: str
    kind: ObjectiveKind
    parent_id: UUID | None
    version: int
    as_of: date
    known_at: datetime | None
    score: Score | None
    score_against_original_plan: Score | None = Field(
        description="Its key results against their original baselines, targets and weights."
    )
    traffic_light: TrafficLight | None
    retired: RetiredPublic | None
    key_results: list[KeyResultSummary]

    @classmethod
    def of(cls, status: ObjectiveStatus, known_at: datetime | None) -> ObjectivePublic:
        return cls(
            id=status.id,
            cycle_id=status.cycle_id,
            title=status.title,
            owner=status.owner,
            kind=status.kind,
            parent_id=status.parent_id,
            version=status.version,
            as_of=status.as_of,
            known_at=known_at,
            score=rounded_or_none(status.score),
            score_against_original_plan=rounded_or_none(status.score_against_original_plan),
            traffic_light=status.traffic_light,
            retired=RetiredPublic.of(status.retired),
            key_results=[KeyResultSummary.of(line) for line in status.key_results],
        )


class CyclePublic(BaseModel):
    id: str
    starts_on: date
    ends_on: date
    closed_at: datetime | None
    version: int
    as_of: date
    known_at: datetime | None
    score: Score | None = Field(
        description="Mean of the scores of its objectives that are not retired."
    )
    score_against_original_plan: Score | None
    traffic_light: TrafficLight | None
    net_confidence: Score | None
    objectives: list[ObjectivePublic]

    @classmethod
    def of(cls, board: CycleScoreboard, version: int) -> CyclePublic:
        rollup = board.rollup()
        net = rollup.net_confidence
        return cls(
            score=rounded_or_none(rollup.score),
            score_against_original_plan=rounded_or_none(rollup.score_against_original_plan),
            traffic_light=rollup.traffic_light,
            id=board.key,
            starts_on=board.starts_on,
            ends_on=board.ends_on,
            closed_at=board.closed_at,
            version=version,
            as_of=board.as_of,
            known_at=board.known_at,
            net_confidence=rounded_or_none(net),
            objectives=[ObjectivePublic.of(o, board.known_at) for o in board.objectives],
        )


class ReadingPublic(BaseModel):
    id: UUID
    effective_on: date
    value: Exact
    original_value: Exact
    corrected: bool
    note: str
    actor: str
    recorded_at: datetime

    @classmethod
    def of(cls, reading: Reading | None) -> ReadingPublic | None:
        if reading is None:
            return None
        return cls(
            id=reading.id,
            effective_on=reading.effective_on,
            value=reading.value,
            original_value=reading.original_value,
            corrected=bool(reading.corrections),
            note=reading.note,
            actor=reading.actor,
            recorded_at=reading.recorded_at,
        )


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
            last_reading=ReadingPublic.of(status.last_reading),
            healthy=status.healthy,
            okr_candidate=okr_candidate,
            retired=RetiredPublic.of(status.retired),
        )


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class TokenPublic(BaseModel):
    actor: str
    roles: list[Role]
