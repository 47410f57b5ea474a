"""The projection worker keeps every read model exactly once: through SIGKILLs, dropped
LISTEN connections, and beside the API's writes in the embedded store's one process.

The SIGKILL story runs `goalpost worker` as real processes. Importing the command line
costs seconds on a busy machine, so a "zygote" process imports it once and forks a fresh
worker process per start (no connection or thread exists before the fork); each worker
is then a process of its own, killed with SIGKILL like any other.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import IO, Annotated, Any
from uuid import UUID

import httpx
import pytest
import uvicorn
from eventsourcing.persistence import Notification
from fastapi import Depends, FastAPI

from api import consistency
from api.app import create_app
from api.consistency import POSITION_HEADER, Reading, reading
from application.ledger import GoalLedger
from application.stores import open_ledger
from cli.projections import render_status
from domain.access import Role
from domain.base import LedgerAggregate
from domain.kpi import Kpi
from projections.audit_trail import AuditTrail
from projections.base import wait_until
from projections.kpi_health import KpiHealth
from projections.registry import READ_MODELS, background_worker_for, worker_for
from projections.scores import Scores
from projections.seal import Seal
from projections.worker import BackgroundWorker
from storage.views import ViewDatabase, ViewTransaction
from storage.waker import LISTENER_APPLICATION_NAME
from tests.conftest import pg_admin
from tests.integration.test_rebuild import long_history, rebuild_all, snapshot

REPO = Path(__file__).resolve().parents[2]
WORKER_APPLICATION_NAME = "goalpost-worker-under-test"
KILLS = 12
PATIENCE = 30.0

ZYGOTE = r"""
import os, sys
from cli.main import app  # everything a worker needs, imported once, before any fork

for line in sys.stdin:
    command, _, rest = line.strip().partition(" ")
    if command == "start":
        url, log, *args = rest.split(" ")
        pid = os.fork()
        if pid == 0:
            os.environ["GOALPOST_DATABASE_URL"] = url
            out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            os.dup2(out, 1)
            os.dup2(out, 2)
            code = 1
            try:
                app(args=args, prog_name="goalpost")
                code = 0
            except SystemExit as exit:
                code = exit.code if isinstance(exit.code, int) else 1
            finally:
                os._exit(code)
        print(pid, flush=True)
    elif command == "wait":
        _, status = os.waitpid(int(rest), 0)
        print(os.waitstatus_to_exitcode(status), flush=True)
"""


class Zygote:
    """Starts `goalpost ARGS...` processes quickly and reports how they ended."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process

    def _ask(self, line: str) -> int:
        stdin: IO[str] | None = self.process.stdin
        stdout: IO[str] | None = self.process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(line + "\n")
        stdin.flush()
        answer = stdout.readline()
        assert answer, "the zygote died"
        return int(answer)

    def start(self, url: str, log: Path, *args: str) -> int:
        return self._ask(" ".join(["start", url, str(log), *args]))

    def wait(self, pid: int) -> int:
        """The exit code (negative: killed by that signal)."""
        return self._ask(f"wait {pid}")


