"""The goal ledger on PostgreSQL, each figure beside raw psycopg on the same server, same run.

Run by hand: `make bench`, or `.venv/bin/python -m bench.ledger --quick` for a smoke run.
It creates a database of its own and drops it at the end, even after a failure.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from importlib.metadata import version as installed_version
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import psycopg
from eventsourcing.utils import get_topic
from psycopg import pq, sql
from psycopg.rows import DictRow

from application.goal_cache import GoalRepository
from application.ledger import CheckInImport, GoalLedger, replay
from application.stores import init_store, open_ledger
from domain.cycle import Cycle
from domain.key_result import KeyResult
from storage.postgres import GoalpostPostgresRecorder

T = TypeVar("T")
Conn = psycopg.Connection[tuple[Any, ...]]

ACTOR = "bench"
CYCLE = "2026-Q3"
CYCLE_START = date(2026, 7, 1)
CYCLE_DAYS = 92  # 2026-07-01 .. 2026-09-30, all in the past when this was written
LEDGER_SCHEMA = "goalpost"
RAW_SCHEMA = "raw"
EVENTS_TABLE = "goalpost_events"
SNAPSHOTS_TABLE = "goalpost_snapshots"
NOTE = "weekly check-in from the team sync"
CHECK_IN_TOPIC = get_topic(KeyResult.CheckInRecorded)


# Timing


def timed(work: Callable[[], T]) -> tuple[T, float]:
    """The work's result and its wall time in seconds."""
    start = time.perf_counter()
    result = work()
    return result, time.perf_counter() - start


def in_threads(jobs: Sequence[Callable[[], None]]) -> float:
    """Wall time from a common start until the last job ends; a job's error is re-raised."""
    barrier = threading.Barrier(len(jobs) + 1)
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        barrier.wait()
        try:
            job()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return elapsed


def latencies(call: Callable[[], object], repetitions: int) -> list[float]:
    """Seconds per call, after a few untimed calls and a garbage collection."""
    for _ in range(5):
        call()
    gc.collect()
    return [timed(call)[1] for _ in range(repetitions)]


