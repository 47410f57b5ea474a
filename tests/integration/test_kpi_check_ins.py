"""The KPI process on both stores (ADR 38): each new reading of a KPI inside a measured key
result's cycle becomes one check-in on it, a correction of the reading corrects it, and
nothing is stored twice, however often the process runs, however many run at once, and
wherever one is killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID

from typer.testing import CliRunner

from application.ledger import GoalLedger
from application.stores import open_ledger
from cli.main import app
from domain.key_result import KeyResult
from domain.kpi_measured import PROCESS_ACTOR, reading_check_in_id
from domain.values import utc_today
from processes.kpi_check_ins import BackgroundKpiProcess, KpiCheckInProcess, measured_by
from projections.evidence import EvidenceView
from projections.registry import worker_for
from storage.views import ViewDatabase

REPO = Path(__file__).resolve().parents[2]
TODAY = utc_today()
# A cycle around today, so readings of recent days fall inside it.
STARTS = TODAY - timedelta(days=60)
ENDS = TODAY + timedelta(days=30)


@dataclass(frozen=True)
class Story:
    kpi_id: UUID
    objective_id: UUID


def setting(ledger: GoalLedger, *, cycle: str = "KPI-Q") -> Story:
    """A cycle around today, an objective in it, and a KPI with one reading (the baseline)."""
    ledger.open_cycle(actor="admin", key=cycle, starts_on=STARTS, ends_on=ENDS)
    objective = ledger.create_objective(
        actor="cs-lead", cycle_id=cycle, title="Keep customers", owner="cs-team", kind="committed"
    )
    kpi = ledger.define_kpi(
        actor="cs-lead",
        area="Retention",
        name="Net revenue retention",
        owner="cs-team",
        unit="%",
        formula="(start MRR + expansion - churn) / start MRR",
        data_source="billing",
        cadence="weekly",
        direction="stay_above",
        target="100",
        target_set_on=STARTS,
    )
    ledger.record_kpi_reading(
        actor="cs-lead", kpi_id=kpi.id, value="95", effective_on=STARTS + timedelta(days=1)
    )
    return Story(kpi.id, objective.id)


def measured(ledger: GoalLedger, story: Story, *, target: str = "105") -> UUID:
    return ledger.add_kpi_key_result(
        actor="cs-lead",
        kpi_id=story.kpi_id,
        objective_id=story.objective_id,
        title="NRR to 105%",
        target=target,
    ).id


def read(ledger: GoalLedger, kpi_id: UUID, value: str, day: date, note: str = "") -> UUID:
    saved = ledger.record_kpi_reading(
        actor="cs-lead", kpi_id=kpi_id, value=value, effective_on=day, note=note
    )
    assert saved.check_in_id is not None
    return saved.check_in_id


def check_ins(ledger: GoalLedger, key_result_id: UUID) -> dict[UUID, Decimal]:
    key_result = ledger.get_key_result(key_result_id)
    return {c.id: c.value for c in key_result.check_ins}


def process(ledger: GoalLedger, **kwargs: int) -> KpiCheckInProcess:
    runner = KpiCheckInProcess(ledger, **kwargs)
    runner.create_tables()
    return runner


def event_count(ledger: GoalLedger) -> int:
    return int(ledger.recorder.max_notification_id() or 0)


def test_readings_become_check_ins_once_and_corrections_correct_them(ledger: GoalLedger) -> None:
    # A KPI with a reading; a key result measured by it starts from that reading.
    story = setting(ledger)
    key_result_id = measured(ledger, story)
    key_result = ledger.get_key_result(key_result_id)
    assert key_result.kpi_id == story.kpi_id
    assert key_result.current_plan.baseline == Decimal("95")
    assert key_result.unit == "%" and key_result.direction.value == "increase"
    assert key_result.measurement == {
        "source": "billing",
        "query": ledger.get_kpi(story.kpi_id).formula,
    }
    # Two new readings inside the cycle, one before it began: two check-ins.
    first = read(ledger, story.kpi_id, "97", TODAY - timedelta(days=14), "after the price change")
    second = read(ledger, story.kpi_id, "99", TODAY - timedelta(days=7))
    read(ledger, story.kpi_id, "90", STARTS - timedelta(days=3))
    runner = process(ledger)
    runner.run_until_caught_up()
    assert runner.position() == event_count(ledger)
    assert check_ins(ledger, key_result_id) == {
        reading_check_in_id(key_result_id, first): Decimal("97"),
        reading_check_in_id(key_result_id, second): Decimal("99"),
    }
    # Each cites its reading, on the reading's day, by the process's actor.
    check_in = ledger.get_key_result(key_result_id).check_ins[
        reading_check_in_id(key_result_id, first)
    ]
    assert check_in.effective_on == TODAY - timedelta(days=14)
    assert check_in.actor == PROCESS_ACTOR
    assert check_in.note == "KPI reading of Net revenue retention: after the price change"
    events = [
        e for e in ledger.events.get(key_result_id) if isinstance(e, KeyResult.CheckInFromReading)
    ]
    assert [(e.kpi_id, e.reading_id) for e in events] == [
        (story.kpi_id, first),
        (story.kpi_id, second),
    ]
    assert measured_by(runner.database, story.kpi_id) == [key_result_id]

    # The first reading is corrected twice: so is its check-in, citing each correction.
    ledger.correct_kpi_reading(
        actor="cs-lead", kpi_id=story.kpi_id, reading_id=first, value="96", reason="late refund"
    )
    ledger.correct_kpi_reading(
        actor="cs-lead", kpi_id=story.kpi_id, reading_id=first, value="96.5", reason="FX rate"
    )
    runner.run_until_caught_up()
    corrected = ledger.get_key_result(key_result_id).check_ins[
        reading_check_in_id(key_result_id, first)
    ]
    assert corrected.value == Decimal("96.5")
    assert [c.reason for c in corrected.corrections] == ["late refund", "FX rate"]
    version = ledger.get_key_result(key_result_id).version

    # Run again from the start of the log, as a process with a lost position would: nothing new.
    again = process(ledger)
    again.tracking_name += "#again"
    again.run_until_caught_up()
    assert ledger.get_key_result(key_result_id).version == version
    # Two check-ins and two corrections already there; the reading before the cycle feeds none.
    assert dict(again.tally.outcomes) == {"already": 4, "not_fed": 1}


def test_a_key_result_takes_no_reading_after_it_retires_or_its_cycle_closes(
    ledger: GoalLedger,
) -> None:
    story = setting(ledger)
    retiring = measured(ledger, story)
    staying = measured(ledger, story, target="110")
    runner = process(ledger)
    read(ledger, story.kpi_id, "96", TODAY - timedelta(days=10))
    runner.run_until_caught_up()
    # One key result is retired: the next reading reaches only the other.
    ledger.retire_key_result(
        actor="cs-lead", key_result_id=retiring, reason="merged", reason_code="duplicate"
    )
    read(ledger, story.kpi_id, "97", TODAY - timedelta(days=5))
    runner.run_until_caught_up()
    assert len(check_ins(ledger, retiring)) == 1
    assert len(check_ins(ledger, staying)) == 2
    # Its cycle closed: a reading after that feeds nothing.
    ledger.close_cycle(actor="admin", key="KPI-Q")
    read(ledger, story.kpi_id, "98", TODAY - timedelta(days=1))
    runner.run_until_caught_up()
    assert len(check_ins(ledger, staying)) == 2


def test_a_reading_recorded_before_the_key_result_is_not_a_check_in(ledger: GoalLedger) -> None:
    # The process starts late: it meets the readings before the key result in the log.
    story = setting(ledger)
    read(ledger, story.kpi_id, "96", TODAY - timedelta(days=20))
    key_result_id = measured(ledger, story)
    assert ledger.get_key_result(key_result_id).current_plan.baseline == Decimal("96")
    later = read(ledger, story.kpi_id, "98", TODAY - timedelta(days=2))
    process(ledger).run_until_caught_up()
    assert list(check_ins(ledger, key_result_id)) == [reading_check_in_id(key_result_id, later)]


def test_evidence_shows_a_check_in_from_a_reading_as_a_check_in_with_its_correction(
    ledger: GoalLedger,
) -> None:
    story = setting(ledger)
    key_result_id = measured(ledger, story)
    reading = read(ledger, story.kpi_id, "97", TODAY - timedelta(days=14), "after the change")
    ledger.correct_kpi_reading(
        actor="cs-lead", kpi_id=story.kpi_id, reading_id=reading, value="96", reason="refund"
    )
    process(ledger).run_until_caught_up()
    worker = worker_for(ledger)
    worker.create_tables()
    worker.run_until_caught_up()
    evidence = EvidenceView(ViewDatabase(ledger), ledger).for_person("cs-team", STARTS, TODAY)
    [objective] = evidence.objectives
    [key_result] = objective.key_results
    assert key_result.key_result_id == key_result_id and key_result.check_in_count == 1
    [check_in] = [c for month in key_result.months for c in month.check_ins]
    assert check_in.check_in_id == reading_check_in_id(key_result_id, reading)
    assert (check_in.value, check_in.recorded_value) == (Decimal("96"), Decimal("97"))
    assert [c.reason for c in check_in.corrections] == ["refund"]
    assert check_in.note == "KPI reading of Net revenue retention: after the change"


def test_goalpost_processes_run_once_catches_up_and_says_what_it_did(store_url: str) -> None:
    setup = open_ledger(store_url, create_tables=True)
    try:
        story = setting(setup)
        key_result_id = measured(setup, story)
        read(setup, story.kpi_id, "97", TODAY - timedelta(days=3))
        process(setup)
        head = event_count(setup)
    finally:
        setup.close()
    env = {"GOALPOST_DATABASE_URL": store_url}
    first = CliRunner().invoke(app, ["processes", "run", "--once"], env=env)
    assert first.exit_code == 0, first.output
    # Its own check-in is the log's next event, which it then moves over too.
    assert f"KPI check-ins at log position {head + 1}: 1 recorded." in first.output
    again = CliRunner().invoke(app, ["processes", "run", "--once"], env=env)
    assert f"KPI check-ins at log position {head + 1}: nothing to do." in again.output
    status = CliRunner().invoke(app, ["processes", "status"], env=env)
    assert f"kpi_check_ins: position {head + 1}, 0 behind" in status.output
    after = open_ledger(store_url)
    try:
        assert len(after.get_key_result(key_result_id).check_ins) == 1
    finally:
        after.close()


def test_two_processes_at_once_record_each_check_in_once(store_url: str) -> None:
    setup = open_ledger(store_url, create_tables=True)
    try:
        story = setting(setup)
        key_results = [measured(setup, story) for _ in range(2)]
        readings = [
            read(setup, story.kpi_id, str(96 + i), STARTS + timedelta(days=2 + i))
            for i in range(12)
        ]
        process(setup)
    finally:
        setup.close()
    # Two processes, each with its own ledger and connections, race over the same events.
    ledgers = [open_ledger(store_url) for _ in range(2)]
    runners = [KpiCheckInProcess(each, batch_size=3) for each in ledgers]
    errors: list[BaseException] = []
    start = threading.Barrier(len(runners))

    def run(runner: KpiCheckInProcess) -> None:
        try:
            start.wait()
            runner.run_until_caught_up()
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(runner,)) for runner in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    try:
        assert not errors, errors
        for key_result_id in key_results:
            found = ledgers[0].get_key_result(key_result_id)
            assert sorted(c.id for c in found.check_ins) == sorted(
                reading_check_in_id(key_result_id, r) for r in readings
            )
            assert len(found.check_ins) == len(readings)
        recorded = sum(r.tally.outcomes.get("recorded", 0) for r in runners)
        assert recorded == len(readings) * len(key_results)
    finally:
        for each in ledgers:
            each.close()


def test_the_embedded_stores_serve_runs_it_on_a_thread_that_follows_new_readings(
    sqlite_url: str,
) -> None:
    ledger = open_ledger(sqlite_url, create_tables=True)
    try:
        story = setting(ledger)
        key_result_id = measured(ledger, story)
        background = BackgroundKpiProcess(ledger)
        background.start()
        try:
            reading = read(ledger, story.kpi_id, "97", TODAY - timedelta(days=3))
            wanted = reading_check_in_id(key_result_id, reading)
            deadline = time.monotonic() + 30
            while wanted not in ledger.get_key_result(key_result_id).check_ins:
                assert time.monotonic() < deadline, "the KPI process did not take the reading"
                time.sleep(0.05)
        finally:
            background.stop()
    finally:
        ledger.close()


SUBPROCESS = r"""
import sys
from application.stores import open_ledger
from processes.kpi_check_ins import KpiCheckInProcess

