"""A page read ahead is used only when it is the page wanted, and only when full.

`projections.read_ahead.ReadAhead` reads a rebuild's next page of the log on PostgreSQL
while the current one is applied. A page read ahead before more events arrived must not
stand in for the page read after: the log's own reads here, with events appended between.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from uuid import uuid4

import pytest
from eventsourcing.persistence import Notification, StoredEvent

from application.ledger import GoalLedger
from projections.read_ahead import ReadAhead

LIMIT = 5


class WatchedLog:
    """The recorder's reads, each one's start noted and signalled once answered."""

    def __init__(self, ledger: GoalLedger) -> None:
        self.recorder = ledger.recorder
        self.starts: list[int | None] = []
        self.answered = threading.Semaphore(0)

    def select_notifications(
        self, start: int | None, limit: int, *, inclusive_of_start: bool = True
    ) -> Sequence[Notification]:
        self.starts.append(start)
        try:
            return self.recorder.select_notifications(
                start=start, limit=limit, inclusive_of_start=inclusive_of_start
            )
        finally:
            self.answered.release()

    def settle(self, reads: int) -> None:
        """Wait until `reads` reads have answered."""
        for _ in range(reads):
            assert self.answered.acquire(timeout=10), "a read of the log never answered"


def append(ledger: GoalLedger, count: int) -> list[int]:
    events = [StoredEvent(uuid4(), 1, "tests:Appended", b"appended") for _ in range(count)]
    return list(ledger.recorder.insert_events(events) or [])


def ids(page: Sequence[Notification]) -> list[int]:
    return [notification.id for notification in page]


@pytest.mark.postgres
def test_a_short_page_read_ahead_is_read_again_once_more_events_arrived(
    pg_ledger: GoalLedger,
) -> None:
    first = append(pg_ledger, LIMIT + 2)
    log = WatchedLog(pg_ledger)
    pages = ReadAhead(log, LIMIT)

    assert ids(pages.page(0)) == first[:LIMIT]
    log.settle(2)  # this page, and the next read ahead: the 2 events there were then
    later = append(pg_ledger, 4)

    # The page read ahead held 2 events; 6 follow now, and the page holds 5 of them.
    assert ids(pages.page(first[LIMIT - 1])) == [*first[LIMIT:], *later][:LIMIT]
    log.settle(1)
    assert log.starts[:3] == [0, first[LIMIT - 1], first[LIMIT - 1]]


@pytest.mark.postgres
def test_a_full_page_read_ahead_is_taken_without_reading_again(pg_ledger: GoalLedger) -> None:
    first = append(pg_ledger, 3 * LIMIT)
    log = WatchedLog(pg_ledger)
    pages = ReadAhead(log, LIMIT)

    assert ids(pages.page(0)) == first[:LIMIT]
    log.settle(2)
    assert ids(pages.page(first[LIMIT - 1])) == first[LIMIT : 2 * LIMIT]
    log.settle(1)  # only the page after it, read ahead in turn
    assert log.starts == [0, first[LIMIT - 1], first[2 * LIMIT - 1]]


@pytest.mark.postgres
def test_a_page_read_ahead_from_elsewhere_is_not_taken(pg_ledger: GoalLedger) -> None:
    first = append(pg_ledger, 3 * LIMIT)
    log = WatchedLog(pg_ledger)
    pages = ReadAhead(log, LIMIT)

    pages.page(0)
    log.settle(2)
    # Someone else moved the position: the page wanted starts after the third event.
    assert ids(pages.page(first[2])) == first[3 : 3 + LIMIT]
    assert log.starts[:3] == [0, first[LIMIT - 1], first[2]]


@pytest.mark.postgres
def test_switched_off_it_reads_each_page_when_asked(pg_ledger: GoalLedger) -> None:
    first = append(pg_ledger, 2 * LIMIT)
    log = WatchedLog(pg_ledger)
    pages = ReadAhead(log, LIMIT, enabled=False)

    assert ids(pages.page(0)) == first[:LIMIT]
    assert ids(pages.page(first[LIMIT - 1])) == first[LIMIT:]
    assert log.starts == [0, first[LIMIT - 1]]