def percentile(samples: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    rank = max(1, round(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


# Report


@dataclass(frozen=True)
class Row:
    name: str
    ours: str
    raw: str
    speed: float | None = None  # ours relative to raw psycopg: above 1 means ours is faster
    target: str = ""
    passed: bool | None = None


@dataclass
class Section:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def render(sections: Sequence[Section]) -> str:
    header = ("benchmark", "ours", "raw psycopg", "speed", "target", "result")
    lines: list[tuple[str, ...]] = [header]
    for section in sections:
        for row in section.rows:
            verdict = "" if row.passed is None else ("PASS" if row.passed else "MISS")
            speed = "" if row.speed is None else f"{row.speed:.2f}x"
            lines.append((row.name, row.ours, row.raw, speed, row.target, verdict))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    lines.insert(1, tuple("-" * w for w in widths))
    text = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    ]
    for section in sections:
        text += [f"  {note}" for note in section.notes]
    return "\n".join(text)


def progress(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


# The server


@dataclass(frozen=True)
class Server:
    """The benchmark's own database on the server, with the ledger and raw tables in it."""

    admin_url: str
    dbname: str

    @property
    def ledger_url(self) -> str:
        parts = urlsplit(self.admin_url)
        return parts._replace(path=f"/{self.dbname}", query=f"schema={LEDGER_SCHEMA}").geturl()

    def connect(self, dbname: str | None = None) -> Conn:
        return psycopg.connect(self.admin_url, dbname=dbname or self.dbname, autocommit=True)

    def events_table(self) -> sql.Composed:
        return sql.SQL("{}").format(sql.Identifier(LEDGER_SCHEMA, EVENTS_TABLE))


@contextmanager
def bench_database(admin_url: str) -> Iterator[Server]:
    server = Server(admin_url, f"goalpost_bench_{secrets.token_hex(4)}")
    name = sql.Identifier(server.dbname)
    with server.connect("postgres") as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
    try:
        with server.connect() as conn:
            for schema in (LEDGER_SCHEMA, RAW_SCHEMA):
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        yield server
    finally:
        with server.connect("postgres") as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


def create_raw_table(conn: Conn, table: str) -> sql.Composed:
    """The raw baseline's table: the events table's columns and primary key, nothing more."""
    name = sql.Identifier(RAW_SCHEMA, table)
    conn.execute(
        sql.SQL(
            "CREATE TABLE {} (originator_id uuid NOT NULL, originator_version bigint NOT NULL, "
            "topic text NOT NULL, state bytea NOT NULL, "
            "PRIMARY KEY (originator_id, originator_version))"
        ).format(name)
    )
    return sql.SQL("{}").format(name)


def event_size(server: Server) -> int:
    """Mean stored size of our check-in events, so the raw rows carry as many bytes."""
    with server.connect() as conn:
        row = conn.execute(
            sql.SQL("SELECT avg(octet_length(state))::int FROM {} WHERE topic = %s").format(
                server.events_table()
            ),
            (CHECK_IN_TOPIC,),
        ).fetchone()
    return int(row[0]) if row and row[0] else 300


def payload(size: int, i: int) -> bytes:
    """JSON-ish bytes of the given size, different per row."""
    head = f'{{"row":{i},"value":"{i % 97}.5","note":"'.encode()
    return (head + b"x" * max(0, size - len(head) - 2) + b'"}')[:size]


# The ledger's setup


def day(i: int) -> date:
    return CYCLE_START + timedelta(days=i % CYCLE_DAYS)


def plan_key_results(ledger: GoalLedger, title: str, count: int) -> list[UUID]:
    """An objective with `count` key results in the bench cycle."""
    objective = ledger.create_objective(
        actor=ACTOR, cycle_id=CYCLE, title=title, owner="bench-team", kind="committed"
    )
    return [
        ledger.create_key_result(
            actor=ACTOR,
            objective_id=objective.id,
            title=f"{title} #{n}",
            owner="bench-team",
            unit="points",
            direction="increase",
            baseline=0,
            target=100,
            measurement_source="bench",
            measurement_query=f"points({n})",
            effective_on=CYCLE_START,
        ).id
        for n in range(count)
    ]


def check_in(ledger: GoalLedger, key_result_id: UUID, i: int) -> None:
    ledger.record_check_in(
        actor=ACTOR,
        key_result_id=key_result_id,
        value=f"{i % 97}.5",
        confidence="on_track",
        note=NOTE,
        effective_on=day(i),
    )


# Round trips


@dataclass
class Traffic:
    checkouts: int = 0
    round_trips: int = 0
    statements: int = 0


class RoundTripCounter:
    """Traces libpq on each connection the ledger checks out, and counts per phase.

    A round trip is a run of messages sent followed by one of messages received; a
    statement is an Execute or a simple Query (BEGIN and COMMIT included).
    """

    def __init__(self, ledger: GoalLedger) -> None:
        self._datastore = cast(GoalpostPostgresRecorder, ledger.recorder).datastore
        self._checkout = self._datastore.get_connection
        self.phase = "unattributed"
        self.traffic: dict[str, Traffic] = defaultdict(Traffic)

    @contextmanager
    def installed(self) -> Iterator[RoundTripCounter]:
        # An instance attribute shadows the method for this datastore only.
        self._datastore.get_connection = self._traced  # type: ignore[method-assign]
        try:
            yield self
        finally:
            del self._datastore.get_connection

    @contextmanager
    def _traced(self) -> Iterator[psycopg.Connection[DictRow]]:
        with tempfile.TemporaryFile(mode="w+") as trace, self._checkout() as conn:
            conn.pgconn.trace(trace.fileno())
            conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
            try:
                yield conn
            finally:
                conn.pgconn.untrace()
                trace.seek(0)
                self._count(trace.read().splitlines())

    def _count(self, lines: list[str]) -> None:
        traffic = self.traffic[self.phase]
        traffic.checkouts += 1
        previous = ""
        for line in lines:
            direction, _, rest = line.partition("\t")
            message = rest.split("\t")[1] if rest.count("\t") else ""
            if direction == "B" and previous == "F":
                traffic.round_trips += 1
            if direction == "F" and message in ("Execute", "Query"):
                traffic.statements += 1
            previous = direction or previous


@dataclass
class PhaseClock:
    """Wall time per phase of a command; tells a round-trip counter which phase it is in."""

    counter: RoundTripCounter | None = None
    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        if self.counter is not None:
            self.counter.phase = name
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name].append(time.perf_counter() - start)


def check_in_by_phase(ledger: GoalLedger, clock: PhaseClock, key_result_id: UUID, i: int) -> int:
    """What `GoalLedger.record_check_in` does on its first attempt (ADR 46), one timed
    phase at a time; the loaded version."""
    repository = cast(GoalRepository, ledger.repository)
    with clock.phase("load key result"):
        key_result = cast(KeyResult, repository.get_as_kept(key_result_id, projector_func=replay))
    with clock.phase("load cycle"):
        cycle = cast(Cycle, repository.get_as_kept(Cycle.create_id(key_result.cycle_id)))
    with clock.phase("domain"):
        key_result.record_check_in(
            actor=ACTOR,
            cycle=cycle,
            value=f"{i % 97}.5",
            confidence="on_track",
            note=NOTE,
            effective_on=day(i),
        )
    loaded = key_result.version
    with clock.phase("save"):
        ledger.save(key_result, unchanged=[(cycle.id, cycle.version)])
        repository.keep_saved(key_result)
    return loaded


# (a) Commands


def bench_commands(ledger: GoalLedger, server: Server, commands: int, threads: int) -> Section:
    """One-check-in commands, sequential and from several threads, against single-row INSERTs."""
    section = Section()
    streams = 20
    sequential = plan_key_results(ledger, "Sequential commands", streams)
    per_thread = max(1, streams // threads)
    concurrent = [plan_key_results(ledger, f"Thread {t}", per_thread) for t in range(threads)]
    for n, key_result_id in enumerate(sequential):  # warm-up: pool, prepared statements
        check_in(ledger, key_result_id, n)
    size = event_size(server)

    def sequential_commands() -> None:
        for i in range(commands):
            check_in(ledger, sequential[i % streams], i)

    progress(f"(a) {commands} commands, one thread")
    _, ours = timed(sequential_commands)

    with server.connect() as conn:
        table = create_raw_table(conn, "commands")
        insert = sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s)").format(table)
        rows = [(uuid4(), i, CHECK_IN_TOPIC, payload(size, i)) for i in range(commands)]
        for row in rows[:streams]:  # warm-up, as ours had
            conn.execute(insert, (uuid4(), *row[1:]), prepare=True)

        def insert_all(part: Sequence[tuple[UUID, int, str, bytes]], conn: Conn) -> None:
            for row in part:
                conn.execute(insert, row, prepare=True)

        _, raw = timed(lambda: insert_all(rows, conn))
    section.rows.append(
        Row(
            f"(a) commands, 1 thread, n={commands}",
            f"{commands / ours:,.0f} cmd/s",
            f"{commands / raw:,.0f} ins/s",
            raw / ours,
            ">= 0.50x",
            raw / ours >= 0.5,
        )
    )

    progress(f"(a) {commands} commands, {threads} threads")
    share = commands // threads

    def thread_commands(key_results: list[UUID]) -> Callable[[], None]:
        def run() -> None:
            for i in range(share):
                check_in(ledger, key_results[i % len(key_results)], i)

        return run

    ours_threads = in_threads([thread_commands(krs) for krs in concurrent])
    connections = [server.connect() for _ in range(threads)]
    try:
        parts = [
            [(uuid4(), i, CHECK_IN_TOPIC, payload(size, i)) for i in range(share)]
            for _ in range(threads)
        ]
        raw_threads = in_threads(
            [partial(insert_all, part, conn) for part, conn in zip(parts, connections, strict=True)]
        )
    finally:
        for conn in connections:
            conn.close()
    total = share * threads
    section.rows.append(
        Row(
            f"(a) commands, {threads} threads, n={total}",
            f"{total / ours_threads:,.0f} cmd/s",
            f"{total / raw_threads:,.0f} ins/s",
            raw_threads / ours_threads,
            ">= 0.50x",
            raw_threads / ours_threads >= 0.5,
        )
    )

    progress("(a) where a command's time goes")
    # As many commands as timed above, so the streams pass through a whole snapshot
    # interval again and each load replays as many events on average.
    clock = PhaseClock()
    sample = commands
    interval = GoalLedger.snapshotting_intervals[KeyResult]
    replayed = [
        check_in_by_phase(ledger, clock, sequential[i % streams], commands + i) % interval
        for i in range(sample)
    ]
    counter = RoundTripCounter(ledger)
    counted = 20
    with counter.installed():
        traced = PhaseClock(counter)
        for i in range(counted):
            check_in_by_phase(ledger, traced, sequential[i % streams], commands + sample + i)
    total_ms = sum(statistics.fmean(s) for s in clock.seconds.values()) * 1000
    section.notes.append(
        f"(a) one command, mean of {sample} (phases timed apart; round trips traced over "
        f"{counted} more; goals loaded as the process holds them, ADR 46; a snapshot "
        f"every {interval} versions, {statistics.fmean(replayed):.0f} since the last on "
        "average):"
    )
    for phase, seconds in clock.seconds.items():
        mean_ms = statistics.fmean(seconds) * 1000
        traffic = counter.traffic[phase]
        section.notes.append(
            f"      {phase:<16} {mean_ms:6.2f} ms  {mean_ms / total_ms:4.0%}   "
            f"{traffic.round_trips / counted:4.1f} round trips  "
            f"{traffic.statements / counted:4.1f} statements  "
            f"{traffic.checkouts / counted:3.1f} pool checkouts"
        )
    trips = sum(t.round_trips for t in counter.traffic.values()) / counted
    section.notes.append(
        f"      total            {total_ms:6.2f} ms         {trips:4.1f} round trips; raw "
        f"INSERT: {raw / commands * 1000:.2f} ms, 1 round trip; stored event ~{size} B"
    )
    return section


# (b) Bulk import


def bench_import(ledger: GoalLedger, server: Server, rows: int) -> Section:
    """Historical check-ins through `import_check_ins` against a binary COPY of as many rows."""
    section = Section()
    streams = 100
    key_results = plan_key_results(ledger, "Imported history", streams)
    imports = [
        CheckInImport(
            key_result_id=key_results[i % streams],
            value=f"{i % 97}.5",
            confidence="on_track",
            effective_on=day(i // streams),
            note=f"{NOTE}, sheet row {i}",
        )
        for i in range(rows)
    ]

    progress(f"(b) importing {rows:,} check-ins")
    report, ours = timed(lambda: ledger.import_check_ins(actor=ACTOR, rows=imports))
    if report.imported != rows:
        raise RuntimeError(f"import stored {report.imported} of {rows} rows")
    progress("(b) importing them again")
    rerun, rerun_note = import_again(ledger, server, imports)

    size = event_size(server)
    progress(f"(b) COPY of {rows:,} rows")
    records = [(uuid4(), i, CHECK_IN_TOPIC, payload(size, i)) for i in range(rows)]
    with server.connect() as conn:
        table = create_raw_table(conn, "imported")
        copy_in = sql.SQL(
            "COPY {} (originator_id, originator_version, topic, state) FROM STDIN (FORMAT BINARY)"
        ).format(table)

        def copy_all() -> None:
            with conn.transaction(), conn.cursor() as cursor, cursor.copy(copy_in) as copy:
                copy.set_types(["uuid", "int8", "text", "bytea"])
                for record in records:
                    copy.write_row(record)

        _, raw = timed(copy_all)
    section.rows += [
        Row(
            f"(b) import {rows:,} check-ins",
            f"{ours:.2f} s",
            f"{raw:.2f} s",
            raw / ours,
            ">= 0.50x",
            raw / ours >= 0.5,
        ),
        Row("    rows/s", f"{rows / ours:,.0f}", f"{rows / raw:,.0f}"),
        rerun,
    ]
    section.notes += [
        f"(b) ours: {streams} key results, {report.imported:,} events in transactions of "
        f"2000, a snapshot every 100 versions of each key result, the file checked "
        f"first and held on disk (ADR 45); raw: one binary COPY "
        f"in one transaction, ~{size} B per row, same primary key",
        f"(b) re-run: {rerun_note}",
    ]
    return section


def import_again(
    ledger: GoalLedger, server: Server, imports: Sequence[CheckInImport]
) -> tuple[Row, str]:
    """Re-run an import: it must store no event; a failure is reported, not fatal."""

    def stored_events() -> int:
        with server.connect() as conn:
            row = conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(server.events_table())
            ).fetchone()
        return int(row[0]) if row else 0

    before = stored_events()
    start = time.perf_counter()
    try:
        again = ledger.import_check_ins(actor=ACTOR, rows=imports)
    except Exception as e:  # the bench reports the failure and goes on measuring
        elapsed = time.perf_counter() - start
        added = stored_events() - before
        first_line = str(e).splitlines()[0] if str(e) else ""
        ours = f"FAILED after {elapsed:.2f} s, {added} new"
        note = f"raised {type(e).__module__}.{type(e).__name__}: {first_line}"
        return Row("    idempotent re-run", ours, "", target="0 imported", passed=False), note
    elapsed = time.perf_counter() - start
    added = stored_events() - before
    if again.imported != 0 or added != 0:
        raise RuntimeError(f"the re-run imported {again.imported} rows ({added} events)")
    return (
        Row(
            "    idempotent re-run", f"{elapsed:.2f} s, 0 new", "", target="0 imported", passed=True
        ),
        f"recognised {again.already_present:,} of {len(imports):,} rows, stored 0 events",
    )


# (c) Bitemporal read


def bench_read(ledger: GoalLedger, server: Server, check_ins: int, reads: int) -> Section:
    """One long key result's status as known at a past time and now, against a raw SELECT."""
    section = Section()
    (key_result_id,) = plan_key_results(ledger, "Long history", 1)
    half = check_ins // 2
    as_of = day(CYCLE_DAYS // 2 - 1)

    def history(numbers: range, first_day: int, days: int) -> list[CheckInImport]:
        return [
            CheckInImport(
                key_result_id=key_result_id,
                value=f"{i % 97}.5",
                confidence="on_track",
                effective_on=day(first_day + (i - numbers.start) * days // len(numbers)),
                note=f"{NOTE}, sheet row {i}",
            )
            for i in numbers
        ]

    # First half on or before as_of, then a correction of the check-in in force on as_of,
    # then a second half after as_of: known at T, as_of shows the uncorrected value.
    progress(f"(c) a key result with {check_ins:,} check-ins and a correction")
    ledger.import_check_ins(actor=ACTOR, rows=history(range(half), 0, CYCLE_DAYS // 2))
    time.sleep(0.01)
    known_at = datetime.now(tz=UTC)
    time.sleep(0.01)
    before = ledger.get_key_result(key_result_id).latest_check_in(as_of)
    if before is None:
        raise RuntimeError("no check-in in force on the as-of day")
    ledger.correct_check_in(
        actor=ACTOR,
        key_result_id=key_result_id,
        check_in_id=before.id,
        value=before.value + 1,
        reason="the sheet had a typo",
    )
    second = history(range(half, check_ins), CYCLE_DAYS // 2, CYCLE_DAYS - CYCLE_DAYS // 2)
    ledger.import_check_ins(actor=ACTOR, rows=second)
    cycle = ledger.get_cycle(CYCLE)
    then = ledger.get_key_result(key_result_id, known_at=known_at).status(cycle, as_of)
    now = ledger.get_key_result(key_result_id).status(cycle, as_of)
    if (then.value, now.value) != (before.value, before.value + 1):
        raise RuntimeError(f"bitemporal read is wrong: then {then.value}, now {now.value}")
    version_then = ledger.version_at(key_result_id, known_at)
    version_now = ledger.get_key_result(key_result_id).version
    if version_then is None:
        raise RuntimeError("the key result was not yet recorded at T")

    def ours(when: datetime | None) -> list[float]:
        return latencies(
            lambda: ledger.get_key_result(key_result_id, known_at=when).status(cycle, as_of),
            reads,
        )

    select = sql.SQL(
        "SELECT originator_version, state FROM {} WHERE originator_id = %s "
        "AND originator_version <= %s ORDER BY originator_version"
    ).format(server.events_table())

    def raw(conn: Conn, up_to: int) -> list[float]:
        return latencies(
            lambda: conn.execute(select, (key_result_id, up_to), prepare=True).fetchall(), reads
        )

    progress(f"(c) {reads} reads each way")
    with server.connect() as conn:
        samples = [
            ("known_at=T", ours(known_at), raw(conn, version_then), version_then),
            ("known_at=now", ours(None), raw(conn, version_now), version_now),
        ]
        snapshots = conn.execute(
            sql.SQL(
                "SELECT originator_version, octet_length(state) FROM {} "
                "WHERE originator_id = %s ORDER BY originator_version"
            ).format(sql.Identifier(LEDGER_SCHEMA, SNAPSHOTS_TABLE)),
            (key_result_id,),
        ).fetchall()
    for label, mine, theirs, events in samples:
        p50, raw_p50 = percentile(mine, 50), percentile(theirs, 50)
        section.rows += [
            Row(
                f"(c) read {label} ({events:,} events) p50",
                f"{p50 * 1000:.2f} ms",
                f"{raw_p50 * 1000:.2f} ms",
                raw_p50 / p50,
                "p50 <= 5 ms",
                p50 <= 0.005,
            ),
            Row(
                "    p99",
                f"{percentile(mine, 99) * 1000:.2f} ms",
                f"{percentile(theirs, 99) * 1000:.2f} ms",
            ),
        ]
    stored = ", ".join(f"v{version} {size / 1024:.0f} KiB" for version, size in snapshots)
    section.notes += [
        f"(c) ours: get_key_result(known_at).status(cycle, as_of={as_of}), {reads} reads each; "
        f"raw: SELECT version, state of the same event rows, fetchall",
        f"(c) the key result's snapshots: {stored}; the correction shows now "
        f"({now.value}) and not at T ({then.value})",
    ]
    return section


# Running


def versions(server: Server) -> list[str]:
    with server.connect() as conn:
        settings = {
            name: str(value)
            for name, value in conn.execute(
                "SELECT name, setting FROM pg_settings "
                "WHERE name IN ('server_version', 'synchronous_commit', 'fsync')"
            ).fetchall()
        }
    libpq = pq.version()
    revision = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return [
        f"Goalpost ledger benchmark, {datetime.now(tz=UTC):%Y-%m-%d %H:%M} UTC, "
        f"code {revision or 'unknown'}",
        f"eventsourcing {installed_version('eventsourcing')}, psycopg {psycopg.__version__} "
        f"({pq.__impl__}, libpq {libpq // 10000}.{libpq % 10000}), "
        f"PostgreSQL {settings['server_version'].split()[0]} "
        f"(fsync={settings['fsync']}, synchronous_commit={settings['synchronous_commit']}), "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f} at start (other work on the machine skews it)",
    ]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ledger", description=__doc__)
    parser.add_argument("--commands", type=int, default=2000, help="(a) commands to time")
    parser.add_argument("--threads", type=int, default=4, help="(a) concurrent writers")
    parser.add_argument("--import-rows", type=int, default=100_000, help="(b) rows to import")
    parser.add_argument(
        "--check-ins", type=int, default=3000, help="(c) check-ins of the key result"
    )
    parser.add_argument("--reads", type=int, default=100, help="(c) timed reads each way")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--server",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a superuser's URL; the benchmark creates and drops a database there",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.commands, args.import_rows, args.check_ins, args.reads = 200, 5000, 600, 50
    if args.reads < 50:
        parser.error("--reads must be at least 50, or p99 means nothing")
    if args.threads < 1 or args.commands < args.threads:
        parser.error("--commands must be at least --threads, and --threads at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    with bench_database(args.server) as server:
        print("\n".join(versions(server)))
        print(
            f"sizes: --commands {args.commands} --threads {args.threads} "
            f"--import-rows {args.import_rows} --check-ins {args.check_ins} --reads {args.reads}; "
            f"database {server.dbname} (dropped at exit)\n"
        )
        init_store(server.ledger_url)
        ledger = open_ledger(server.ledger_url)
        try:
            ledger.open_cycle(
                actor=ACTOR,
                key=CYCLE,
                starts_on=CYCLE_START,
                ends_on=CYCLE_START + timedelta(days=CYCLE_DAYS - 1),
            )
            sections = [
                bench_commands(ledger, server, args.commands, args.threads),
                bench_import(ledger, server, args.import_rows),
                bench_read(ledger, server, args.check_ins, args.reads),
            ]
        finally:
            ledger.close()
        print(render(sections))


if __name__ == "__main__":
    main()
