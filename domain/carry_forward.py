"""Carrying a key result forward: unfinished work goes on in a later cycle (ADR 37).

One command changes up to four goals: the key result is closed as carried forward
(`KeyResult.CarriedForward`, naming its successor), the successor is created in the
later cycle with `carried_from`, and, when no objective there carries on the old one,
that objective is created too (`Objective.CarriedFrom`), added to its cycle. The caller
saves them in one transaction.

The old cycle may be open or closed: carrying forward from a closed cycle is the normal
case, and the carry changes none of its grades. The old key result takes the event on
the day reads of its cycle are as of (today, or the cycle's last day once it is over),
never later than that last day, and it counts in its objective's score at its final
score, as a graduated one does (domain.reports.counts); it takes no more events after,
so its score on every later day is the one it had then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.cycle import Cycle
from domain.errors import InvalidInputError
from domain.key_result import KeyResult
from domain.objective import Objective
from domain.values import ReasonCode, check_decimal, check_reason


@dataclass(frozen=True)
class Carried:
    """What a carry made: the successor, and the objective created for it, if one was."""

    key_result: KeyResult
    objective: Objective
    objective_created: bool


def carried_objective(candidates: list[Objective], old: Objective) -> Objective | None:
    """The live objective of the later cycle that carries on `old`, if there is one."""
    for objective in candidates:
        if objective.carried_from == old.id and not objective.is_retired:
            return objective
    return None


def check_later_cycle(old: Cycle, new: Cycle, today: date) -> None:
    """The cycle a key result is carried into: a later one, open, already begun."""
    if new.starts_on <= old.starts_on:
        raise InvalidInputError(
            f"cycle {new.key} must start after cycle {old.key} ({old.starts_on})",
            field="cycle_id",
        )
    new.check_open()
    if today < new.starts_on:
        raise InvalidInputError(
            f"cycle {new.key} starts on {new.starts_on}; key results are carried into it "
            "from its first day",
            field="cycle_id",
        )


def carry_forward(
    key_result: KeyResult,
    *,
    actor: str,
    old_cycle: Cycle,
    old_objective: Objective,
    new_cycle: Cycle,
    objective: Objective | None,
    reason: str,
    today: date,
    baseline: Decimal | int | str | None = None,
    target: Decimal | int | str | None = None,
) -> Carried:
    """Close the key result as carried forward and create its successor in `new_cycle`,
    under `objective` (one of that cycle's), else under a new objective carrying on
    `old_objective`. Every goal changed holds pending events.

    The successor starts from the key result's last value unless a `baseline` is given,
    aims at its current target unless a `target` is given, and keeps its title, owner,
    unit, direction, weight, measurement and KPI, if a KPI measures it."""
    key_result.check_not_retired()
    check_later_cycle(old_cycle, new_cycle, today)
    why = check_reason(reason, ReasonCode.CARRIED_FORWARD)
    if objective is not None and objective.cycle_id != new_cycle.key:
        raise InvalidInputError(
            f"objective {objective.id} is in cycle {objective.cycle_id}, not {new_cycle.key}",
            field="objective_id",
        )
    # The day reads of the old cycle are as of: today, or its last day once it is over.
    closed_on = min(today, old_cycle.ends_on)
    last = key_result.status(old_cycle, closed_on)
    plan = key_result.current_plan
    start = check_decimal(baseline, "baseline") if baseline is not None else last.value
    goal = check_decimal(target, "target") if target is not None else plan.target
    created = objective is None
    if objective is None:
        objective = Objective.create(
            actor=actor,
            cycle=new_cycle,
            title=old_objective.title,
            owner=old_objective.owner,
            kind=old_objective.kind,
        )
        objective.trigger_event(Objective.CarriedFrom, actor=actor, objective_id=old_objective.id)
    successor = KeyResult.create(
        actor=actor,
        objective=objective,
        cycle=new_cycle,
        title=key_result.title,
        owner=key_result.owner,
        unit=key_result.unit,
        direction=key_result.direction,
        baseline=start,
        target=goal,
        weight=plan.weight,
        measurement_source=key_result.measurement["source"],
        measurement_query=key_result.measurement["query"],
        effective_on=min(today, new_cycle.ends_on),
        carried_from=key_result.id,
        kpi_id=key_result.kpi_id,
    )
    key_result.trigger_event(
        KeyResult.CarriedForward,
        actor=actor,
        reason=why.text,
        reason_code=why.code.value,
        effective_on=closed_on,
        to_key_result_id=successor.id,
        to_cycle_id=new_cycle.key,
    )
    return Carried(successor, objective, created)
