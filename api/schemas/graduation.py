"""Graduating a key result to a KPI: what a client sends (ADR 36)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from api.schemas.common import ReasonText, Request, Title, Value
from api.schemas.kpis import KpiDefinition
from domain.values import MAX_NAME, KpiDirection


class KeyResultGraduation(Request):
    """The KPI the key result becomes, owned by the key result's owner, and why.

    `unit` defaults to the key result's; `direction` to the side its key result moved
    toward (increase: stay_above, decrease: stay_below; a milestone's must be given).
    The healthy level is set on the graduation's day."""

    area: Annotated[str, Field(min_length=1, max_length=MAX_NAME, examples=["Customer retention"])]
    name: Annotated[Title, Field(examples=["First-response time"])]
    unit: Annotated[str, Field(max_length=MAX_NAME)] | None = None
    definition: KpiDefinition
    direction: KpiDirection | None = None
    target: Value
    healthy_low: Value | None = None
    healthy_high: Value | None = None
    reason: ReasonText
