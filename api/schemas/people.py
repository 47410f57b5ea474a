"""People and teams: what a client sends to record HR facts, and what it reads back."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from api.schemas.common import Day, FromRow, Identifier, Request
from domain.people import MAX_EMAIL
from domain.values import MAX_NAME

DisplayName = Annotated[str, Field(min_length=1, max_length=MAX_NAME, examples=["Head of CS"])]
Email = Annotated[str, Field(max_length=MAX_EMAIL, examples=["head-of-cs@example.com"])]
EffectiveOn = Annotated[
    Day | None, Field(description="The day the fact takes effect; today (UTC) when left out.")
]


class PersonCreate(Request):
    id: Annotated[Identifier, Field(description="A stable id, not a name: ids are kept forever.")]
    display_name: DisplayName
    email: Email | None = None
    effective_on: EffectiveOn = None


class DetailsChange(Request):
    display_name: DisplayName
    email: Email | None = None
    effective_on: EffectiveOn = None


class MembershipAction(StrEnum):
    JOIN = "join"
    LEAVE = "leave"


class MembershipChange(Request):
    team: Identifier
    action: MembershipAction
    effective_on: EffectiveOn = None


class ManagerChange(Request):
    manager_id: Identifier | None = Field(description="null: reports to no one from that day.")
    effective_on: EffectiveOn = None


class Departure(Request):
    effective_on: EffectiveOn = None


class TeamCreate(Request):
    id: Identifier
    name: DisplayName


class PersonPublic(FromRow):
    id: str
    display_name: str = Field(
        description="As of `as_of`; once erased, a stable pseudonym (`person-` and 8 hex digits)."
    )
    email: str | None
    erased: bool
    as_of: date
    known_at: datetime | None
    teams: list[str]
    manager_id: str | None
    departed_on: date | None
    version: int


class MemberPublic(FromRow):
    id: str
    display_name: str


class TeamPublic(FromRow):
    id: str
    name: str
    as_of: date
    known_at: datetime | None
    members: list[MemberPublic]
    version: int
