"""Calibration per owner over closed cycles: stretch never stretched, fantasy, promises missed."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.common import FromRow, LogHead, Score


class OwnerCalibration(FromRow):
    """One owner's key results of closed cycles (not retired), by their objective's kind."""

    owner: str
    cycles: int = Field(description="Closed cycles with a key result of theirs counted.")
    aspirational: int
    aspirational_at_one: int = Field(description="Aspirational at 1.0: a sign of sandbagging.")
    aspirational_at_one_share: Score | None
    aspirational_at_most_fantasy: int = Field(
        description="Aspirational at or below 0.3: fantasy targets or abandonment."
    )
    aspirational_at_most_fantasy_share: Score | None
    committed: int
    committed_below_one: int = Field(description="Committed below 1.0: promises missed.")
    committed_below_one_share: Score | None


class CalibrationPage(BaseModel):
    owners: list[OwnerCalibration]
    position: int = Field(description="The log position this read reflects (at least).")
    log_head: LogHead
