"""Carrying a key result forward to a later cycle: what a client sends (ADR 37)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field

from api.schemas.common import Identifier, ReasonText, Request, Value


class KeyResultCarryForward(Request):
    """The later cycle the key result goes on in, and why.

    `baseline` defaults to the key result's last value, `target` to its current target;
    `objective_id` to the objective of that cycle that carries on the key result's own,
    created (same title, owner and kind, linked to it) if there is none."""

    cycle_id: Annotated[Identifier, Field(examples=["2026-Q4"])]
    reason: ReasonText
    baseline: Value | None = None
    target: Value | None = None
    objective_id: UUID | None = None
