"""Which of a key result's plans is in force on a day: one rule for the aggregate and
for every reader that rebuilds the plans from the log (the appraisal evidence)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol, TypeVar


class DatedPlan(Protocol):
    """A plan as any reader keeps it: the day it takes effect and the goal's version."""

    @property
    def effective_on(self) -> date: ...

    @property
    def version(self) -> int: ...


P = TypeVar("P", bound=DatedPlan)


def plan_in_force(plans: Sequence[P], day: date) -> P:
    """Of the plans effective by the day the latest, the later change winning a tie;
    before the first plan took effect, the original (`plans[0]`)."""
    in_force = [p for p in plans if p.effective_on <= day]
    if not in_force:
        return plans[0]
    return max(in_force, key=lambda p: (p.effective_on, p.version))
