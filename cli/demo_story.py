"""The demo's story: steps at the moments they would have happened live, told in order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from application.ledger import GoalLedger
from cli.demo_calendar import moment
from domain.values import story_time
from processes.kpi_check_ins import KpiCheckInProcess

# What a step does; what it returns (a command's `Saved`) is not needed.
Action = Callable[[], object]


@dataclass
class Story:
    """Steps at their moments; told in time order, each under its own clock."""

    ledger: GoalLedger
    # The story's last day: nothing is told after it.
    today: date
    # Turns readings into check-ins of the key results they measure, right after each
    # reading, so those check-ins carry the reading's moment as a live process's would.
    kpi_process: KpiCheckInProcess
    steps: list[tuple[datetime, int, Action]] = field(default_factory=list)
    ids: dict[str, UUID] = field(default_factory=dict)
    check_in_ids: dict[tuple[str, int], UUID] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: {"check_ins": 0, "readings": 0})

    def at(self, when: datetime, action: Action) -> None:
        self.steps.append((when, len(self.steps), action))

    def tell(self) -> None:
        # A step due after the story's last day happens at its end, and one due later than
        # now happens now: a record time is never in the future.
        until = min(moment(self.today, 23, 59), datetime.now(UTC) - timedelta(seconds=1))
        for when, _, action in sorted(self.steps, key=lambda step: step[:2]):
            with story_time(min(when, until)):
                action()
