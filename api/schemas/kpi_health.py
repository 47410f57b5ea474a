"""KPI health: each KPI against its healthy level, and the candidate OKRs among them."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.common import Exact, FromRow, LogHead, Position
from domain.values import KpiDirection


class ReadingHealthPublic(FromRow):
    effective_on: date
    value: Exact
    healthy: bool


# Read off a `projections.kpi_health.KpiHealthRow`.
class KpiHealthPublic(FromRow):
    id: UUID = Field(validation_alias="kpi_id")
    area: str
    name: str
    owner: str
    unit: str
    direction: KpiDirection
    target: Exact
    healthy_low: Exact | None
    healthy_high: Exact | None
    target_set_on: date
    last_reading: ReadingHealthPublic | None = Field(validation_alias="last")
    previous_reading: ReadingHealthPublic | None = Field(validation_alias="previous")
    healthy: bool | None = Field(description="The last reading is healthy; null without one.")
    okr_candidate: bool = Field(
        description="Out of its healthy level for its last two readings: a candidate OKR."
    )
    retired_on: date | None
    version: int


class KpiHealthPage(BaseModel):
    items: list[KpiHealthPublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )
    as_of: date | None
    known_at: datetime | None
    position: Position
    log_head: LogHead
