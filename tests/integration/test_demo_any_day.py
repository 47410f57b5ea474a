"""The demo tells the same story on any day: at a quarter's first and last day, a year's
turn, a Friday, and the fixed day the other tests use."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from application.stores import open_ledger
from cli.demo import load_demo
from cli.demo_calendar import DemoCalendar
from projections.change_report import change_report
from projections.registry import worker_for
from storage.views import ViewDatabase
from tests.demo_day import DEMO_DAY

DAYS = [
    date(2026, 1, 1),  # the first day of a year: the previous quarter is last year's
    date(2026, 3, 31),  # a quarter's last day
    date(2026, 4, 3),  # a Friday in a quarter's first week
    date(2026, 8, 19),  # mid-quarter
    DEMO_DAY,
]


@pytest.mark.parametrize("today", DAYS, ids=[d.isoformat() for d in DAYS])
def test_the_demo_loads_on_any_day_and_its_closed_quarter_holds_no_backdated_change(
    sqlite_url: str, today: date
) -> None:
    ledger = open_ledger(sqlite_url, create_tables=True)
    try:
        summary = load_demo(ledger, today=today)
        calendar = DemoCalendar.of(today)
        assert (summary.previous_cycle, summary.current_cycle) == (
            calendar.previous.key,
            calendar.current.key,
        )
        assert ledger.get_cycle(calendar.previous.key).closed_at is not None
        assert ledger.get_cycle(calendar.current.key).closed_at is None
        # Nothing in the story was recorded after its last day.
        end_of_day = datetime.combine(today, time(23, 59), tzinfo=UTC)
        assert ledger.get_cycle(calendar.pilot_key).modified_on <= end_of_day
        worker = worker_for(ledger)
        worker.create_tables()
        worker.run_until_caught_up()
        report = change_report(ViewDatabase(ledger), calendar.previous.key)
        assert report and not [row for row in report if "backdated" in row.flags]
        # The README's example: a check-in on the day, in the quarter in progress.
        churn = ledger.get_cycle(calendar.current.key).objective_ids[0]
        key_result = ledger.get_objective(churn).key_result_ids[0]
        saved = ledger.record_check_in(
            actor="head-of-cs",
            key_result_id=key_result,
            value="2.1",
            confidence="at_risk",
            note="two renewals slipped",
            effective_on=today,
        )
        assert saved.check_in_id is not None
    finally:
        ledger.close()
