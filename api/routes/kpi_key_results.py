"""Key results measured by a KPI (ADR 38): `POST /v1/kpis/{kpi_id}/key-results`."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response, status

from api.deps import GrantDep, IdempotencyDep, LedgerDep
from api.json_body import StrictJSONRoute
from api.routes.common import PROBLEMS, written
from api.schemas.common import Written
from api.schemas.kpi_key_results import KpiKeyResultCreate

router = APIRouter(
    prefix="/v1/kpis", tags=["KPIs"], responses=PROBLEMS, route_class=StrictJSONRoute
)


@router.post("/{kpi_id}/key-results", status_code=status.HTTP_201_CREATED)
def add_kpi_key_result(
    kpi_id: UUID,
    body: KpiKeyResultCreate,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    response: Response,
) -> Written:
    """Add a key result measured by the KPI, from its latest reading; its readings check in."""
    saved = ledger.add_kpi_key_result(
        actor=grant.subject,
        kpi_id=kpi_id,
        objective_id=body.objective_id,
        title=body.title,
        target=body.target,
        weight=body.weight,
        owner=body.owner,
        effective_on=body.effective_on,
        grant=grant,
        request=request,
    )
    return written(response, saved, f"/v1/key-results/{saved.id}")
