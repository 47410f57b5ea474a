"""Whether a creation took its plan past the size guidance (ADR 35), for the audit trail's
`plan_oversized` flag: judged on the goals as they stood at the creation's position."""

from __future__ import annotations

from typing import Protocol, TypeVar
from uuid import UUID

from domain.base import LedgerAggregate
from domain.cycle import Cycle
from domain.key_result import KeyResult
from domain.objective import Objective
from domain.plan_size import key_results_warnings, objectives_warnings

G = TypeVar("G", bound=LedgerAggregate)


class GoalsAt(Protocol):
    """Goals as they stood at the event being projected."""

    def goal(self, cls: type[G], goal_id: UUID) -> G | None: ...


def oversized(goals: GoalsAt, created: LedgerAggregate) -> bool:
    """A creation is projected before the event that lists it on its cycle or objective
    (the goal created is saved first), so the others are counted, plus the new one."""
    match created:
        case Objective():
            cycle = goals.goal(Cycle, Cycle.create_id(created.cycle_id))
            if cycle is None:
                return False
            live = 1 + sum(
                other is not None
                and other.id != created.id
                and other.owner == created.owner
                and not other.is_retired
                for other in (goals.goal(Objective, i) for i in cycle.objective_ids)
            )
            return bool(objectives_warnings(created.owner, live))
        case KeyResult():
            objective = goals.goal(Objective, created.objective_id)
            if objective is None:
                return False
            live = 1 + sum(
                other is not None and other.id != created.id and not other.is_retired
                for other in (goals.goal(KeyResult, i) for i in objective.key_result_ids)
            )
            return bool(key_results_warnings(live, written=True))
    return False
