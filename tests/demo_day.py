"""The day the tests load the demo as of: fixed, so its story is the same on every run."""

from __future__ import annotations

from datetime import date

from cli.demo_calendar import DemoCalendar

DEMO_DAY = date(2026, 11, 30)
DEMO = DemoCalendar.of(DEMO_DAY)
# The demo's closed quarter, as the tests read it.
CYCLE = DEMO.previous.key
STARTS_ON = DEMO.previous.starts_on
ENDS_ON = DEMO.previous.ends_on
WEEKS = DEMO.previous.fridays
