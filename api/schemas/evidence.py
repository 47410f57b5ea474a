"""Appraisal evidence: a person's goal history for a review period, read off its rows."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import ConfigDict, Field

from api.schemas.common import Exact, FromRow
from projections.evidence import PersonEvidence


class EvidenceSchema(FromRow):
    """Evidence is read once and never changed: its parts are frozen."""

    model_config = ConfigDict(frozen=True)


class CitationPublic(EvidenceSchema):
    """The event an item comes from: log position, goal id and the goal's version."""

    position: int
    goal_id: UUID
    version: int
    event: str
    actor: str
    recorded_at: datetime


class CorrectionPublic(EvidenceSchema):
    value: Exact
    reason: str | None
    reason_code: str | None
    flags: list[str]
    cite: CitationPublic


class CheckInEvidencePublic(EvidenceSchema):
    check_in_id: UUID
    effective_on: date
    value: Annotated[Exact, Field(description="As known at `known_at`, corrections applied.")]
    recorded_value: Annotated[Exact, Field(description="As first recorded.")]
    confidence: str
    note: str
    flags: list[str]
    cite: CitationPublic
    corrections: list[CorrectionPublic]


class ReadingEvidencePublic(EvidenceSchema):
    reading_id: UUID
    effective_on: date
    value: Exact
    recorded_value: Exact
    healthy: Annotated[bool, Field(description="As judged when the value was recorded.")]
    flags: list[str]
    cite: CitationPublic
    corrections: list[CorrectionPublic]


class RetirementPublic(EvidenceSchema):
    effective_on: date
    reason: str | None
    reason_code: str | None
    score_then: Decimal | None
    traffic_light_then: str | None
    flags: list[str]
    cite: CitationPublic


class PlanEvidencePublic(EvidenceSchema):
    baseline: Exact
    target: Exact
    weight: Exact
    effective_on: date
    cite: CitationPublic


class PlanChangePublic(EvidenceSchema):
    kind: Annotated[str, Field(examples=["rebaselined", "reweighted"])]
    effective_on: date
    baseline_before: Exact | None
    target_before: Exact | None
    baseline_after: Exact | None
    target_after: Exact | None
    weight_before: Exact | None
    weight_after: Exact | None
    reason: str | None
    reason_code: str | None
    flags: list[str]
    cite: CitationPublic


class ScorePublic(EvidenceSchema):
    """A key result's score on a day, as `/v1/scores` would give it for that day."""

    as_of: date
    value: Annotated[Exact, Field(description="The latest check-in by then, else the baseline.")]
    score: Annotated[Decimal, Field(description="0 to 1, rounded to four places.")]
    traffic_light: Annotated[str, Field(examples=["green", "amber", "red"])]
    check_in: Annotated[
        CitationPublic | None, Field(description="The check-in the value comes from.")
    ]


class SelfAssessmentEvidencePublic(EvidenceSchema):
    """The owner's latest self-assessment as known at `known_at`, beside the computed score,
    which it never changes (ADR 34)."""

    grade: Annotated[Exact, Field(description="The owner's own grade, from 0 to 1.")]
    reflection: str
    flags: list[str]
    cite: CitationPublic


class KeyResultMonthPublic(EvidenceSchema):
    month: Annotated[str, Field(examples=["2026-07"])]
    starts_on: date
    ends_on: date
    active: Annotated[
        bool, Field(description="The key result lived in this month: no check-in is a gap.")
    ]
    on_track: int
    at_risk: int
    off_track: int
    check_ins: list[CheckInEvidencePublic]


class KeyResultEvidencePublic(EvidenceSchema):
    key_result_id: UUID
    title: str
    unit: str
    direction: str
    cycle_id: str | None
    cycle_starts_on: date | None
    cycle_ends_on: date | None
    measurement_source: str | None
    measurement_query: str | None
    original_plan: PlanEvidencePublic
    plan_at_end: PlanEvidencePublic
    final: CheckInEvidencePublic | None
    check_in_count: int
    score_at_end: Annotated[
        ScorePublic,
        Field(
            description="The score on the last day the key result counted in the period: the "
            "period's end, its cycle's end or its retirement, whichever comes first."
        ),
    ]
    plan_changes: list[PlanChangePublic]
    retired: RetirementPublic | None
    months: list[KeyResultMonthPublic]
    created: CitationPublic
    self_assessment: SelfAssessmentEvidencePublic | None
    carried_from: Annotated[
        UUID | None,
        Field(description="The key result of an earlier cycle this one carries forward (ADR 37)."),
    ] = None
    carried_to: Annotated[
        CarryPublic | None,
        Field(description="The carry that closed it, naming its successor (ADR 37)."),
    ] = None


class CarryPublic(EvidenceSchema):
    """A key result carried forward: its successor, the later cycle, its final score."""

    key_result_id: UUID
    cycle_id: str
    effective_on: date
    reason: str | None
    score_then: Exact | None
    traffic_light_then: str | None
    cite: CitationPublic


