"""The auditors' change report of a cycle: its changes of plan, corrections, late check-ins."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.common import FromRow, LogHead, Position
from projections.audit_trail import Flag


class ChangeRow(FromRow):
    """A change an auditor reviews, with the flags it raised."""

    position: int
    goal_kind: Literal["key_result", "objective", "kpi"]
    goal_id: UUID
    title: str | None
    owner: str | None
    owner_name: str | None = Field(
        default=None,
        description="The owner's display name on the row's day (effective, else recorded), "
        "as known at `known_at`; a pseudonym once erased; null for a team. JSON only.",
    )
    event: str = Field(examples=["rebaselined"])
    subject_id: UUID | None
    actor: str
    actor_name: str | None = Field(
        default=None, description="The actor's display name on the row's day. JSON only."
    )
    recorded_at: datetime = Field(
        description="When the store recorded it (UTC, `Z`); the CSV's cell is the same text."
    )
    effective_on: date | None
    reason: str | None
    reason_code: str | None
    before: dict[str, Any] = Field(
        description="What the change replaced; in CSV, also `value_before`, `target_before`, "
        "`baseline_before` and `weight_before`, each empty where the change has none.",
        examples=[{"baseline": "32", "target": "50"}],
    )
    after: dict[str, Any] = Field(
        description="What the change made it; in CSV, also `value_after`, `target_after`, "
        "`baseline_after` and `weight_after`.",
        examples=[{"baseline": "32", "target": "45"}],
    )
    flags: list[Flag]


class ChangeReport(BaseModel):
    cycle_id: str
    starts_on: date
    ends_on: date
    closed_at: datetime | None
    known_at: datetime | None
    items: list[ChangeRow]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page (the last position); null on the last."
    )
    position: Position
    log_head: LogHead