ledger = open_ledger(sys.argv[1])
runner = KpiCheckInProcess(ledger, batch_size=int(sys.argv[2]))
print("started", flush=True)
runner.run_until_caught_up()
print("caught up", flush=True)
"""


def test_a_process_killed_mid_way_and_restarted_leaves_one_check_in_per_reading(
    store_url: str, tmp_path: Path
) -> None:
    setup = open_ledger(store_url, create_tables=True)
    readings: list[UUID] = []
    try:
        story = setting(setup)
        key_results = [measured(setup, story) for _ in range(3)]
        for i in range(60):
            reading_id = read(setup, story.kpi_id, str(90 + i), STARTS + timedelta(days=1 + i))
            readings.append(reading_id)
            if i % 10 == 0:
                setup.correct_kpi_reading(
                    actor="cs-lead",
                    kpi_id=story.kpi_id,
                    reading_id=reading_id,
                    value=f"{90 + i}.5",
                    reason="restated",
                )
        process(setup)
    finally:
        setup.close()
    script = tmp_path / "run_process.py"
    script.write_text(SUBPROCESS)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    watcher = open_ledger(store_url)
    try:
        watching = KpiCheckInProcess(watcher)
        kills = 0
        # Three times: start it, and kill it with SIGKILL as soon as it has moved on.
        for _ in range(3):
            before = watching.position()
            child = subprocess.Popen(
                [sys.executable, str(script), store_url, "2"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            deadline = time.monotonic() + 60
            while child.poll() is None and time.monotonic() < deadline:
                if watching.position() > before:
                    child.send_signal(signal.SIGKILL)
                    kills += 1
                    break
                time.sleep(0.02)
            child.wait(30)
        assert kills == 3
        assert 0 < watching.position() < watcher.recorder.max_notification_id()
        finished = subprocess.run(
            [sys.executable, str(script), store_url, "2"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert finished.returncode == 0, finished.stdout + finished.stderr
        kpi = watcher.get_kpi(story.kpi_id)
        for key_result_id in key_results:
            found = watcher.get_key_result(key_result_id)
            # One check-in per reading, at the reading's value as corrected, and one
            # correction per correction of the reading: nothing lost, nothing twice.
            assert {c.id: c.value for c in found.check_ins} == {
                reading_check_in_id(key_result_id, r): kpi.readings[r].value for r in readings
            }
            assert sum(len(c.corrections) for c in found.check_ins) == 6
    finally:
        watcher.close()
