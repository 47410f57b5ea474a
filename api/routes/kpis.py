"""KPIs: define, record readings, correct them, change the target, retire, read, list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from eventsourcing.persistence import PersistenceError
from fastapi import APIRouter, Query, Response, status

from api.deps import (
    ExpectedVersionDep,
    GrantDep,
    IdempotencyDep,
    LedgerDep,
    ViewsDep,
    authorise,
    command_route,
)
from api.json_body import StrictJSONRoute
from api.routes.common import PROBLEMS, AsOf, Cursor, KnownAt, Limit, etag, paginate, utc, written
from api.routes.filters import OWNER_FILTER, known_owner
from api.schemas.common import Page, Retire, Written
from api.schemas.kpis import (
    KpiCreate,
    KpiPublic,
    KpiReadingCorrection,
    KpiReadingCreate,
    KpiTargetChange,
)
from application.ledger import GoalLedger
from domain.authority import Command
from domain.errors import NotFoundError
from domain.values import utc_today
from processes.kpi_check_ins import measured_by

router = APIRouter(
    prefix="/v1/kpis", tags=["KPIs"], responses=PROBLEMS, route_class=StrictJSONRoute
)


def _public(ledger: GoalLedger, kpi_id: UUID, as_of: AsOf, known_at: datetime | None) -> KpiPublic:
    kpi = ledger.get_kpi(kpi_id, known_at)
    day = as_of if as_of is not None else utc_today()
    return KpiPublic.of(kpi, kpi.status(day), kpi.is_okr_candidate(day), known_at)


@router.post("", status_code=status.HTTP_201_CREATED)
def define_kpi(
    body: KpiCreate,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    response: Response,
) -> Written:
    """Define a KPI under its KRA (`area`), with its written definition and healthy level."""
    saved = ledger.define_kpi(
        actor=grant.subject,
        area=body.area,
        name=body.name,
        owner=body.owner,
        unit=body.unit,
        formula=body.definition.formula,
        data_source=body.definition.data_source,
        cadence=body.definition.cadence,
        direction=body.direction,
        target=body.target,
        healthy_low=body.healthy_low,
        healthy_high=body.healthy_high,
        target_set_on=body.target_set_on,
        grant=grant,
        request=request,
    )
    return written(response, saved, f"/v1/kpis/{saved.id}")


@router.post("/{kpi_id}/readings", status_code=status.HTTP_201_CREATED)
@command_route
def record_reading(
    kpi_id: UUID,
    body: KpiReadingCreate,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """Record a KPI reading for an effective date."""
    saved = ledger.record_kpi_reading(
        actor=grant.subject,
        kpi_id=kpi_id,
        value=body.value,
        effective_on=body.effective_on,
        note=body.note,
        expected_version=version,
        grant=grant,
        request=request,
    )
    result = written(response, saved, f"/v1/kpis/{kpi_id}")
    return Written(
        id=result.id, version=result.version, position=result.position, reading_id=saved.check_in_id
    )


@router.post("/{kpi_id}/readings/corrections")
@command_route
def correct_reading(
    kpi_id: UUID,
    body: KpiReadingCorrection,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """Correct a recorded reading's value, with a reason."""
    saved = ledger.correct_kpi_reading(
        actor=grant.subject,
        kpi_id=kpi_id,
        reading_id=body.reading_id,
        value=body.value,
        reason=body.reason,
        reason_code=body.reason_code,
        expected_version=version,
        grant=grant,
        request=request,
    )
    return written(response, saved)


@router.post("/{kpi_id}/target")
def change_target(
    kpi_id: UUID,
    body: KpiTargetChange,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """Change the KPI's target and healthy range, with a reason; the date it was set moves."""
    saved = ledger.change_kpi_target(
        actor=grant.subject,
        kpi_id=kpi_id,
        target=body.target,
        healthy_low=body.healthy_low,
        healthy_high=body.healthy_high,
        reason=body.reason,
        reason_code=body.reason_code,
        effective_on=body.effective_on,
        expected_version=version,
        grant=grant,
        request=request,
    )
    return written(response, saved)


@router.post("/{kpi_id}/retire")
def retire_kpi(
    kpi_id: UUID,
    body: Retire,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """Retire the KPI with a reason."""
    saved = ledger.retire_kpi(
        actor=grant.subject,
        kpi_id=kpi_id,
        reason=body.reason,
        reason_code=body.reason_code,
        effective_on=body.effective_on,
        expected_version=version,
        grant=grant,
        request=request,
    )
    return written(response, saved)


@router.get("/{kpi_id}")
def get_kpi(
    kpi_id: UUID,
    ledger: LedgerDep,
    views: ViewsDep,
    grant: GrantDep,
    response: Response,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> KpiPublic:
    """The KPI with its latest reading as of a date, and whether it is healthy."""
    authorise(grant, Command.READ_GOALS)
    public = _public(ledger, kpi_id, as_of, utc(known_at))
    try:
        public.measured_by = measured_by(views, kpi_id)
    except PersistenceError:
        # The process's table is made by `goalpost db init` of this release.
        public.measured_by = []
    etag(response, public.version)
    return public


@router.get("")
def list_kpis(
    ledger: LedgerDep,
    views: ViewsDep,
    grant: GrantDep,
    area: str | None = None,
    owner: Annotated[str | None, Query(description=OWNER_FILTER)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[KpiPublic]:
    """KPIs in definition order, by KRA (`area`) and owner (404 naming an unknown owner)."""
    authorise(grant, Command.READ_GOALS)
    if owner is not None:
        known_owner(views, ledger, owner, None, "query.owner")

    def load(kpi_id: UUID) -> KpiPublic | None:
        try:
            public = _public(ledger, kpi_id, None, None)
        except NotFoundError:
            return None
        if (area is not None and public.area != area) or (
            owner is not None and public.owner != owner
        ):
            return None
        return public

    items, next_cursor = paginate(ledger.kpi_ids(), cursor, limit, load)
    return Page[KpiPublic](items=items, next_cursor=next_cursor)
