"""Transfers and contributors: what a caller sends, and the ownership read (ADR 42)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Day, Identifier, ReasonText, Request


class TransferCreate(Request):
    owner: Annotated[
        Identifier,
        Field(description="The new owner: a person's or a team's id.", examples=["eng-team"]),
    ]
    reason: ReasonText
    effective_on: Annotated[
        Day | None,
        Field(
            default=None,
            description="The first day the new owner answers for the goal; the day reads "
            "are as of when unstated. Not before the goal's last transfer.",
        ),
    ]


class ContributorCreate(Request):
    contributor: Annotated[
        Identifier, Field(description="A person's or a team's id.", examples=["eng-team"])
    ]
    effective_on: Annotated[
        Day | None,
        Field(default=None, description="The first day of the contribution."),
    ]


class ContributorEnd(Request):
    until: Annotated[
        Day | None,
        Field(
            default=None,
            description="The contribution's last day; the day reads are as of when unstated.",
        ),
    ]


class OwnershipPublic(BaseModel):
    """An owner in force from `effective_on`: the one the goal was created with, or a transfer's."""

    model_config = ConfigDict(from_attributes=True)

    owner: str
    effective_on: date
    version: int
    previous_owner: str | None
    reason: str | None
    actor: str | None
    recorded_at: datetime | None


class ContributionPublic(BaseModel):
    """A contributor's span: from `starts_on` until `ends_on` (its last day) once ended."""

    model_config = ConfigDict(from_attributes=True)

    contributor: str
    starts_on: date
    ends_on: date | None
    added_version: int
    removed_version: int | None
    added_by: str
    added_at: datetime


class GoalOwnershipPublic(BaseModel):
    """Who answers for the goal on `as_of`, and over time, as known at `known_at`."""

    id: str
    version: int
    as_of: date
    owner: str
    owners: list[OwnershipPublic]
    contributors: list[str] = Field(description="Contributors on `as_of` (key results only).")
    contributions: list[ContributionPublic]
