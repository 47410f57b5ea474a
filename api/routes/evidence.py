"""Appraisal evidence for reviewers: JSON, or a printable page with `Accept: text/html`."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from api.consistency import Reading, reading
from api.deps import GrantDep, LedgerDep, ViewsDep, authorise
from api.evidence_page import render_evidence
from api.json_body import StrictJSONRoute
from api.problems import Problem, ProblemError
from api.routes.common import PROBLEMS, KnownAt, read_model_unavailable, utc
from api.schemas import Day, Exact
from domain.authority import Command
from projections.audit_trail import AuditTrail
from projections.evidence import EvidenceView, PersonEvidence, ReadModelBehindError

router = APIRouter(tags=["evidence"], responses=PROBLEMS, route_class=StrictJSONRoute)

PERSON = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,119}$"
HTML = "text/html"
JSON = "application/json"


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)


class CitationPublic(Schema):
    """The event an item comes from: log position, goal id and the goal's version."""

    position: int
    goal_id: UUID
    version: int
    event: str
    actor: str
    recorded_at: datetime


class CorrectionPublic(Schema):
    value: Exact
    reason: str | None
    reason_code: str | None
    flags: list[str]
    cite: CitationPublic


class CheckInEvidencePublic(Schema):
    check_in_id: UUID
    effective_on: date
    value: Annotated[Exact, Field(description="As known at `known_at`, corrections applied.")]
    recorded_value: Annotated[Exact, Field(description="As first recorded.")]
    confidence: str
    note: str
    flags: list[str]
    cite: CitationPublic
    corrections: list[CorrectionPublic]


class ReadingEvidencePublic(Schema):
    reading_id: UUID
    effective_on: date
    value: Exact
    recorded_value: Exact
    healthy: Annotated[bool, Field(description="As judged when the value was recorded.")]
    flags: list[str]
    cite: CitationPublic
    corrections: list[CorrectionPublic]


class RetirementPublic(Schema):
    effective_on: date
    reason: str | None
    reason_code: str | None
    score_then: Decimal | None
    traffic_light_then: str | None
    flags: list[str]
    cite: CitationPublic


class PlanPublic(Schema):
    baseline: Exact
    target: Exact
    weight: Exact
    effective_on: date
    cite: CitationPublic


class PlanChangePublic(Schema):
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


class KeyResultMonthPublic(Schema):
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


class KeyResultEvidencePublic(Schema):
    key_result_id: UUID
    title: str
    unit: str
    direction: str
    cycle_id: str | None
    cycle_starts_on: date | None
    cycle_ends_on: date | None
    measurement_source: str | None
    measurement_query: str | None
    original_plan: PlanPublic
    plan_at_end: PlanPublic
    final: CheckInEvidencePublic | None
    check_in_count: int
    plan_changes: list[PlanChangePublic]
    retired: RetirementPublic | None
    months: list[KeyResultMonthPublic]
    created: CitationPublic


class ObjectiveEvidencePublic(Schema):
    objective_id: UUID
    title: str | None
    kind: str | None
    owner: str | None
    cycle_id: str | None
    owned_by_person: bool
    retired: RetirementPublic | None
    key_results: list[KeyResultEvidencePublic]
    created: CitationPublic | None


class ThresholdPublic(Schema):
    target: Exact
    healthy_low: Exact | None
    healthy_high: Exact | None
    set_on: date
    cite: CitationPublic


class TargetChangePublic(Schema):
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


class TrendPublic(Schema):
    first_value: Exact
    first_on: date
    last_value: Exact
    last_on: date
    change: Exact
    verdict: Annotated[str, Field(examples=["improving", "worsening", "steady"])]


class KpiMonthPublic(Schema):
    month: str
    starts_on: date
    ends_on: date
    healthy: int
    readings: list[ReadingEvidencePublic]


class KpiEvidencePublic(Schema):
    kpi_id: UUID
    area: str
    name: str
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


class AreaEvidencePublic(Schema):
    area: str
    reading_count: int
    healthy_count: int
    healthy_share: Decimal | None
    kpis: list[KpiEvidencePublic]


class MonthSummaryPublic(Schema):
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


class EvidencePublic(Schema):
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

    @classmethod
    def of(cls, evidence: PersonEvidence) -> EvidencePublic:
        return cls.model_validate(evidence, from_attributes=True)


def _quality(accept: str, media_type: str) -> float:
    """The q the Accept header gives a media type (most specific range wins)."""
    kind = media_type.split("/", maxsplit=1)[0]
    best: tuple[int, float] = (-1, 0.0)
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        specificity = {media_type: 2, f"{kind}/*": 1, "*/*": 0}.get(media)
        if specificity is None:
            continue
        q = 1.0
        for param in fields[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        best = max(best, (specificity, q))
    return best[1]


def wants_html(accept: str | None) -> bool:
    """HTML when the client prefers it to JSON; JSON on a tie or without Accept."""
    if not accept:
        return False
    return _quality(accept, HTML) > _quality(accept, JSON)


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {HTML: {"schema": {"type": "string"}}},
        "description": "The evidence; a printable page with `Accept: text/html`.",
    },
    503: {"model": Problem, "content": {"application/problem+json": {}}},
}


@router.get("/v1/people/{person}/evidence", response_model=EvidencePublic, responses=_RESPONSES)
def person_evidence(
    person: Annotated[str, Path(pattern=PERSON, description="The goal owner under review.")],
    period_from: Annotated[Day, Query(alias="from", description="First day of the period.")],
    period_to: Annotated[Day, Query(alias="to", description="Last day of the period.")],
    views: ViewsDep,
    ledger: LedgerDep,
    grant: GrantDep,
    # Evidence holds every event up to its `known_at`: it waits for the log's head, or
    # refuses. Position and head go in headers only: the body is the same bytes for the
    # same `known_at`, however far the log has moved since.
    read: Annotated[Reading, Depends(reading(AuditTrail.name, complete=True))],
    known_at: KnownAt = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Appraisal evidence for a person and a period; the same `known_at` gives the same bytes."""
    authorise(grant, Command.READ_EVIDENCE)
    at = read.at()
    try:
        with read_model_unavailable(retry_after="1"):
            evidence = EvidenceView(views, ledger).for_person(
                person, period_from, period_to, utc(known_at)
            )
    except ReadModelBehindError as behind:
        raise ProblemError(
            503,
            "evidence-catching-up",
            "Evidence is catching up",
            f"{behind}; retry shortly, or ask for a known_at up to "
            f"{behind.known_until.isoformat()}",
            field="known_at",
            headers={"Retry-After": "1"},
        ) from None
    headers = {"Vary": "Accept", "Cache-Control": "private, no-store", **at.headers()}
    if wants_html(accept):
        return HTMLResponse(render_evidence(evidence), headers=headers)
    body = EvidencePublic.of(evidence).model_dump_json()
    return Response(body, media_type=JSON, headers=headers)