@pytest.fixture(scope="module")
def zygote() -> Iterator[Zygote]:
    env = {**os.environ, "PGAPPNAME": WORKER_APPLICATION_NAME}
    process = subprocess.Popen(
        [sys.executable, "-c", ZYGOTE],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield Zygote(process)
    finally:
        process.kill()
        process.wait(timeout=PATIENCE)


def eventually(condition: Callable[[], bool], what: str, timeout: float = PATIENCE) -> None:
    """Poll another process's progress (the store is the only thing both can see)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        time.sleep(0.005)


def total_position(views: ViewDatabase) -> int:
    return sum(views.position(model.name) for model in READ_MODELS)


def audit_rows_past_position(views: ViewDatabase) -> int:
    """Audit rows beyond the audit trail's position: a half-committed batch would leave some."""
    rows = views.query(
        "SELECT count(*) AS n FROM {audit_trail} WHERE position > %s",
        (views.position("audit_trail"),),
    )
    return int(rows[0]["n"])


@pytest.mark.postgres
def test_sigkill_mid_batch_again_and_again_leaves_every_read_model_equal_to_a_rebuild(
    pg_url: str, pg_database: str, tmp_path: Path, zygote: Zygote
) -> None:
    # A long history, recorded before any worker runs: thousands of events to project.
    ledger = open_ledger(pg_url, create_tables=True)
    try:
        long_history(ledger, check_ins=2400)
        worker_for(ledger).create_tables()
        views = ViewDatabase(ledger)
        head = views.head()
        assert head > 2500
        log = tmp_path / "worker.log"
        rng = random.Random(20261123)
        mid_transaction = 0
        with pg_admin(pg_database) as admin:
            # The worker starts with small batches, and is killed, again and again.
            reached = total_position(views)
            for _ in range(KILLS):
                pid = zygote.start(pg_url, log, "worker", "--batch-size", "20")
                try:
                    # Once it is under way (its position moved), at a random moment.
                    eventually(lambda: total_position(views) > reached, "the worker moved")  # noqa: B023
                    time.sleep(rng.uniform(0, 0.03))
                    busy = admin.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
                        " AND xact_start IS NOT NULL",
                        (WORKER_APPLICATION_NAME,),
                    ).fetchone()
                    mid_transaction += bool(busy and busy[0])
                finally:
                    os.kill(pid, signal.SIGKILL)
                    assert zygote.wait(pid) == -signal.SIGKILL
                # Nothing of a killed batch is stored: no row past the position.
                assert audit_rows_past_position(views) == 0
                reached = total_position(views)
            assert reached < head * len(READ_MODELS), "the worker finished before the kills did"
            # Most kills land inside a batch's transaction; some surely do.
            assert mid_transaction > 0

        # SIGTERM is a clean stop: the batch in progress finishes, exit code 0.
        pid = zygote.start(pg_url, log, "worker", "--batch-size", "20")
        eventually(lambda: total_position(views) > reached, "the worker moved")
        os.kill(pid, signal.SIGTERM)
        assert zygote.wait(pid) == 0
        assert "stopping after the batch in progress" in log.read_text()

        # Restarted, it catches up with the whole log.
        pid = zygote.start(pg_url, log, "worker", "--once")
        assert zygote.wait(pid) == 0, log.read_text()[-2000:]
        assert worker_for(ledger).lag() == {model.name: 0 for model in READ_MODELS}

        # Every read model equals a rebuild from scratch, row for row, positions included.
        survived = snapshot(views)
        rebuild_all(ledger)
        assert snapshot(views) == survived
    finally:
        ledger.close()


@pytest.mark.postgres
def test_the_worker_listens_again_after_its_listen_connection_is_killed(
    pg_url: str, pg_database: str
) -> None:
    ledger = open_ledger(pg_url, create_tables=True)
    # A poll so slow that only NOTIFY can wake the worker within the test's waits.
    worker = worker_for(ledger, poll_interval=60.0)
    worker.create_tables()
    views = ViewDatabase(ledger)
    thread = threading.Thread(target=worker.run_forever, name="worker")
    thread.start()
    try:
        with pg_admin(pg_database) as admin:

            def listener() -> int | None:
                # This test's database only: other processes' workers listen too.
                row = admin.execute(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE application_name = %s AND datname = current_database()",
                    (LISTENER_APPLICATION_NAME,),
                ).fetchone()
                return int(row[0]) if row else None

            eventually(lambda: listener() is not None, "the worker listens", timeout=10)
            first = listener()

            # A write wakes it at once.
            opened = ledger.issue_token(actor="operator", subject="staffer", roles=[Role.MEMBER])[1]
            assert wait_until(views, "audit_trail", max(opened.positions), timeout=10)

            # The LISTEN connection is killed, and a write follows straight away.
            admin.execute("SELECT pg_terminate_backend(%s)", (first,))
            written = ledger.issue_token(actor="operator", subject="newcomer", roles=[Role.MEMBER])[
                1
            ]

            # The worker notices, catches up from its position and listens again.
            assert wait_until(views, "audit_trail", max(written.positions), timeout=10)
            eventually(lambda: listener() not in (None, first), "it listens again", timeout=10)

            # And the next write wakes it again, well before any poll.
            later = ledger.issue_token(actor="operator", subject="joiner", roles=[Role.MEMBER])[1]
            assert wait_until(views, "audit_trail", max(later.positions), timeout=10)
    finally:
        worker.stop()
        thread.join(timeout=PATIENCE)
        ledger.close()
    assert not thread.is_alive()


