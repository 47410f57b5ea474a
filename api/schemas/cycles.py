"""Cycles: what a client sends to open one; the scoreboard it reads."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from api.schemas.common import Day, Identifier, LogHead, Position, Request, Score
from api.schemas.objectives import ObjectivePublic
from domain.cycle import Cycle, CycleState
from domain.reports import CycleScoreboard, Rollup
from domain.scoring import TrafficLight


class CycleCreate(Request):
    id: Annotated[Identifier, Field(examples=["2026-Q3"])]
    starts_on: Day
    ends_on: Day


class CyclePublic(BaseModel):
    id: str
    starts_on: date
    ends_on: date
    closed_at: datetime | None
    version: int
    as_of: date
    known_at: datetime | None
    score: Score | None = Field(
        description="Mean of the scores of its objectives that are not retired."
    )
    score_against_original_plan: Score | None
    traffic_light: TrafficLight | None
    net_confidence: Score | None
    objectives: list[ObjectivePublic]

    @classmethod
    def of(cls, board: CycleScoreboard, version: int) -> CyclePublic:
        rollup = board.rollup()
        return cls(
            score=rollup.score,
            score_against_original_plan=rollup.score_against_original_plan,
            traffic_light=rollup.traffic_light,
            id=board.key,
            starts_on=board.starts_on,
            ends_on=board.ends_on,
            closed_at=board.closed_at,
            version=version,
            as_of=board.as_of,
            known_at=board.known_at,
            net_confidence=rollup.net_confidence,
            objectives=[ObjectivePublic.of(o, board.known_at) for o in board.objectives],
        )


class CycleListed(BaseModel):
    """A cycle in the list: its dates, where it stands, and its score."""

    id: str = Field(description="The cycle's key, as opened.")
    starts_on: date
    ends_on: date
    state: CycleState = Field(
        description="On `as_of` (today when not given), as known at `known_at`: `closed` once "
        "closed (that day or before), even early; otherwise `upcoming` before `starts_on`, "
        "`current` from `starts_on` to `ends_on` (both included), `ended` after `ends_on` "
        "while not yet closed."
    )
    closed_at: datetime | None
    version: int
    as_of: date = Field(
        description="The day the score is judged on: `as_of`, or today, or the cycle's last "
        "day once it is over."
    )
    score: Score | None = Field(
        description="Mean of the scores of its objectives that are not retired; null with none."
    )
    score_against_original_plan: Score | None
    traffic_light: TrafficLight | None
    net_confidence: Score | None

    @classmethod
    def of(cls, cycle: Cycle, rollup: Rollup, as_of: date, state: CycleState) -> CycleListed:
        return cls(
            id=cycle.key,
            starts_on=cycle.starts_on,
            ends_on=cycle.ends_on,
            state=state,
            closed_at=cycle.closed_at,
            version=cycle.version,
            as_of=as_of,
            score=rollup.score,
            score_against_original_plan=rollup.score_against_original_plan,
            traffic_light=rollup.traffic_light,
            net_confidence=rollup.net_confidence,
        )


class CyclesPage(BaseModel):
    items: list[CycleListed]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )
    as_of: date | None
    known_at: datetime | None
    position: Position
    log_head: LogHead
