"""Scores per key result, objective, owner and cycle, each against current and original plans.

Now: from the `scores` read model (`?min_position=` reads your own write). Another day
(`as_of`) or another state of knowledge (`known_at`): replayed from the aggregates through
`GoalLedger.cycle_scoreboard`, one cycle at a time, since the read model holds only the
present.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from api.consistency import LOG_HEAD_HEADER, POSITION_HEADER, ReadAt, Reading, reading
from api.deps import GrantDep, LedgerDep, ViewsDep
from api.json_body import StrictJSONRoute
from api.problems import Problem, ProblemError
from api.routes.common import PROBLEMS, AsOf, KnownAt, read_model_unavailable, utc
from api.schemas import Exact, Score
from application.ledger import GoalLedger
from domain.reports import CycleScoreboard, Rollup
from domain.scoring import Pace, TrafficLight, rounded, rounded_or_none
from domain.values import Confidence, Direction, ObjectiveKind
from projections.scores import (
    KeyResultScoreRow,
    ObjectiveScoreRow,
    Scoreboard,
    Scores,
    owner_rollups,
    scores,
)

UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": Problem, "content": {"application/problem+json": {}}}
}
router = APIRouter(
    tags=["scores"], responses={**PROBLEMS, **UNAVAILABLE}, route_class=StrictJSONRoute
)


class KeyResultScore(BaseModel):
    """A key result scored against its current and its original plan."""

    id: UUID
    objective_id: UUID
    cycle_id: str
    owner: str
    title: str
    direction: Direction
    baseline: Exact
    target: Exact
    weight: Exact
    original_baseline: Exact
    original_target: Exact
    original_weight: Exact
    rebaselined: bool
    value: Exact
    last_check_in_on: date | None
    confidence: Confidence | None
    score: Score
    score_against_original_plan: Score
    traffic_light: TrafficLight
    as_of: date = Field(description="The day pace and staleness are judged on.")
    expected_progress: Score
    pace: Pace
    stale: bool
    retired: bool
    retired_reason_code: str | None
    version: int

    @classmethod
    def of(cls, row: KeyResultScoreRow) -> KeyResultScore:
        return cls(
            id=row.key_result_id,
            objective_id=row.objective_id,
            cycle_id=row.cycle_id,
            owner=row.owner,
            title=row.title,
            direction=Direction(row.direction),
            baseline=row.baseline,
            target=row.target,
            weight=row.weight,
            original_baseline=row.original_baseline,
            original_target=row.original_target,
            original_weight=row.original_weight,
            rebaselined=row.rebaselined,
            value=row.value,
            last_check_in_on=row.last_check_in_on,
            confidence=row.confidence,
            score=rounded(row.score),
            score_against_original_plan=rounded(row.score_against_original_plan),
            traffic_light=row.traffic_light,
            as_of=row.as_of,
            expected_progress=rounded(row.expected_progress),
            pace=row.pace,
            stale=row.stale,
            retired=row.retired,
            retired_reason_code=row.retired_reason_code,
            version=row.version,
        )


class ObjectiveScore(BaseModel):
    """An objective's weighted score over its key results that are not retired."""

    id: UUID
    cycle_id: str
    owner: str
    title: str
    kind: ObjectiveKind
    parent_id: UUID | None
    score: Score | None
    score_against_original_plan: Score | None = Field(
        description="The same key results against their original baselines, targets, weights."
    )
    traffic_light: TrafficLight | None
    retired: bool
    retired_reason_code: str | None
    version: int

    @classmethod
    def of(cls, row: ObjectiveScoreRow) -> ObjectiveScore:
        return cls(
            id=row.objective_id,
            cycle_id=row.cycle_id,
            owner=row.owner,
            title=row.title,
            kind=ObjectiveKind(row.kind),
            parent_id=row.parent_id,
            score=rounded_or_none(row.score),
            score_against_original_plan=rounded_or_none(row.score_against_original_plan),
            traffic_light=row.traffic_light,
            retired=row.retired,
            retired_reason_code=row.retired_reason_code,
            version=row.version,
        )


