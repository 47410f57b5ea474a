"""A key result's plans (baseline, target, weight over time) and what a reader sees of it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from domain.base import Retirement
from domain.check_in_log import CheckIn
from domain.errors import InvalidInputError
from domain.scoring import Pace, TrafficLight
from domain.values import Direction, ReasonCode, check_unit_interval


@dataclass(frozen=True)
class Plan:
    """Baseline, target and weight in force from `effective_on` (one per plan change)."""

    baseline: Decimal
    target: Decimal
    weight: Decimal
    effective_on: date
    recorded_at: datetime
    version: int
    actor: str
    reason: str | None = None
    reason_code: ReasonCode | None = None


@dataclass(frozen=True)
class KeyResultStatus:
    """What a reader sees of a key result on a date, from what was known at the load."""

    as_of: date
    plan: Plan
    original_plan: Plan
    value: Decimal
    last_check_in: CheckIn | None
    check_in_count: int
    score: Decimal
    score_against_original_plan: Decimal
    traffic_light: TrafficLight
    expected_progress: Decimal
    pace: Pace
    stale: bool
    retired: Retirement | None


def plan_state(plan: Plan) -> dict[str, Any]:
    state = asdict(plan)
    state["reason_code"] = plan.reason_code.value if plan.reason_code else None
    return state


def plan_from_state(state: dict[str, Any]) -> Plan:
    code = state["reason_code"]
    return Plan(**{**state, "reason_code": ReasonCode(code) if code else None})


def retirement_state(retirement: Retirement) -> dict[str, Any]:
    state = asdict(retirement)
    state["reason_code"] = retirement.reason_code.value
    return state


def check_plan(direction: Direction, baseline: Decimal, target: Decimal) -> None:
    if direction is Direction.INCREASE and not target > baseline:
        raise InvalidInputError(
            "an increasing key result needs a target above its baseline", field="target"
        )
    if direction is Direction.DECREASE and not target < baseline:
        raise InvalidInputError(
            "a decreasing key result needs a target below its baseline", field="target"
        )
    if direction is Direction.MILESTONE:
        check_unit_interval(baseline, "baseline")
        check_unit_interval(target, "target")