class LineOfWorkPublic(EvidenceSchema):
    """Key results carried forward one to the next, earliest first: one piece of work."""

    title: str
    key_result_ids: list[UUID]
    cycle_ids: list[str | None]


class ObjectiveEvidencePublic(EvidenceSchema):
    objective_id: UUID
    title: str | None
    kind: str | None
    owner: str | None
    cycle_id: str | None
    owned_by_person: bool
    retired: RetirementPublic | None
    key_results: list[KeyResultEvidencePublic]
    created: CitationPublic | None
    self_assessment: SelfAssessmentEvidencePublic | None


class ThresholdPublic(EvidenceSchema):
    target: Exact
    healthy_low: Exact | None
    healthy_high: Exact | None
    set_on: date
    cite: CitationPublic


class TargetChangePublic(EvidenceSchema):
    effective_on: date
    target_before: Exact | None
    healthy_low_before: Exact | None
    healthy_high_before: Exact | None
    target_after: Exact
    healthy_low_after: Exact | None
    healthy_high_after: Exact | None
    reason: str | None
    reason_code: str | None
    flags: list[str]
    cite: CitationPublic


class TrendPublic(EvidenceSchema):
    first_value: Exact
    first_on: date
    last_value: Exact
    last_on: date
    change: Exact
    verdict: Annotated[str, Field(examples=["improving", "worsening", "steady"])]


class KpiMonthPublic(EvidenceSchema):
    month: str
    starts_on: date
    ends_on: date
    active: Annotated[
        bool,
        Field(
            description="The KPI lived in this month (defined, not yet retired): no reading "
            "is a gap; outside, the KPI did not exist."
        ),
    ]
    healthy: int
    readings: list[ReadingEvidencePublic]


class KpiEvidencePublic(EvidenceSchema):
    kpi_id: UUID
    area: str
    name: str
    unit: str
    direction: str
    formula: str | None
    data_source: str | None
    cadence: str | None
    threshold_at_start: ThresholdPublic
    threshold_at_end: ThresholdPublic
    reading_count: int
    healthy_count: int
    healthy_share: Annotated[Decimal | None, Field(description="Rounded to four places.")]
    trend: TrendPublic | None
    target_changes: list[TargetChangePublic]
    retired: RetirementPublic | None
    months: list[KpiMonthPublic]
    defined: CitationPublic


class AreaEvidencePublic(EvidenceSchema):
    area: str
    reading_count: int
    healthy_count: int
    healthy_share: Decimal | None
    kpis: list[KpiEvidencePublic]


class MonthSummaryPublic(EvidenceSchema):
    month: str
    starts_on: date
    ends_on: date
    key_results: Annotated[int, Field(description="The person's key results alive that month.")]
    key_results_without_check_in: int
    check_ins: int
    notes: int
    readings: int
    healthy_readings: int
    changes: int


class RelationPublic(EvidenceSchema):
    """How the person stood to a goal, and in which months of the period (ADR 42)."""

    goal_id: UUID
    goal_kind: str
    relation: Annotated[str, Field(description="`owner`, `contributor` or `team_member`.")]
    team: Annotated[
        str | None, Field(description="The team through which the relation held, if any.")
    ]
    starts_on: date
    ends_on: Annotated[date | None, Field(description="Its last day; null while it holds.")]
    months: list[str]
    cites: Annotated[list[CitationPublic], Field(description="The events that began and ended it.")]


class EvidencePublic(EvidenceSchema):
    """A person's goal history for a review period, as it was known at `known_at`."""

    person: str
    period_from: date
    period_to: date
    known_at: Annotated[
        datetime, Field(description="Send it back as `known_at` to get this same answer.")
    ]
    months: list[MonthSummaryPublic]
    areas: Annotated[list[AreaEvidencePublic], Field(description="KRA/KPI achievement.")]
    objectives: Annotated[list[ObjectiveEvidencePublic], Field(description="OKR contribution.")]
    lines: Annotated[
        list[LineOfWorkPublic],
        Field(
            description="Key results of the period carried forward from cycle to cycle, "
            "each chain one line of work (ADR 37)."
        ),
    ] = []
    relations: Annotated[
        list[RelationPublic],
        Field(
            description="Why each goal is here: the person's relation to it (owner, "
            "contributor, team member) and the months it held in, citing its events."
        ),
    ]
    names: Annotated[
        dict[str, str],
        Field(
            description="Display names of the people the evidence names (its person, the "
            "goals' owners), as on `period_to`, as known at `known_at` (ADR 40); a pseudonym "
            "once erased. Ids that are no person (teams) are left out."
        ),
    ] = {}

    @classmethod
    def of(cls, evidence: PersonEvidence) -> EvidencePublic:
        return cls.model_validate(evidence)
