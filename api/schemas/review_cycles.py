"""Review cycles, reviewer assignments and the record of evidence reads (ADR 42)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Day, Identifier, Request


class ReviewCycleCreate(Request):
    id: Annotated[Identifier, Field(examples=["2026-H2"])]
    starts_on: Day
    ends_on: Day


class AssignmentCreate(Request):
    reviewer: Annotated[Identifier, Field(description="The reviewer's id, as its token names it.")]
    reviewee: Annotated[Identifier, Field(description="The person under review.")]


class AssignmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    reviewer: str
    reviewee: str
    actor: str
    recorded_at: datetime
    version: int


class ReviewCyclePublic(BaseModel):
    id: str
    starts_on: date
    ends_on: date
    version: int
    assignments: list[AssignmentPublic]


class EvidenceReadPublic(BaseModel):
    """One read of a person's evidence: by whom, under which review cycle (none: an
    admin's unscoped read), for which period, recorded when."""

    model_config = ConfigDict(from_attributes=True)

    person: str
    reader: str
    roles: list[str]
    review_cycle: str | None
    period_from: date = Field(serialization_alias="from")
    period_to: date = Field(serialization_alias="to")
    known_at: datetime | None
    recorded_at: datetime


class EvidenceReadsPublic(BaseModel):
    reads: list[EvidenceReadPublic]
