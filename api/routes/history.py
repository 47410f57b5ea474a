"""A goal's history: every event of a key result, objective or KPI, from the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from api.consistency import ReadAt, Reading, reading
from api.deps import GrantDep, LedgerDep, ViewsDep, authorise
from api.display_names import with_names
from api.json_body import StrictJSONRoute
from api.routes.common import (
    PROBLEMS,
    UNAVAILABLE,
    Cursor,
    KnownAt,
    Limit,
    position_cursor,
    read_model_unavailable,
    utc,
)
from api.schemas.common import Day
from api.schemas.history import GoalHistory, HistoryEntry
from application.people import NameBook
from domain.authority import Command
from projections.audit_trail import AuditTrail, goal_history, goal_known
from storage.views import ViewDatabase

router = APIRouter(
    tags=["history"], responses={**PROBLEMS, **UNAVAILABLE}, route_class=StrictJSONRoute
)

# The read model each route reads (ADR 25): `min_position`, failing and behind, headers.
AuditTrailRead = Annotated[Reading, Depends(reading(AuditTrail.name))]
HistoryAsOf = Annotated[
    Day | None,
    Query(
        description="Only events in effect by this date: effective on or before it "
        "(events without an effective date: recorded on or before it, UTC)."
    ),
]


def _history(
    views: ViewDatabase,
    kind: str,
    goal_id: UUID,
    load: Callable[[UUID], object],
    read: ReadAt,
    *,
    as_of: date | None,
    known_at: datetime | None,
    limit: int,
    cursor: str | None,
    book: NameBook,
) -> GoalHistory:
    after = position_cursor(cursor)
    with read_model_unavailable():
        # `read` came first: the rows read now reflect at least that much of the log.
        known = goal_known(views, goal_id, kind)
        entries, more = goal_history(
            views,
            goal_id,
            kind,
            after_position=after,
            limit=limit,
            as_of=as_of,
            known_at=utc(known_at),
        )
    if not known:
        # Not in the trail (yet): 404 unless the goal exists and the trail lags behind.
        load(goal_id)
    return GoalHistory(
        goal_kind=kind,
        goal_id=goal_id,
        items=[
            with_names(
                HistoryEntry.model_validate(entry),
                book,
                entry.effective_on or entry.recorded_at.date(),
            )
            for entry in entries
        ],
        next_cursor=str(entries[-1].position) if more and entries else None,
        position=read.position,
        log_head=read.log_head,
    )


@router.get("/v1/key-results/{key_result_id}/history")
def key_result_history(
    key_result_id: UUID,
    views: ViewsDep,
    ledger: LedgerDep,
    grant: GrantDep,
    read: AuditTrailRead,
    as_of: HistoryAsOf = None,
    known_at: KnownAt = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> GoalHistory:
    """Every event of the key result in log order: actor, times, reason, before and after."""
    authorise(grant, Command.READ_GOALS)
    return _history(
        views,
        "key_result",
        key_result_id,
        ledger.get_key_result,
        read.at(),
        as_of=as_of,
        known_at=known_at,
        limit=limit,
        cursor=cursor,
        book=ledger.name_book(utc(known_at)),
    )


@router.get("/v1/objectives/{objective_id}/history")
def objective_history(
    objective_id: UUID,
    views: ViewsDep,
    ledger: LedgerDep,
    grant: GrantDep,
    read: AuditTrailRead,
    as_of: HistoryAsOf = None,
    known_at: KnownAt = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> GoalHistory:
    """Every event of the objective in log order: actor, times, reason, before and after."""
    authorise(grant, Command.READ_GOALS)
    return _history(
        views,
        "objective",
        objective_id,
        ledger.get_objective,
        read.at(),
        as_of=as_of,
        known_at=known_at,
        limit=limit,
        cursor=cursor,
        book=ledger.name_book(utc(known_at)),
    )


@router.get("/v1/kpis/{kpi_id}/history")
def kpi_history(
    kpi_id: UUID,
    views: ViewsDep,
    ledger: LedgerDep,
    grant: GrantDep,
    read: AuditTrailRead,
    as_of: HistoryAsOf = None,
    known_at: KnownAt = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> GoalHistory:
    """Every event of the KPI in log order: actor, times, reason, before and after."""
    authorise(grant, Command.READ_GOALS)
    return _history(
        views,
        "kpi",
        kpi_id,
        ledger.get_kpi,
        read.at(),
        as_of=as_of,
        known_at=known_at,
        limit=limit,
        cursor=cursor,
        book=ledger.name_book(utc(known_at)),
    )
