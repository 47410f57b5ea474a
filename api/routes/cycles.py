"""Cycles: open, close, list them scored, and the scoreboard of everything in one."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status

from api.consistency import LOG_HEAD_HEADER, POSITION_HEADER, Reading, reading
from api.deps import ExpectedVersionDep, GrantDep, IdempotencyDep, LedgerDep, ViewsDep, authorise
from api.json_body import StrictJSONRoute
from api.routes.common import (
    PROBLEMS,
    UNAVAILABLE,
    AsOf,
    Cursor,
    KnownAt,
    Limit,
    etag,
    paginate,
    read_model_unavailable,
    utc,
    written,
)
from api.schemas.common import Written
from api.schemas.cycles import CycleCreate, CycleListed, CyclePublic, CyclesPage
from api.standbys import PRIMARY, READ_FROM_HEADER
from domain.authority import Command
from domain.values import utc_today
from projections.score_reads import cycle_rollup
from projections.scores import Scores

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


@router.get("", responses=UNAVAILABLE)
def list_cycles(
    ledger: LedgerDep,
    views: ViewsDep,
    grant: GrantDep,
    response: Response,
    read: Annotated[Reading, Depends(reading(Scores.name))],
    as_of: AsOf = None,
    known_at: KnownAt = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> CyclesPage:
    """Cycles, newest first (by `starts_on`, then key), each with its state and score.

    The dates, state and `closed_at` come from the cycles themselves. Scores, without
    `as_of` and `known_at`, from the scores read model (its position in `position`);
    with either, replayed from the goals of the cycles on the page.
    """
    authorise(grant, Command.READ_GOALS)
    moment = utc(known_at)
    at = read.at()
    position, log_head = at.position, at.log_head
    replay = as_of is not None or moment is not None
    if replay:
        # The aggregates reflect at least the log as it stood before the replay.
        position = log_head = max(ledger.recorder.max_notification_id() or 0, log_head)
        response.headers[POSITION_HEADER] = response.headers[LOG_HEAD_HEADER] = str(position)
        # Replayed from the goals, which load from the primary (ADR 31).
        response.headers[READ_FROM_HEADER] = PRIMARY
    today = utc_today()
    cycles = sorted(ledger.cycles(moment), key=lambda c: (-c.starts_on.toordinal(), c.key))
    by_id = {cycle.id: cycle for cycle in cycles}

    def load(cycle_id: UUID) -> CycleListed:
        cycle = by_id[cycle_id]
        if replay:
            board = ledger.cycle_scoreboard(cycle.key, as_of=as_of, known_at=moment)
            rollup, day = board.rollup(), board.as_of
        else:
            with read_model_unavailable():
                rollup = cycle_rollup(views, cycle.key, today)
            day = ledger.default_as_of(cycle)
        state = cycle.state_on(as_of if as_of is not None else today)
        return CycleListed.of(cycle, rollup, day, state)

    items, next_cursor = paginate(list(by_id), cursor, limit, load)
    return CyclesPage(
        items=items,
        next_cursor=next_cursor,
        as_of=as_of,
        known_at=moment,
        position=position,
        log_head=log_head,
    )
