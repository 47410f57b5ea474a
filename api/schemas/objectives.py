"""Objectives: what a client sends to create and align one; what it reads."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.common import Identifier, ReasonText, Request, RetiredPublic, Score, Title
from api.schemas.key_results import KeyResultSummary
from api.schemas.scores import BarPublic
from api.schemas.self_assessments import SelfAssessmentPublic
from domain.reports import ObjectiveStatus
from domain.scoring import TrafficLight
from domain.values import ObjectiveKind, ReasonCode

# Requests


class ObjectiveCreate(Request):
    cycle_id: Annotated[Identifier, Field(examples=["2026-Q3"])]
    title: Annotated[Title, Field(examples=["Stop the leaky bucket"])]
    owner: Identifier
    kind: ObjectiveKind
    parent_id: UUID | None = None


class Align(Request):
    parent_id: UUID | None
    reason: ReasonText
    reason_code: ReasonCode


# Responses


class ObjectivePublic(BaseModel):
    id: UUID
    cycle_id: str
    title: str
    owner: str
    kind: ObjectiveKind
    parent_id: UUID | None
    version: int
    as_of: date
    known_at: datetime | None
    score: Score | None
    score_against_original_plan: Score | None = Field(
        description="Its key results against their original baselines, targets and weights."
    )
    traffic_light: TrafficLight | None
    bar: BarPublic
    retired: RetiredPublic | None
    key_results: list[KeyResultSummary]
    self_assessment: SelfAssessmentPublic | None = Field(
        default=None, description="The owner's latest, as known at known_at (ADR 34)."
    )
    carried_from: UUID | None = Field(
        default=None,
        description="The objective of an earlier cycle this one was created to carry on, "
        "when a key result was carried forward into it (ADR 37).",
    )

    @classmethod
    def of(cls, status: ObjectiveStatus, known_at: datetime | None) -> ObjectivePublic:
        return cls(
            id=status.id,
            cycle_id=status.cycle_id,
            title=status.title,
            owner=status.owner,
            kind=status.kind,
            parent_id=status.parent_id,
            version=status.version,
            as_of=status.as_of,
            known_at=known_at,
            score=status.score,
            score_against_original_plan=status.score_against_original_plan,
            traffic_light=status.traffic_light,
            bar=BarPublic.model_validate(status.bar),
            retired=status.retired,
            key_results=[KeyResultSummary.of(line) for line in status.key_results],
            carried_from=status.carried_from,
        )
