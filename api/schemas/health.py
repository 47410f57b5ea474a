"""Readiness: the store answers; the log's last position and where each read model stands."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.standbys import StandbyStatus
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


class StandbyReadModel(BaseModel):
    position: int = Field(description="The log position the read model reflects on the standby.")
    lag: int = Field(description="Positions it is behind the primary's log.")


class StandbyPosition(BaseModel):
    """A hot standby reads are served from (GOALPOST_READ_DATABASE_URL, ADR 31)."""

    status: str = Field(
        description="`streaming`, `paused` (replay paused), `not-in-recovery` (not a "
        "standby: a primary named as one) or `unavailable` (it does not answer)."
    )
    replay_lag_bytes: int | None = Field(
        default=None, description="WAL it has received and not yet replayed."
    )
    replay_lag_seconds: float | None = Field(
        default=None,
        description="Age of the last transaction it replayed, while WAL waits to be replayed.",
    )
    replayed_at: datetime | None = Field(
        default=None, description="When the last transaction it replayed committed."
    )
    position: int | None = Field(default=None, description="Its copy of the log's last position.")
    lag: int | None = Field(default=None, description="Positions it is behind the primary's log.")
    read_models: dict[str, StandbyReadModel] | None = None
    detail: str | None = None

    @classmethod
    def of(cls, status: StandbyStatus, log_head: int) -> StandbyPosition:
        replay = status.replay
        if replay is None:
            return cls(status="unavailable", detail=status.detail)
        return cls(
            status=(
                "not-in-recovery"
                if not replay.in_recovery
                else "paused"
                if replay.paused
                else "streaming"
            ),
            replay_lag_bytes=replay.lag_bytes,
            replay_lag_seconds=round(replay.lag_seconds, 3),
            replayed_at=replay.replayed_at,
            position=status.log_position,
            lag=max(log_head - status.log_position, 0),
            read_models={
                name: StandbyReadModel(position=position, lag=max(log_head - position, 0))
                for name, position in status.read_models.items()
            },
        )


class Readiness(BaseModel):
    status: str
    position: int | None = Field(default=None, description="The log's last position.")
    read_models: dict[str, ReadModelPosition] | None = None
    standbys: dict[str, StandbyPosition] | None = Field(
        default=None, description="Each standby reads are served from, and how far it lags."
    )
    demo_store: bool | None = Field(
        default=None,
        description="True on a demo store, whose story carries past record times (ADR 44).",
    )
    detail: str | None = None
