"""Readiness: the store answers; the log's last position and where each read model stands."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from projections.base import ReadModelStatus


class ReadModelPosition(BaseModel):
    position: int = Field(description="The log position the read model reflects.")
    lag: int = Field(description="Positions it is behind the log's last one.")
    generation: int = Field(description="Its live generation (a rebuild makes a new one).")
    rebuilding: int | None = Field(
        default=None, description="The generation a rebuild in progress is building."
    )
    failing_position: int | None = Field(
        default=None, description="The event it cannot apply, while it cannot (ADR 25)."
    )
    error: str | None = Field(default=None, description="Why it cannot, as the worker saw it.")
    failing_since: datetime | None = None
    stalled_seconds: float = Field(
        default=0.0, description="Seconds it has been behind the log without advancing."
    )

    @classmethod
    def of(cls, status: ReadModelStatus) -> ReadModelPosition:
        failing = status.health if status.failing else None
        return cls(
            position=status.position,
            lag=status.lag,
            generation=status.generation,
            rebuilding=status.building,
            failing_position=failing.failing_position if failing else None,
            error=failing.error if failing else None,
            failing_since=failing.failing_since if failing else None,
            stalled_seconds=round(status.stalled_seconds, 3),
        )


class Readiness(BaseModel):
    status: str
    position: int | None = Field(default=None, description="The log's last position.")
    read_models: dict[str, ReadModelPosition] | None = None
    detail: str | None = None
