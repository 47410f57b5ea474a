"""Cycles: open, close, and the scoreboard of everything in one."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.deps import ExpectedVersionDep, GrantDep, IdempotencyDep, LedgerDep, authorise
from api.json_body import StrictJSONRoute
from api.routes.common import PROBLEMS, AsOf, KnownAt, etag, utc, written
from api.schemas.common import Written
from api.schemas.cycles import CycleCreate, CyclePublic
from domain.authority import Command

router = APIRouter(
    prefix="/v1/cycles", tags=["cycles"], responses=PROBLEMS, route_class=StrictJSONRoute
)


@router.post("", status_code=status.HTTP_201_CREATED)
def open_cycle(
    body: CycleCreate,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    response: Response,
) -> Written:
    """Open a cycle (a quarter, say) that objectives and key results live in."""
    saved = ledger.open_cycle(
        actor=grant.subject,
        key=body.id,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        grant=grant,
        request=request,
    )
    return written(response, saved, f"/v1/cycles/{body.id}", key=body.id)


@router.post("/{cycle_id}/close")
def close_cycle(
    cycle_id: str,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """Close a cycle: its grades freeze; only corrections are accepted afterwards."""
    saved = ledger.close_cycle(
        actor=grant.subject, key=cycle_id, expected_version=version, grant=grant, request=request
    )
    return written(response, saved, key=cycle_id)


@router.get("/{cycle_id}")
def get_cycle(
    cycle_id: str,
    ledger: LedgerDep,
    grant: GrantDep,
    response: Response,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> CyclePublic:
    """The cycle's scoreboard: every objective and key result, scored, with net confidence."""
    authorise(grant, Command.READ_GOALS)
    moment = utc(known_at)
    cycle = ledger.get_cycle(cycle_id, moment)
    etag(response, cycle.version)
    board = ledger.cycle_scoreboard(cycle_id, as_of=as_of, known_at=moment)
    return CyclePublic.of(board, cycle.version)
