"""Goalpost's read of the log on PostgreSQL answers as the library's own does.

`storage.notifications.TupleNotifications` replaces the library's `select_notifications`
for speed; the library's test cases run against it in test_recorder_contract.py, and here
both answer the same log for every combination of arguments, notification for
notification.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date
from uuid import uuid4

import pytest
from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import get_topic

from application.ledger import GoalLedger
from application.stores import open_ledger
from domain.key_result import KeyResult
from storage.notifications import notification


@pytest.fixture
def ledger(pg_url: str) -> Iterator[GoalLedger]:
    opened = open_ledger(pg_url, create_tables=True)
    try:
        opened.open_cycle(
            actor="ceo", key="2026-Q3", starts_on=date(2026, 7, 1), ends_on=date(2026, 9, 30)
        )
        objective = opened.create_objective(
            actor="ceo", cycle_id="2026-Q3", title="Grow", owner="ceo", kind="committed"
        ).id
        for n in range(3):
            key_result = opened.create_key_result(
                actor="ceo",
                objective_id=objective,
                title=f"Key result {n}",
                owner="ceo",
                unit="%",
                direction="increase",
                baseline=0,
                target=100,
                measurement_source="warehouse",
                measurement_query=f"select {n}",
                effective_on=date(2026, 7, 1),
            ).id
            for week in range(4):
                opened.record_check_in(
                    actor="ceo",
                    key_result_id=key_result,
                    value=str(10 * week + n),
                    confidence="on_track",
                    effective_on=date(2026, 7, 6 + 7 * week),
                )
        yield opened
    finally:
        opened.close()


def test_every_read_of_the_log_answers_as_the_librarys(ledger: GoalLedger) -> None:
    recorder = ledger.recorder
    assert isinstance(recorder, PostgresApplicationRecorder)
    everything = PostgresApplicationRecorder.select_notifications(recorder, None, 1000)
    assert len(everything) > 3 * (1 + 4)
    middle = everything[len(everything) // 2].id
    check_ins = [get_topic(KeyResult.CheckInRecorded)]
    compared = 0
    for start, inclusive, stop, topics, limit in itertools.product(
        (None, 0, middle), (True, False), (None, middle + 4), ((), check_ins), (3, 1000)
    ):
        ours = recorder.select_notifications(
            start, limit, stop, topics, inclusive_of_start=inclusive
        )
        theirs = PostgresApplicationRecorder.select_notifications(
            recorder, start, limit, stop, topics, inclusive_of_start=inclusive
        )
        assert ours == theirs, (start, inclusive, stop, topics, limit)
        assert [type(n.state) for n in ours] == [bytes] * len(ours)
        compared += len(ours)
    assert compared > 0


def test_a_notification_filled_in_one_step_equals_one_constructed() -> None:
    goal = uuid4()
    made = notification(7, goal, 2, "domain.kpi:Kpi.Defined", memoryview(b"{}"))  # type: ignore[arg-type]
    assert made == Notification(
        id=7, originator_id=goal, originator_version=2, topic="domain.kpi:Kpi.Defined", state=b"{}"
    )
    assert hash(made) == hash(
        Notification(
            id=7,
            originator_id=goal,
            originator_version=2,
            topic="domain.kpi:Kpi.Defined",
            state=b"{}",
        )
    )
    with pytest.raises(AttributeError):
        made.id = 8  # type: ignore[misc]