class CycleScore(BaseModel):
    """A whole cycle's figures over its objectives and key results that are not retired."""

    cycle_id: str
    objectives: int = Field(description="Objectives not retired.")
    score: Score | None = Field(description="Mean of those objectives' scores.")
    score_against_original_plan: Score | None
    traffic_light: TrafficLight | None
    key_results: int = Field(description="Key results not retired, of those objectives.")
    key_result_score: Score | None = Field(description="Mean of those key results' scores.")
    key_result_score_against_original_plan: Score | None
    green: int
    amber: int
    red: int
    behind: int = Field(description="Key results whose score is below the expected progress.")
    stale: int = Field(description="Key results with no check-in for 21 days.")
    net_confidence: Score | None = Field(
        description="Share of those key results on track minus share off track."
    )

    @classmethod
    def fields_of(cls, rollup: Rollup) -> dict[str, Any]:
        return {
            "cycle_id": rollup.cycle_id,
            "objectives": rollup.objectives,
            "score": rounded_or_none(rollup.score),
            "score_against_original_plan": rounded_or_none(rollup.score_against_original_plan),
            "traffic_light": rollup.traffic_light,
            "key_results": rollup.key_results,
            "key_result_score": rounded_or_none(rollup.key_result_score),
            "key_result_score_against_original_plan": rounded_or_none(
                rollup.key_result_score_against_original_plan
            ),
            "green": rollup.green,
            "amber": rollup.amber,
            "red": rollup.red,
            "behind": rollup.behind,
            "stale": rollup.stale,
            "net_confidence": rounded_or_none(rollup.net_confidence),
        }

    @classmethod
    def of(cls, rollup: Rollup) -> CycleScore:
        return cls(**cls.fields_of(rollup))


class OwnerScore(CycleScore):
    """One owner's figures in a cycle: the objectives and the key results they own."""

    owner: str

    @classmethod
    def of(cls, rollup: Rollup) -> OwnerScore:
        assert rollup.owner is not None
        return cls(**cls.fields_of(rollup), owner=rollup.owner)


class ScoresPage(BaseModel):
    key_results: list[KeyResultScore]
    objectives: list[ObjectiveScore]
    owners: list[OwnerScore] = Field(
        description="Per cycle, each owner of a goal listed: over the goals listed."
    )
    cycles: list[CycleScore] = Field(description="Each cycle listed, whole, whatever the filter.")
    as_of: date | None
    known_at: datetime | None
    position: int = Field(description="The log position this read reflects (at least).")
    log_head: int = Field(
        description="The log's last position when this was read: `position` short of it "
        "is how far the read model was behind."
    )


def _page(
    board: Scoreboard, as_of: date | None, known_at: datetime | None, position: int, log_head: int
) -> ScoresPage:
    return ScoresPage(
        key_results=[KeyResultScore.of(row) for row in board.key_results],
        objectives=[ObjectiveScore.of(row) for row in board.objectives],
        owners=[OwnerScore.of(rollup) for rollup in board.owners],
        cycles=[CycleScore.of(rollup) for rollup in board.cycles],
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
            objectives.append(
                ObjectiveScoreRow(
                    objective_id=objective.id,
                    cycle_id=objective.cycle_id,
                    owner=objective.owner,
                    title=objective.title,
                    kind=objective.kind.value,
                    parent_id=objective.parent_id,
                    score=objective.score,
                    score_against_original_plan=objective.score_against_original_plan,
                    traffic_light=objective.traffic_light,
                    retired=objective.retired is not None,
                    retired_reason_code=(
                        objective.retired.reason_code.value if objective.retired else None
                    ),
                    version=objective.version,
                )
            )
        for line in objective.key_results:
            if owner is not None and line.owner != owner:
                continue
            status = line.status
            check_in = status.last_check_in
            key_results.append(
                KeyResultScoreRow(
                    key_result_id=line.id,
                    objective_id=objective.id,
                    cycle_id=objective.cycle_id,
                    owner=line.owner,
                    title=line.title,
                    direction=line.direction,
                    baseline=status.plan.baseline,
                    target=status.plan.target,
                    weight=status.plan.weight,
                    original_baseline=status.original_plan.baseline,
                    original_target=status.original_plan.target,
                    original_weight=status.original_plan.weight,
                    rebaselined=status.plan.version != status.original_plan.version,
                    value=status.value,
                    last_check_in_on=check_in.effective_on if check_in else None,
                    confidence=check_in.confidence if check_in else None,
                    score=status.score,
                    score_against_original_plan=status.score_against_original_plan,
                    traffic_light=status.traffic_light,
                    as_of=status.as_of,
                    expected_progress=status.expected_progress,
                    pace=status.pace,
                    stale=status.stale,
                    retired=status.retired is not None,
                    retired_reason_code=(
                        status.retired.reason_code.value if status.retired else None
                    ),
                    version=line.version,
                    objective_retired=objective.retired is not None,
                )
            )
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
    board = ledger.cycle_scoreboard(cycle_id, as_of=as_of, known_at=known_at)
    return _page(replayed(board, owner), board.as_of, known_at, position, position)


@router.get("/v1/scores")
def get_scores(
    views: ViewsDep,
    ledger: LedgerDep,
    _grant: GrantDep,
    response: Response,
    read: Annotated[Reading, Depends(reading(Scores.name))],
    cycle_id: Annotated[str | None, Query(max_length=120)] = None,
    owner: Annotated[str | None, Query(max_length=120)] = None,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> ScoresPage:
    """Key results and objectives, scored, with net confidence per cycle.

    Without `as_of` and `known_at`: the read model, now (pace and staleness judged today,
    or on the cycle's last day once it is over). With either: replayed from the goals,
    which needs `cycle_id`.
    """
    moment = utc(known_at)
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
