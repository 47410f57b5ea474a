"""When the demo's story happens: the quarter before today's, and today's up to today.

The demo is told relative to the day it is loaded, so the README's examples (a check-in
today, `known_at` in week 6) work on any date (ADR 44).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

FRIDAY = 4
CHECK_IN_WEEKS = 13
# The pilot cycle runs five weeks before today and ends five days after it: long enough for
# a key result to go stale, short enough that its end is always within a week.
PILOT_BEFORE = timedelta(days=35)
PILOT_AFTER = timedelta(days=5)


def month_start(day: date, months_back: int = 0) -> date:
    """The first of the month `months_back` months before `day`'s."""
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Quarter:
    key: str
    starts_on: date
    ends_on: date

    @classmethod
    def containing(cls, day: date) -> Quarter:
        number = (day.month - 1) // 3 + 1
        starts_on = date(day.year, 3 * number - 2, 1)
        ends_on = month_start(starts_on, -3) - timedelta(days=1)
        return cls(key=f"{day.year}-Q{number}", starts_on=starts_on, ends_on=ends_on)

    def before(self) -> Quarter:
        return Quarter.containing(self.starts_on - timedelta(days=1))

    @property
    def fridays(self) -> tuple[date, ...]:
        """The quarter's check-in days: its first thirteen Fridays, all inside it."""
        first = self.starts_on + timedelta(days=(FRIDAY - self.starts_on.weekday()) % 7)
        return tuple(first + timedelta(weeks=n) for n in range(CHECK_IN_WEEKS))

    def week(self, number: int) -> date:
        return self.fridays[number - 1]

    @property
    def month_ends(self) -> tuple[date, date, date]:
        ends = tuple(month_start(self.starts_on, -n) - timedelta(days=1) for n in (1, 2, 3))
        return ends[0], ends[1], ends[2]


@dataclass(frozen=True)
class DemoCalendar:
    today: date
    previous: Quarter
    current: Quarter
    pilot_starts_on: date
    pilot_ends_on: date

    @classmethod
    def of(cls, today: date) -> DemoCalendar:
        current = Quarter.containing(today)
        return cls(
            today=today,
            previous=current.before(),
            current=current,
            pilot_starts_on=today - PILOT_BEFORE,
            pilot_ends_on=today + PILOT_AFTER,
        )

    @property
    def pilot_key(self) -> str:
        return f"pilot-{self.pilot_starts_on.isoformat()}"

    def fridays_so_far(self) -> tuple[date, ...]:
        return tuple(day for day in self.current.fridays if day <= self.today)

    def month_ends_so_far(self) -> tuple[date, ...]:
        """The current quarter's month ends whose readings are in by today."""
        return tuple(day for day in self.current.month_ends if day < self.today)


def moment(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)
