"""A demo store takes record times from the past; no other store does (ADR 44)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from eventsourcing.persistence import DataError

from application.demo_store import is_demo_store, mark_demo_store
from application.ledger import GoalLedger
from domain.values import story_time

pytestmark = pytest.mark.postgres

LAST_SPRING = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def _open_spring(ledger: GoalLedger, key: str = "2026-Q2") -> None:
    ledger.open_cycle(actor="ceo", key=key, starts_on=date(2026, 4, 1), ends_on=date(2026, 6, 30))


def test_a_store_that_is_not_a_demo_store_refuses_a_record_time_from_the_past(
    ledger: GoalLedger,
) -> None:
    assert not is_demo_store(ledger)
    with story_time(LAST_SPRING), pytest.raises(DataError, match="clock"):
        _open_spring(ledger)
    assert ledger.recorder.max_notification_id() in (None, 0)


def test_an_empty_store_marked_as_a_demo_store_records_its_story_as_it_happened(
    ledger: GoalLedger,
) -> None:
    assert mark_demo_store(ledger)
    assert is_demo_store(ledger)
    with story_time(LAST_SPRING):
        _open_spring(ledger)
    cycle = ledger.get_cycle("2026-Q2")
    assert cycle.created_on == LAST_SPRING
    # What was known on the last day of March is nothing; a day later, the cycle.
    with pytest.raises(Exception, match="2026-Q2"):
        ledger.get_cycle("2026-Q2", known_at=LAST_SPRING - timedelta(days=1))
    assert ledger.get_cycle("2026-Q2", known_at=LAST_SPRING + timedelta(days=1)).key == "2026-Q2"
    # Never from the future, demo or not.
    with story_time(datetime.now(UTC) + timedelta(hours=1)), pytest.raises(DataError):
        _open_spring(ledger, key="2026-Q3")


def test_a_store_with_history_cannot_become_a_demo_store(ledger: GoalLedger) -> None:
    _open_spring(ledger)
    assert not mark_demo_store(ledger)
    assert not is_demo_store(ledger)
    with story_time(LAST_SPRING), pytest.raises(DataError, match="clock"):
        _open_spring(ledger, key="2026-Q3")
