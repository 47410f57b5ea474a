"""A goal's history: every event of one key result, objective or KPI, in log order."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.common import FromRow, LogHead, Position
from projections.audit_trail import Flag


class HistoryEntry(FromRow):
    """One event of a goal: who, when recorded, when effective, why, before and after."""

    position: int
    version: int
    event: str = Field(examples=["rebaselined"])
    actor: str
    actor_name: str | None = Field(
        default=None,
        description="The actor's display name on the entry's day, where the actor is a person.",
    )
    owner: str | None
    owner_name: str | None = Field(
        default=None,
        description="The goal owner's display name on the entry's day (effective, else "
        "recorded), as known at `known_at`; a pseudonym once erased; null for a team.",
    )
    recorded_at: datetime
    effective_on: date | None
    reason: str | None
    reason_code: str | None
    subject_id: UUID | None = Field(description="The check-in, reading or goal the event names.")
    before: dict[str, Any] = Field(examples=[{"baseline": "32", "target": "50"}])
    after: dict[str, Any] = Field(examples=[{"baseline": "32", "target": "45"}])
    flags: list[Flag]


class GoalHistory(BaseModel):
    goal_kind: str
    goal_id: UUID
    items: list[HistoryEntry]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page (the last position); null on the last."
    )
    position: Position
    log_head: LogHead