@contextmanager
def serving(app: FastAPI) -> Iterator[httpx.Client]:
    """The app under uvicorn on a free port, lifespan and all, and a client for it."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="uvicorn")
    thread.start()
    # uvicorn offers no wait for startup but its flag.
    eventually(lambda: server.started or not thread.is_alive(), "uvicorn started", timeout=10)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=PATIENCE) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=PATIENCE)
        assert not thread.is_alive(), "uvicorn did not shut down"


def with_probe(app: FastAPI) -> FastAPI:
    """A read-model route as route authors write them: `min_position` reads your own write."""

    @app.get("/probe")
    def probe(read: Annotated[Reading, Depends(reading("audit_trail"))]) -> dict[str, int]:
        return {"position": read.at().position}

    return app


def test_serve_on_sqlite_projects_the_apis_writes_in_process(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = open_ledger(sqlite_url, create_tables=True)
    # A backlog, so the in-process worker is busy while the API writes.
    key_results = long_history(ledger, check_ins=1000)[:6]
    admin = {
        "Authorization": "Bearer "
        + ledger.issue_token(actor="operator", subject="root", roles=[Role.ADMIN])[0]
    }
    app = with_probe(create_app(ledger, run_projections=True))
    failures: list[Any] = []
    positions: list[int] = []

    def check_in(client: httpx.Client, n: int) -> None:
        for i in range(10):
            response = client.post(
                f"/v1/key-results/{key_results[(n + i) % len(key_results)]}/check-ins",
                json={"value": str(i), "confidence": "on_track", "note": f"client {n}"},
                headers=admin,
            )
            if response.status_code != 201:
                failures.append((response.status_code, response.text))
                return
            positions.append(response.json()["position"])

    with serving(app) as client:
        views: ViewDatabase = app.state.views
        # Four clients write at once while the worker works through the backlog.
        writers = [threading.Thread(target=check_in, args=(client, n)) for n in range(4)]
        started = time.monotonic()
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join(timeout=PATIENCE)
        assert not failures, failures
        assert len(positions) == 40
        # No write waited anywhere near the store's lock timeout.
        assert time.monotonic() - started < 10

        # Reading your own write: the read waits until the read model has it.
        read = client.get("/probe", params={"min_position": max(positions)})
        assert read.status_code == 200, read.text
        assert read.json()["position"] >= max(positions)
        assert int(read.headers[POSITION_HEADER]) == read.json()["position"]
        assert views.query(
            "SELECT count(*) AS n FROM {audit_trail}"
            " WHERE event = 'check_in_recorded' AND actor = 'root'"
        ) == [{"n": 40}]

        # Readiness shows each read model's position and lag.
        ready = client.get("/readyz").json()
        assert ready["status"] == "ready"
        assert set(ready["read_models"]) == {model.name for model in READ_MODELS}
        assert ready["read_models"]["audit_trail"]["position"] >= max(positions)
        assert 'goalpost_read_model_lag{read_model="audit_trail"}' in client.get("/metrics").text

        # A position no write has been given is refused.
        beyond = client.get("/probe", params={"min_position": views.head() + 100})
        assert beyond.status_code == 422
        assert beyond.json()["field"] == "min_position"

    # Without a worker (it stopped with the app), a read of a new write is a 503 in time.
    monkeypatch.setattr(consistency, "READ_YOUR_WRITES_TIMEOUT", 0.2)
    idle = create_app(open_ledger(sqlite_url))
    with serving(with_probe(idle)) as client:
        written = idle.state.ledger.record_check_in(
            actor="root", key_result_id=key_results[0], value=7, confidence="on_track"
        )
        behind = client.get("/probe", params={"min_position": max(written.positions)})
    assert behind.status_code == 503
    assert behind.headers["content-type"] == "application/problem+json"
    assert behind.headers["Retry-After"] == "1"
    problem = behind.json()
    assert problem["type"] == "/problems/projection-behind"
    assert problem["position"] < problem["min_position"] == max(written.positions)


# A read model that cannot apply an event (ADR 25)

POISON = "the note this release cannot score"


class KpiHealthWithABug(KpiHealth):
    """kpi_health as a release with a bug in one handler builds it: same name, same tables."""

    def after(
        self, tx: ViewTransaction, event: LedgerAggregate.Event, stored: Notification, before: Any
    ) -> None:
        if isinstance(event, Kpi.ReadingRecorded) and event.note == POISON:
            raise ValueError(f"cannot score reading {event.reading_id}")
        super().after(tx, event, stored, before)


def a_quarter_with_a_kpi(ledger: GoalLedger) -> tuple[UUID, UUID]:
    """A key result and a KPI to write to; returns their ids."""
    ledger.open_cycle(
        actor="ceo", key="2026-Q3", starts_on=date(2026, 7, 1), ends_on=date(2026, 9, 30)
    )
    objective = ledger.create_objective(
        actor="ceo",
        cycle_id="2026-Q3",
        title="Stop the leaky bucket",
        owner="analyst",
        kind="committed",
    ).id
    key_result = ledger.create_key_result(
        actor="ceo",
        objective_id=objective,
        title="NPS from 32 to 50",
        owner="analyst",
        unit="points",
        direction="increase",
        baseline=32,
        target=50,
        measurement_source="survey",
        measurement_query="promoters - detractors",
        effective_on=date(2026, 7, 1),
    ).id
    kpi = ledger.define_kpi(
        actor="ceo",
        area="Customer support",
        name="First-response time",
        owner="analyst",
        unit="hours",
        formula="median(first_reply_at - opened_at)",
        data_source="helpdesk",
        cadence="weekly",
        direction="stay_below",
        target=2,
        healthy_low=0,
        healthy_high=2,
        target_set_on=date(2026, 7, 1),
    ).id
    return key_result, kpi


def failures_logged(caplog: pytest.LogCaptureFixture, position: int) -> int:
    said = f"read model kpi_health cannot apply the event at position {position} "
    return sum(said in record.getMessage() for record in caplog.records)


def test_a_read_model_that_cannot_apply_an_event_says_so_and_the_others_go_on(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="goalpost.projections")
    ledger = open_ledger(store_url, create_tables=True)
    key_result, kpi = a_quarter_with_a_kpi(ledger)
    token = ledger.issue_token(actor="operator", subject="root", roles=[Role.ADMIN])[0]
    admin = {"Authorization": f"Bearer {token}"}
    views = ViewDatabase(ledger)
    # The worker of a release whose kpi_health has a bug, on connections of its own (as
    # `goalpost serve` runs it on SQLite, and like a `goalpost worker` on PostgreSQL).
    buggy = BackgroundWorker(ledger, [AuditTrail, KpiHealthWithABug, Seal, Scores])
    buggy.start()
    # The API on another ledger: all it knows of the failure is what the store holds.
    app = create_app(open_ledger(store_url))
    try:
        with serving(app) as client:
            # A reading the buggy handler cannot apply, then a check-in after it.
            poisoned = max(
                ledger.record_kpi_reading(
                    actor="analyst", kpi_id=kpi, value=3, effective_on=date(2026, 8, 3), note=POISON
                ).positions
            )
            later = max(
                ledger.record_check_in(
                    actor="analyst", key_result_id=key_result, value=41, confidence="on_track",
                    effective_on=date(2026, 8, 4),
                ).positions
            )  # fmt: skip

            # The other read models go on past it.
            for name in ("audit_trail", "seal", "scores"):
                assert wait_until(views, name, later, timeout=PATIENCE) >= later
            # kpi_health applied everything before it, and stopped there, saying so.
            eventually(lambda: "kpi_health" in views.health(), "a health row")
            eventually(
                lambda: views.health()["kpi_health"].failing_position == poisoned,
                "the failure is recorded",
            )
            assert views.position("kpi_health") == poisoned - 1
            failure = views.health()["kpi_health"]
            assert failure.error is not None and "cannot score reading" in failure.error

            # Readiness and metrics name it and its position.
            ready = client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["status"] == "failing"
            shown = ready.json()["read_models"]["kpi_health"]
            assert shown["failing_position"] == poisoned
            assert "cannot score reading" in shown["error"]
            assert "failing_position" not in ready.json()["read_models"]["scores"]
            metrics = client.get("/metrics").text
            assert 'goalpost_read_model_failing{read_model="kpi_health"} 1' in metrics
            assert (
                f'goalpost_read_model_failing_position{{read_model="kpi_health"}} {poisoned}'
                in (metrics)
            )
            assert 'goalpost_read_model_failing{read_model="scores"} 0' in metrics

            # Its route refuses, saying why; the others answer.
            refused = client.get("/v1/kpis/health", headers=admin)
            assert refused.status_code == 503
            assert refused.headers["content-type"] == "application/problem+json"
            assert int(refused.headers["Retry-After"]) >= 1
            problem = refused.json()
            assert problem["type"] == "/problems/read-model-failing"
            assert problem["read_model"] == "kpi_health"
            assert problem["failing_position"] == poisoned
            assert problem["position"] == poisoned - 1
            assert "cannot score reading" in problem["error"]
            assert f"position {poisoned}" in problem["detail"]
            scores = client.get("/v1/scores", params={"min_position": later}, headers=admin)
            assert scores.status_code == 200, scores.text
            assert scores.json()["position"] >= later

            # It is tried again with a growing delay, one log line an attempt, no hot loop.
            eventually(lambda: views.health()["kpi_health"].attempts >= 2, "a second attempt")
            buggy.stop()
            tried = views.health()["kpi_health"]
            assert failures_logged(caplog, poisoned) == tried.attempts <= 3
            assert tried.failing_since is not None and tried.retry_at is not None
            # Attempt 2 came at least 1 s after the first, and put attempt 3 2 s after it.
            assert (tried.retry_at - tried.failing_since).total_seconds() >= 3
            # `goalpost projections status` says so too.
            shown = render_status(*worker_for(ledger).status())
            assert f"FAILING: kpi_health cannot apply the event at position {poisoned} " in shown

            # The fixed release's worker gets past it, which clears the failure.
            fixed = background_worker_for(ledger)
            fixed.start()
            try:
                assert wait_until(views, "kpi_health", later, timeout=PATIENCE) >= later
                cleared = views.health()["kpi_health"]
                assert cleared.failing_position is None and cleared.attempts == 0
                assert client.get("/readyz").json()["status"] == "ready"
                answered = client.get("/v1/kpis/health", headers=admin)
                assert answered.status_code == 200, answered.text
                assert answered.json()["position"] >= later
            finally:
                fixed.stop()
    finally:
        buggy.stop()
        ledger.close()
