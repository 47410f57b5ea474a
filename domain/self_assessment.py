"""Self-assessment: an owner's own grade (0 to 1) and reflection on a key result or objective.

It sits beside the computed score and never changes it (ADR 34). It is not a change of
plan, so a closed cycle accepts it, within a window: from two weeks before the cycle's
last day until a number of days after its close. A retired goal may be assessed too:
its owner still reflects on it. A later assessment supersedes an earlier one; both stay
in the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from domain.base import LedgerAggregate
from domain.cycle import Cycle
from domain.errors import ConflictError
from domain.values import MAX_NOTE, check_decimal, check_text, check_unit_interval, utc_now

# The window opens this long before the cycle's last day.
OPENS_BEFORE_END = timedelta(days=14)
# And closes this long after the cycle's close, unless configured otherwise.
DEFAULT_DAYS_AFTER_CLOSE = 14


@dataclass(frozen=True)
class SelfAssessment:
    grade: Decimal
    reflection: str
    actor: str
    recorded_at: datetime
    version: int


class SelfAssessedEvent(LedgerAggregate.Event):
    """Base of each aggregate's own SelfAssessed event."""

    grade: Decimal
    reflection: str

    def apply(self, aggregate: Any) -> None:
        # Kept as plain values, so a key result's snapshot holds them as they are.
        row = {
            "grade": self.grade,
            "reflection": self.reflection,
            "actor": self.actor,
            "recorded_at": self.timestamp,
            "version": self.originator_version,
        }
        aggregate.self_assessments = [*getattr(aggregate, "self_assessments", []), row]


def self_assessments(goal: LedgerAggregate) -> list[SelfAssessment]:
    """Every assessment of the goal as loaded, in the order recorded."""
    rows: list[dict[str, Any]] = getattr(goal, "self_assessments", [])
    return [SelfAssessment(**row) for row in rows]


def latest_self_assessment(goal: LedgerAggregate) -> SelfAssessment | None:
    """The assessment in force on the goal as loaded (as known at the load's time)."""
    found = self_assessments(goal)
    return found[-1] if found else None


def window(cycle: Cycle, days_after_close: int) -> tuple[date, datetime | None]:
    """When the window opens (a day) and closes (None: the cycle is not closed yet)."""
    opens = cycle.ends_on - OPENS_BEFORE_END
    closes = cycle.closed_at + timedelta(days=days_after_close) if cycle.closed_at else None
    return opens, closes


def self_assess(
    goal: LedgerAggregate,
    event_class: type[SelfAssessedEvent],
    *,
    actor: str,
    cycle: Cycle,
    grade: Decimal | int | str,
    reflection: str,
    days_after_close: int,
) -> None:
    """Check the input, then the window, and record the assessment on the goal."""
    checked = check_unit_interval(check_decimal(grade, "grade"), "grade")
    text = check_text(reflection, "reflection", max_len=MAX_NOTE, multiline=True)
    opens, closes = window(cycle, days_after_close)
    now = utc_now()
    if now.date() < opens:
        raise ConflictError(
            f"self-assessment of cycle {cycle.key} opens on {opens}, two weeks before its last day"
        )
    if closes is not None and now > closes:
        raise ConflictError(
            f"self-assessment of cycle {cycle.key} closed at {closes.isoformat()}, "
            f"{days_after_close} days after the cycle's close"
        )
    goal.trigger_event(event_class, actor=actor, grade=checked, reflection=text)
