"""Cycles: what a client sends to open one; the scoreboard it reads."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from api.schemas.common import Day, Identifier, Request, Score
from api.schemas.objectives import ObjectivePublic
from domain.reports import CycleScoreboard
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
