"""Scores per key result, objective, owner and cycle, each against current and original plans.

Now: from the `scores` read model (`?min_position=` reads your own write). Another day
(`as_of`) or another state of knowledge (`known_at`): replayed from the aggregates through
`GoalLedger.cycle_scoreboard`, one cycle at a time, since the read model holds only the
present.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from api.consistency import LOG_HEAD_HEADER, POSITION_HEADER, ReadAt, Reading, reading
from api.deps import GrantDep, LedgerDep, ViewsDep
from api.json_body import StrictJSONRoute
from api.problems import ProblemError
from api.routes.common import PROBLEMS, UNAVAILABLE, AsOf, KnownAt, read_model_unavailable, utc
from api.routes.filters import CYCLE_FILTER, OWNER_FILTER, known_cycle, known_owner
from api.schemas.scores import CycleScore, KeyResultScore, ObjectiveScore, OwnerScore, ScoresPage
from api.standbys import PRIMARY, READ_FROM_HEADER
from application.ledger import GoalLedger
from domain.reports import CycleScoreboard
from projections.scores import (
    KeyResultScoreRow,
    ObjectiveScoreRow,
    Scoreboard,
    Scores,
    owner_rollups,
    scores,
)

router = APIRouter(
    tags=["scores"], responses={**PROBLEMS, **UNAVAILABLE}, route_class=StrictJSONRoute
)


def _page(
    board: Scoreboard, as_of: date | None, known_at: datetime | None, position: int, log_head: int
) -> ScoresPage:
    return ScoresPage(
        key_results=[KeyResultScore.model_validate(row) for row in board.key_results],
        objectives=[ObjectiveScore.model_validate(row) for row in board.objectives],
        owners=[OwnerScore.model_validate(rollup) for rollup in board.owners],
        cycles=[CycleScore.model_validate(rollup) for rollup in board.cycles],
        as_of=as_of,
        known_at=known_at,
        position=position,
        log_head=log_head,
    )


def replayed(board: CycleScoreboard, owner: str | None) -> Scoreboard:
    """The same rows from the ledger's scoreboard of a day, as known at a time."""
    key_results = []
    objectives = []
    for objective in board.objectives:
        if owner is None or objective.owner == owner:
            objectives.append(ObjectiveScoreRow.of(objective))
        for line in objective.key_results:
            if owner is not None and line.owner != owner:
                continue
            key_results.append(KeyResultScoreRow.of(line, objective))
    return Scoreboard(
        key_results=key_results,
        objectives=objectives,
        cycles=[board.rollup()],
        owners=owner_rollups(key_results, objectives),
    )


def _replay(
    ledger: GoalLedger,
    cycle_id: str,
    owner: str | None,
    as_of: date | None,
    known_at: datetime | None,
    response: Response,
    read: ReadAt,
) -> ScoresPage:
    # Read before the replay: the aggregates reflect at least this much of the log.
    position = max(ledger.recorder.max_notification_id() or 0, read.log_head)
    response.headers[POSITION_HEADER] = response.headers[LOG_HEAD_HEADER] = str(position)
    # Replayed from the goals, which load from the primary (ADR 31).
    response.headers[READ_FROM_HEADER] = PRIMARY
    board = ledger.cycle_scoreboard(cycle_id, as_of=as_of, known_at=known_at)
    return _page(replayed(board, owner), board.as_of, known_at, position, position)


@router.get("/v1/scores")
def get_scores(
    views: ViewsDep,
    ledger: LedgerDep,
    _grant: GrantDep,
    response: Response,
    read: Annotated[Reading, Depends(reading(Scores.name))],
    cycle_id: Annotated[str | None, Query(max_length=120, description=CYCLE_FILTER)] = None,
    owner: Annotated[str | None, Query(max_length=120, description=OWNER_FILTER)] = None,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> ScoresPage:
    """Key results and objectives, scored, with net confidence per cycle.

    Without `as_of` and `known_at`: the read model, now (pace and staleness judged today,
    or on the cycle's last day once it is over). With either: replayed from the goals,
    which needs `cycle_id`. A `cycle_id` never opened, or an `owner` who owns no goal
    (objective, key result or KPI) as of the read, is a 404 naming the parameter.
    """
    moment = utc(known_at)
    if cycle_id is not None:
        known_cycle(ledger, cycle_id, moment, "query.cycle_id")
    if owner is not None:
        known_owner(views, ledger, owner, moment, "query.owner")
    if as_of is not None or moment is not None:
        if cycle_id is None:
            raise ProblemError(
                422,
                "invalid-input",
                "Invalid input",
                "as_of and known_at are answered per cycle: give cycle_id too",
                field="cycle_id",
            )
        return _replay(ledger, cycle_id, owner, as_of, moment, response, read.at())
    at = read.at()
    with read_model_unavailable():
        board = scores(views, cycle_id=cycle_id, owner=owner)
    return _page(board, None, None, at.position, at.log_head)
