"""Signals on both stores: each kind recorded once per occurrence, by one worker or two,
and after a SIGKILL of the `goalpost signals run` process the same set a fresh run finds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import UUID

from eventsourcing.utils import get_topic

from application.ledger import GoalLedger
from application.stores import open_ledger
from domain.signal import SIGNAL_KINDS, Signal
from domain.values import utc_today
from processes.signals import BackgroundSignals, SignalProcess
from projections.registry import worker_for

REPO = Path(__file__).resolve().parents[2]


def clock_at(day: date) -> Callable[[], datetime]:
    return lambda: datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def signal_events(ledger: GoalLedger) -> list[tuple[str, UUID]]:
    """Every recorded signal: its kind and id, in log order."""
    topics = [get_topic(kind) for kind in SIGNAL_KINDS]
    stored = ledger.recorder.select_notifications(start=1, limit=100_000, topics=topics)
    return [(n.topic.rsplit(".", 1)[-1], UUID(str(n.originator_id))) for n in stored]


def caught_up(ledger: GoalLedger) -> None:
    worker = worker_for(ledger)
    worker.create_tables()
    worker.run_until_caught_up()


@dataclass
class Story:
    key_result: UUID
    fresh_key_result: UUID
    overdue_kpi: UUID
    candidate_kpi: UUID


def quarter(ledger: GoalLedger, starts_on: date, ends_on: date, key: str = "Q") -> Story:
    """A cycle with one key result left alone since its start and one checked in on
    recently, a weekly KPI last read long ago, a KPI out of range twice running."""
    ledger.open_cycle(actor="ceo", key=key, starts_on=starts_on, ends_on=ends_on)
    objective = ledger.create_objective(
        actor="ceo", cycle_id=key, title="Keep customers", owner="head-of-cs", kind="committed"
    ).id

    def key_result(title: str) -> UUID:
        return ledger.create_key_result(
            actor="head-of-cs",
            objective_id=objective,
            title=title,
            owner="head-of-cs",
            unit="%",
            direction="increase",
            baseline=0,
            target=10,
            measurement_source="crm",
            measurement_query="renewals",
            effective_on=starts_on,
        ).id

    left_alone, fresh = key_result("Renewals"), key_result("Expansion")
    ledger.record_check_in(
        actor="head-of-cs",
        key_result_id=fresh,
        value=3,
        confidence="on_track",
        effective_on=min(utc_today(), ends_on),
    )

    def kpi(name: str) -> UUID:
        return ledger.define_kpi(
            actor="head-of-cs",
            area="Retention",
            name=name,
            owner="head-of-cs",
            unit="%",
            formula="churned / customers",
            data_source="billing",
            cadence="weekly",
            direction="stay_below",
            target=2,
            target_set_on=starts_on,
        ).id

    overdue, candidate = kpi("Logo churn"), kpi("Revenue churn")
    ledger.record_kpi_reading(actor="head-of-cs", kpi_id=overdue, value=1, effective_on=starts_on)
    for value in (1, 3, 4):
        ledger.record_kpi_reading(
            actor="head-of-cs", kpi_id=candidate, value=value, effective_on=utc_today()
        )
    return Story(left_alone, fresh, overdue, candidate)


def test_each_kind_is_recorded_once_and_a_rerun_records_nothing(ledger: GoalLedger) -> None:
    today = utc_today()
    # A quarter 60 days in, ending in 5 days: everything is due.
    story = quarter(ledger, today - timedelta(days=60), today + timedelta(days=5))
    caught_up(ledger)
    process = SignalProcess(ledger)

    # The first tick records one signal of each kind.
    first = process.run_once()
    recorded = signal_events(ledger)
    assert sorted(kind for kind, _ in recorded) == sorted(
        [
            "CycleEndsInSevenDays",
            "KeyResultBecameStale",
            "KpiBecameOkrCandidate",
            # The KPI last read 60 days ago; the candidate, read today, is not due.
            "KpiReadingOverdue",
        ]
    )
    assert len(first.recorded) == 4
    stale: object = ledger.repository.get(
        next(i for kind, i in recorded if kind == "KeyResultBecameStale")
    )
    assert isinstance(stale, Signal) and stale.key_result_id == story.key_result
    overdue: object = ledger.repository.get(
        next(i for kind, i in recorded if kind == "KpiReadingOverdue")
    )
    assert isinstance(overdue, Signal) and overdue.kpi_id == story.overdue_kpi

    # The same day again, by this worker or a new one: nothing new.
    assert process.run_once().recorded == []
    again = SignalProcess(ledger).run_once()
    assert again.recorded == [] and again.already_recorded == 4
    assert signal_events(ledger) == recorded
    # A fresh evaluation finds exactly what is stored.
    assert sorted(s.id for s in process.due()) == sorted(i for _, i in recorded)


def test_occurrences_follow_the_goals(ledger: GoalLedger) -> None:
    today = utc_today()
    story = quarter(ledger, today - timedelta(days=60), today + timedelta(days=60))
    caught_up(ledger)
    SignalProcess(ledger).run_once()
    kinds = [kind for kind, _ in signal_events(ledger)]
    # The cycle ends in 60 days: no "ends in 7 days" yet.
    assert sorted(kinds) == ["KeyResultBecameStale", "KpiBecameOkrCandidate", "KpiReadingOverdue"]

    # A check-in on the stale key result; the other, checked in on today, is retired.
    ledger.record_check_in(
        actor="head-of-cs", key_result_id=story.key_result, value=2, confidence="at_risk"
    )
    ledger.retire_key_result(
        actor="head-of-cs",
        key_result_id=story.fresh_key_result,
        reason="folded into renewals",
        reason_code="priorities_changed",
    )
    caught_up(ledger)
    assert SignalProcess(ledger).run_once().recorded == []
    # 21 days later the key result is stale again: a second occurrence; the retired one
    # never goes stale, and the KPI read long ago is still overdue for the same due date.
    later = SignalProcess(ledger, clock=clock_at(today + timedelta(days=21))).run_once()
    assert [s.key_result_id for s in later.recorded if s.key_result_id] == [story.key_result]
    assert all(s.kpi_id != story.overdue_kpi for s in later.recorded)
    stale = [i for kind, i in signal_events(ledger) if kind == "KeyResultBecameStale"]
    assert len(stale) == 2

    # A closed cycle's key results never signal, however long left alone, nor its end.
    quarter(ledger, today - timedelta(days=80), today + timedelta(days=2), key="Closed")
    ledger.close_cycle(actor="ceo", key="Closed")
    caught_up(ledger)
    closed = SignalProcess(ledger).run_once().recorded
    assert [s.cycle_id for s in closed if s.cycle_id is not None] == []
    assert len(closed) == 2  # its KPIs: one overdue, one a candidate


def test_a_read_model_behind_the_log_never_makes_a_wrong_signal(ledger: GoalLedger) -> None:
    today = utc_today()
    story = quarter(ledger, today - timedelta(days=60), today + timedelta(days=60))
    caught_up(ledger)
    # A check-in the scores have not seen yet: their row still says "stale since day 21".
    ledger.record_check_in(
        actor="head-of-cs", key_result_id=story.key_result, value=2, confidence="at_risk"
    )
    recorded = SignalProcess(ledger).run_once().recorded
    # Decided on the key result itself: not stale, no signal.
    assert [s.key_result_id for s in recorded if s.key_result_id] == []
    assert all(s.key_result_id is None for s in SignalProcess(ledger).due())


def test_two_workers_at_once_record_each_occurrence_once(store_url: str) -> None:
    today = utc_today()
    setup = open_ledger(store_url, create_tables=True)
    try:
        for n in range(12):
            quarter(setup, today - timedelta(days=60), today + timedelta(days=3), key=f"Q{n}")
        caught_up(setup)
        expected = sorted(s.id for s in SignalProcess(setup).due())
    finally:
        setup.close()

    ledgers = [open_ledger(store_url) for _ in range(2)]
    ticks: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def work(ledger: GoalLedger) -> None:
        try:
            start.wait()
            ticks.append(len(SignalProcess(ledger).run_once().recorded))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(ledger,)) for ledger in ledgers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        stored = sorted(i for _, i in signal_events(ledgers[0]))
        # 12 cycles x 4 kinds, each stored once, and together the workers say so.
        assert len(expected) == 48
        assert stored == expected
        assert sum(ticks) == 48
    finally:
        for ledger in ledgers:
            ledger.close()


def test_a_killed_worker_restarted_ends_with_what_a_fresh_run_finds(store_url: str) -> None:
    today = utc_today()
    setup = open_ledger(store_url, create_tables=True)
    try:
        for n in range(40):
            quarter(setup, today - timedelta(days=60), today + timedelta(days=3), key=f"Q{n}")
        caught_up(setup)
    finally:
        setup.close()
    env = {**os.environ, "GOALPOST_DATABASE_URL": store_url}
    command = [sys.executable, "-c", "from cli.main import app; app()", "signals", "run", "--once"]

    # Killed with SIGKILL as soon as it has recorded something, then killed again.
    ledger = open_ledger(store_url)
    try:
        for _ in range(2):
            before = len(signal_events(ledger))
            process = subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.PIPE)
            deadline = time.monotonic() + 60
            while len(signal_events(ledger)) == before and process.poll() is None:
                assert time.monotonic() < deadline, "the worker recorded nothing"
                time.sleep(0.05)
            process.send_signal(signal.SIGKILL)
            process.wait()
        partial = len(signal_events(ledger))
        # Restarted, it finishes: the set a fresh run finds, each once.
        finished = subprocess.run(
            command, check=False, cwd=REPO, env=env, capture_output=True, text=True
        )
        assert finished.returncode == 0, finished.stderr
        stored = [i for _, i in signal_events(ledger)]
        assert len(stored) == len(set(stored)) == 160
        assert sorted(stored) == sorted(s.id for s in SignalProcess(ledger).due())
        # Killed part way: some recorded, not all.
        assert 0 < partial < 160
    finally:
        ledger.close()


def test_the_embedded_stores_serve_records_signals_on_a_thread(ledger: GoalLedger) -> None:
    # What `goalpost serve` runs beside the API on SQLite: a tick as it starts, then on
    # its interval; read models kept by the worker `serve` runs too.
    today = utc_today()
    quarter(ledger, today - timedelta(days=40), today + timedelta(days=3))
    caught_up(ledger)
    background = BackgroundSignals(ledger, interval=0.2)
    background.start()
    try:
        deadline = time.monotonic() + 20
        while len({kind for kind, _ in signal_events(ledger)}) < len(SIGNAL_KINDS):
            assert time.monotonic() < deadline, signal_events(ledger)
            time.sleep(0.1)
    finally:
        background.stop()
    # Stopped, it records nothing more; a fresh process finds nothing new to record.
    recorded = signal_events(ledger)
    assert len(recorded) == len(set(recorded))
    assert SignalProcess(ledger).run_once().recorded == []
