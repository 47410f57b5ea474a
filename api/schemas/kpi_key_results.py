"""A key result measured by a KPI: what a client sends (ADR 38)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import Field

from api.schemas.common import Day, Identifier, Request, Title, Value


class KpiKeyResultCreate(Request):
    """The key result to add to the objective, measured by the KPI of the path.

    Unit, direction (a stay_above KPI: increase; stay_below: decrease), baseline (the
    KPI's latest reading) and measurement (the KPI's data source and formula) come from
    the KPI; `owner` defaults to the objective's."""

    objective_id: UUID
    title: Annotated[Title, Field(examples=["Net revenue retention to 105%"])]
    target: Value
    weight: Annotated[Value, Field(gt=0)] = Decimal(1)
    owner: Identifier | None = None
    effective_on: Day | None = None
