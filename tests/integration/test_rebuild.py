"""Rebuilding a read model beside the live one: reads keep answering, then it switches.

The history is the demo quarter plus a quarter of imported check-ins and changes of plan
(its dates follow the real clock: it began sixty days ago). The snapshot helpers here
compare every table of every read model, row for row, positions included; the worker
tests use them too.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from eventsourcing.persistence import PersistenceError
from typer.testing import CliRunner

from application.ledger import CheckInImport, GoalLedger
from application.stores import open_ledger
from cli.demo import load_demo
from cli.main import app as goalpost_cli
from domain.values import utc_today
from projections.base import ReadModel
from projections.rebuild import Rebuild
from projections.registry import READ_MODELS, worker_for
from storage.views import ViewDatabase
from tests.demo_day import DEMO_DAY

HISTORY_CYCLE = "history"
KEY_RESULTS = 12
WRITES_DURING_REBUILD = 300


def long_history(ledger: GoalLedger, check_ins: int) -> list[Any]:
    """The demo quarter, then a quarter with `check_ins` imported check-ins and plan changes.

    Returns the quarter's key result ids, for more writes later.
    """
    load_demo(ledger, today=DEMO_DAY)
    today = utc_today()
    ledger.open_cycle(
        actor="ceo",
        key=HISTORY_CYCLE,
        starts_on=today - timedelta(days=60),
        ends_on=today + timedelta(days=30),
    )
    objective = ledger.create_objective(
        actor="ceo", cycle_id=HISTORY_CYCLE, title="Grow", owner="ceo", kind="committed"
    ).id
    key_results = [
        ledger.create_key_result(
            actor="ceo",
            objective_id=objective,
            title=f"Key result {n}",
            owner=f"owner-{n % 3}",
            unit="%",
            direction="increase",
            baseline=0,
            target=100,
            measurement_source="warehouse",
            measurement_query=f"select kr_{n}",
            effective_on=today - timedelta(days=60),
        ).id
        for n in range(KEY_RESULTS)
    ]
    # Weeks of history, imported in bulk (as `goalpost import-check-ins` does).
    ledger.import_check_ins(
        actor="importer",
        rows=[
            CheckInImport(
                key_result_id=key_results[n % KEY_RESULTS],
                value=str((n // KEY_RESULTS) % 100),
                confidence=("on_track", "at_risk", "off_track")[n % 3],
                effective_on=today - timedelta(days=59 - (n // KEY_RESULTS) % 59),
                note=f"sheet row {n}",
            )
            for n in range(check_ins)
        ],
    )
    # Changes of plan: re-baselines (one lowering a target), re-weights, corrections, retirements.
    for n, key_result in enumerate(key_results[:6]):
        ledger.rebaseline_key_result(
            actor="ceo",
            key_result_id=key_result,
            baseline=0,
            target=80 + n * 3,
            reason="scope changed",
            reason_code="priorities_changed",
        )
        ledger.reweight_key_result(
            actor="ceo", key_result_id=key_result, weight=2, reason="focus", reason_code="other"
        )
        saved = ledger.record_check_in(
            actor="ceo", key_result_id=key_result, value=50, confidence="at_risk"
        )
        assert saved.check_in_id is not None
        ledger.correct_check_in(
            actor="ceo",
            key_result_id=key_result,
            check_in_id=saved.check_in_id,
            value=51,
            reason="typo in the sheet",
        )
    for key_result in key_results[6:8]:
        ledger.retire_key_result(
            actor="ceo", key_result_id=key_result, reason="dropped", reason_code="duplicate"
        )
    return key_results


def table_rows(views: ViewDatabase, table: str) -> list[str]:
    """Every row of the live generation, every column, as sorted canonical JSON."""
    rows = views.query(f"SELECT * FROM {{{table}}}")
    return sorted(json.dumps(row, sort_keys=True, default=str) for row in rows)


def snapshot(
    views: ViewDatabase, read_models: tuple[type[ReadModel], ...] = READ_MODELS
) -> dict[str, Any]:
    """Each read model's tables and the position it reflects."""
    found: dict[str, Any] = {}
    for model in read_models:
        found[f"{model.name} position"] = views.position(model.name)
        for table in model.table_names():
            found[table] = table_rows(views, table)
    return found


def rebuild_all(ledger: GoalLedger, batch_size: int = 500) -> None:
    for model in READ_MODELS:
        Rebuild(ledger, model, batch_size=batch_size).run()


@pytest.fixture
def projected(store_url: str) -> Iterator[GoalLedger]:
    """A long history on the store, its read models caught up."""
    ledger = open_ledger(store_url, create_tables=True)
    try:
        long_history(ledger, check_ins=600)
        worker = worker_for(ledger)
        worker.create_tables()
        worker.run_until_caught_up()
        yield ledger
    finally:
        ledger.close()


@pytest.fixture
def elsewhere(store_url: str) -> Iterator[Callable[[], GoalLedger]]:
    """Ledgers of their own, as the worker and the rebuild have in their own processes."""
    opened: list[GoalLedger] = []

    def open_another() -> GoalLedger:
        opened.append(open_ledger(store_url))
        return opened[-1]

    yield open_another
    for ledger in opened:
        ledger.close()


