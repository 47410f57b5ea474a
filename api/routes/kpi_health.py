"""KPI health: KPIs out of their healthy level twice running are candidate OKRs.

Its router goes before the KPIs' own: /v1/kpis/health must match before /v1/kpis/{kpi_id}.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from api.consistency import LOG_HEAD_HEADER, POSITION_HEADER, Reading, reading
from api.deps import GrantDep, LedgerDep, ViewsDep, authorise
from api.json_body import StrictJSONRoute
from api.routes.common import (
    PROBLEMS,
    UNAVAILABLE,
    AsOf,
    Cursor,
    KnownAt,
    Limit,
    position_cursor,
    read_model_unavailable,
    utc,
)
from api.routes.filters import OWNER_FILTER, known_owner
from api.schemas.kpi_health import KpiHealthPage, KpiHealthPublic
from api.standbys import PRIMARY, READ_FROM_HEADER
from domain.authority import Command
from domain.values import utc_today
from projections.kpi_health import KpiHealth, kpi_health, kpi_health_replayed

router = APIRouter(
    tags=["history"], responses={**PROBLEMS, **UNAVAILABLE}, route_class=StrictJSONRoute
)

KpiHealthRead = Annotated[Reading, Depends(reading(KpiHealth.name))]


@router.get("/v1/kpis/health")
def kpis_health(
    views: ViewsDep,
    ledger: LedgerDep,
    grant: GrantDep,
    response: Response,
    read: KpiHealthRead,
    include: Annotated[
        Literal["candidates", "all"],
        Query(description="`candidates`: unretired KPIs out of range twice running; `all`."),
    ] = "candidates",
    area: Annotated[str | None, Query(max_length=200)] = None,
    owner: Annotated[str | None, Query(max_length=120, description=OWNER_FILTER)] = None,
    as_of: AsOf = None,
    known_at: KnownAt = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> KpiHealthPage:
    """KPIs out of their healthy level for two consecutive readings: candidate OKRs.

    An `owner` who owns no goal (objective, key result or KPI) as of the read is a 404
    naming the parameter.
    """
    authorise(grant, Command.READ_GOALS)
    after = position_cursor(cursor)
    candidates_only = include == "candidates"
    moment = utc(known_at)
    if owner is not None:
        known_owner(views, ledger, owner, moment, "query.owner")
    at = read.at()
    position, log_head = at.position, at.log_head
    if as_of is None and moment is None:
        with read_model_unavailable():
            rows, more = kpi_health(
                views,
                candidates_only=candidates_only,
                area=area,
                owner=owner,
                after=after,
                limit=limit,
            )
    else:
        # Another day or another state of knowledge: replayed from the KPIs themselves,
        # which reflect at least the log as it stood before the replay.
        position = log_head = max(ledger.recorder.max_notification_id() or 0, log_head)
        response.headers[POSITION_HEADER] = str(position)
        response.headers[LOG_HEAD_HEADER] = str(log_head)
        # Replayed from the KPIs, which load from the primary (ADR 31).
        response.headers[READ_FROM_HEADER] = PRIMARY
        rows, more = kpi_health_replayed(
            ledger,
            as_of=as_of if as_of is not None else utc_today(),
            known_at=moment,
            candidates_only=candidates_only,
            area=area,
            owner=owner,
            after=after,
            limit=limit,
        )
    return KpiHealthPage(
        items=[KpiHealthPublic.model_validate(row) for row in rows],
        next_cursor=str(rows[-1].defined_at) if more and rows else None,
        as_of=as_of,
        known_at=moment,
        position=position,
        log_head=log_head,
    )
