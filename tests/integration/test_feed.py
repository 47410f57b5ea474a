"""The event feed under concurrent writers: nothing skipped, nothing out of order."""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta

import pytest

from application.ledger import GoalLedger
from application.stores import open_ledger
from cli.demo import load_demo
from delivery.cloud_events import GOAL_TOPICS, TOPICS_BY_TYPE, parse_cloud_event
from delivery.feed import read_page
from tests.demo_day import DEMO_DAY

Q3_START = date(2026, 7, 1)
WRITERS = 4
CHECK_INS_EACH = 60


def _key_result(ledger: GoalLedger, objective_id: object, n: int) -> object:
    return ledger.create_key_result(
        actor="ops",
        objective_id=objective_id,  # type: ignore[arg-type]
        title=f"KR {n}",
        owner="ops",
        unit="",
        direction="increase",
        baseline="0",
        target="100",
        measurement_source="s",
        measurement_query="q",
        effective_on=Q3_START,
    ).id


@pytest.mark.postgres
def test_a_consumer_reading_while_writers_write_sees_every_event_once_in_order(
    pg_url: str,
) -> None:
    # A quarter with one key result per writer; the writers are separate ledgers
    # (separate pools), as several API processes would be.
    setup = open_ledger(pg_url, create_tables=True)
    setup.open_cycle(actor="ops", key="2026-Q3", starts_on=Q3_START, ends_on=date(2026, 9, 30))
    objective = setup.create_objective(
        actor="ops", cycle_id="2026-Q3", title="Feed", owner="ops", kind="committed"
    ).id
    key_results = [_key_result(setup, objective, n) for n in range(WRITERS)]
    writers = [open_ledger(pg_url) for _ in range(WRITERS)]
    reader = open_ledger(pg_url)
    done = threading.Event()

    def write(ledger: GoalLedger, key_result: object) -> None:
        for n in range(CHECK_INS_EACH):
            ledger.record_check_in(
                actor="ops",
                key_result_id=key_result,  # type: ignore[arg-type]
                value=str(n),
                confidence="on_track",
                effective_on=Q3_START + timedelta(days=n % 90),
            )

    threads = [
        threading.Thread(target=write, args=(w, kr))
        for w, kr in zip(writers, key_results, strict=True)
    ]
    try:
        # The consumer pages from its cursor, small pages, while the writers write.
        for thread in threads:
            thread.start()
        seen: list[int] = []
        cursor = 0
        while True:
            finished = done.is_set()
            page = read_page(reader, cursor, 7, GOAL_TOPICS)
            seen.extend(e["position"] for e in page.events)
            assert page.next_after >= cursor
            cursor = page.next_after
            if finished and not page.events:
                break
            if not any(t.is_alive() for t in threads):
                done.set()

        # It saw every goal event exactly once, in strictly increasing positions.
        everything = [n.id for n in reader.recorder.select_notifications(1, 100_000)]
        goal_events = [
            n.id for n in reader.recorder.select_notifications(1, 100_000, topics=GOAL_TOPICS)
        ]
        assert seen == sorted(seen)
        assert len(seen) == len(set(seen))
        assert seen == goal_events
        assert len(seen) >= WRITERS * CHECK_INS_EACH
        assert len(everything) >= len(goal_events)
    finally:
        for thread in threads:
            thread.join()
        for ledger in (setup, reader, *writers):
            ledger.close()


def test_a_type_filter_serves_only_that_type_and_moves_the_cursor_past_the_rest(
    ledger: GoalLedger,
) -> None:
    # A cycle and an objective: three events, none of them check-ins.
    ledger.open_cycle(actor="ops", key="2026-Q3", starts_on=Q3_START, ends_on=date(2026, 9, 30))
    ledger.create_objective(
        actor="ops", cycle_id="2026-Q3", title="Feed", owner="ops", kind="committed"
    )
    check_ins = [TOPICS_BY_TYPE["goalpost.key_result.check_in_recorded.v1"]]

    # Asking only for check-ins finds none, and the cursor moves to the head, so the
    # consumer does not scan those events again.
    page = read_page(ledger, 0, 10, check_ins)
    assert page.events == []
    assert page.next_after == page.head == ledger.recorder.max_notification_id()

    # Unfiltered, the same positions come as CloudEvents with their types.
    everything = read_page(ledger, 0, 10, GOAL_TOPICS)
    assert [e["type"] for e in everything.events] == [
        "goalpost.cycle.opened.v1",
        "goalpost.objective.created.v1",
        "goalpost.cycle.objective_added.v1",
    ]
    assert all(e["specversion"] == "1.0" and e["source"] == "/goalpost" for e in everything.events)


def test_every_kind_of_goal_event_is_a_cloud_event_the_library_reads(
    ledger: GoalLedger,
) -> None:
    # The demo quarter has every kind of goal event: plans, check-ins, a correction,
    # a re-baseline, a retirement, KPIs with readings and a target change.
    load_demo(ledger, today=DEMO_DAY)
    page = read_page(ledger, 0, 1000, GOAL_TOPICS)
    assert len({e["type"] for e in page.events}) >= 12

    # The CloudEvents library reads each one back with the same attributes and data.
    for document in page.events:
        event = parse_cloud_event(json.dumps(document).encode())
        assert event.get_id() == document["id"]
        assert event.get_type() == document["type"]
        assert event.get_source() == "/goalpost"
        assert event.get_extension("position") == document["position"]
        assert event.get_data() == document["data"]