@pytest.mark.parametrize("rebuilding", [READ_MODELS[:1], READ_MODELS], ids=["one", "all"])
def test_a_rebuild_switches_while_reads_writes_and_the_live_worker_go_on(
    projected: GoalLedger,
    elsewhere: Callable[[], GoalLedger],
    rebuilding: tuple[type[ReadModel], ...],
) -> None:
    ledger = projected
    views = ViewDatabase(ledger)
    objective = ledger.get_objective(ledger.objective_ids(HISTORY_CYCLE)[0])
    key_results = [kr for kr in objective.key_result_ids][:4]
    stop = threading.Event()
    failures: list[BaseException] = []
    reads: list[list[str]] = []

    # A reader reads the audit trail over and over; any failure is kept for the end.
    def read() -> None:
        while not stop.is_set():
            try:
                reads.append(table_rows(views, "audit_trail"))
            except BaseException as error:
                failures.append(error)
                return

    # A writer keeps checking in, and the live worker (a process of its own) projects it.
    def write() -> None:
        n = 0
        while not stop.is_set() and n < WRITES_DURING_REBUILD:
            try:
                ledger.record_check_in(
                    actor="ceo",
                    key_result_id=key_results[n % len(key_results)],
                    value=n % 100,
                    confidence="on_track",
                )
            except BaseException as error:
                failures.append(error)
                return
            n += 1

    live = worker_for(elsewhere(), batch_size=20, poll_interval=0.05)
    threads = [
        threading.Thread(target=read, name="reader"),
        threading.Thread(target=write, name="writer"),
        threading.Thread(target=live.run_forever, name="live worker"),
    ]
    for thread in threads:
        thread.start()
    try:
        # The operator rebuilds the audit trail (alone, or with every other read model in
        # one pass), in small batches so it takes a while.
        reads_before = len(reads)
        done = Rebuild(elsewhere(), *rebuilding, batch_size=50).run()
        reads_during = len(reads) - reads_before
    finally:
        stop.set()
        live.stop()
        for thread in threads:
            thread.join(timeout=30)
    assert not failures, failures
    assert [(r.name, r.replaced, r.generation) for r in done] == [
        (model.name, 1, 2) for model in rebuilding
    ]
    assert reads_during > 0

    # Everything written is projected once the worker catches up, on generation 2.
    worker = worker_for(ledger)
    worker.run_until_caught_up()
    assert worker.lag() == {model.name: 0 for model in READ_MODELS}
    generations = views.generations()
    assert {generations[table] for model in rebuilding for table in model.table_names()} == {2}
    final = sorted(table_rows(views, "audit_trail"), key=lambda row: json.loads(row)["position"])

    # Every read, from either generation, was a prefix of the final trail: nothing
    # missing in the middle, nothing twice, nothing that changed later.
    for read_rows in reads:
        ordered = sorted(read_rows, key=lambda row: json.loads(row)["position"])
        assert ordered == final[: len(ordered)]

    # The replaced generations are gone.
    for model in rebuilding:
        for table in model.table_names():
            with pytest.raises(PersistenceError):
                views.query(f"SELECT count(*) FROM {views.table(table, 1)}")

    # And the live generations, handed over mid-stream, equal a fresh rebuild of each.
    live_state = snapshot(views)
    rebuild_all(ledger)
    assert snapshot(views) == live_state


def test_rebuild_and_status_from_the_command_line(sqlite_url: str) -> None:
    ledger = open_ledger(sqlite_url, create_tables=True)
    try:
        long_history(ledger, check_ins=120)
    finally:
        ledger.close()
    runner = CliRunner()
    env = {"GOALPOST_DATABASE_URL": sqlite_url}
    assert runner.invoke(goalpost_cli, ["db", "init"], env=env).exit_code == 0

    # The worker catches up once and says where everything stands.
    once = runner.invoke(goalpost_cli, ["worker", "--once", "--batch-size", "100"], env=env)
    assert once.exit_code == 0, once.output
    assert "audit_trail" in once.stdout

    # Rebuilding a read model: a new generation, live at the log's head.
    rebuilt = runner.invoke(goalpost_cli, ["projections", "rebuild", "audit_trail"], env=env)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "generation 2 (was 1)" in rebuilt.stdout

    status = runner.invoke(goalpost_cli, ["projections", "status"], env=env)
    assert status.exit_code == 0, status.output
    lines = {line.split()[0]: line.split() for line in status.stdout.splitlines()[2:]}
    head = int(status.stdout.splitlines()[0].split()[-1])
    assert lines["audit_trail"][1:4] == ["2", str(head), "0"]
    assert {name for name in lines} == {model.name for model in READ_MODELS}
    # Each built by this release's definition (ADR 17).
    for model in READ_MODELS:
        assert lines[model.name][-1] == model.definition()

    # All of them at once, in one pass over the log; each switches to its next generation.
    everything = runner.invoke(goalpost_cli, ["projections", "rebuild", "--all"], env=env)
    assert everything.exit_code == 0, everything.output
    rebuilt_lines = [line for line in everything.stdout.splitlines() if line.startswith("Rebuilt ")]
    assert len(rebuilt_lines) == len(READ_MODELS)
    assert "Rebuilt audit_trail: generation 3 (was 2)" in everything.stdout
    # The same events, the same seconds: one pass, not one each.
    assert len({line.split("; ")[1] for line in rebuilt_lines}) == 1

    # An unknown name is a usage error that lists the known ones.
    unknown = runner.invoke(goalpost_cli, ["projections", "rebuild", "no_such_model"], env=env)
    assert unknown.exit_code == 2
    assert "audit_trail" in unknown.output
