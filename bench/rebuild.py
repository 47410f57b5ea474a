"""Rebuilding the read models from a long log, beside raw reads of the same log, same run.

Run by hand: `.venv/bin/python -m bench.rebuild` (1,000,000 events, a few minutes to
import and more to rebuild), or `--quick` for a smoke run of 20,000. It creates a
database of its own on PostgreSQL and drops it at the end, even after a failure.

(a) raw reads of the log: `recorder.select_notifications` in pages, and a plain psycopg
    SELECT of the events table (server-side cursor), both in events/s;
(b) all read models rebuilt from the whole log together in one pass
    (`Rebuild(ledger, *models).run()`, what `goalpost projections rebuild --all` does),
    then each alone (`Rebuild(ledger, Model).run()`), in events/s and against (a);
(c) read latency of the change report of one cycle, of one person's evidence and of scores,
    timed in a process of its own started as an API worker is (bench/read_process.py).

The history is ~1,000 key results over a few cycles, filled by `import_check_ins`, then
one correction of each key result of the first cycle after it is closed. The cycles run
from six days ago so the imported check-ins are not backdated: the change report then
lists genuine changes (the corrections), not every imported row.
"""

from __future__ import annotations

import argparse
import resource
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

from psycopg import sql

from application.ledger import CheckInImport, GoalLedger
from application.stores import init_store, open_ledger
from bench.ledger import (
    EVENTS_TABLE,
    LEDGER_SCHEMA,
    Row,
    Section,
    Server,
    bench_database,
    progress,
    render,
    timed,
    versions,
)
from bench.read_process import reads_in_own_process
from domain.values import utc_today
from projections.base import ReadModel
from projections.rebuild import Rebuild
from projections.registry import READ_MODELS, read_model_named, worker_for
from projections.worker import DEFAULT_BATCH

ACTOR = "bench"
PAGE = 1000
IMPORT_CHUNK = 50_000
CHECK_INS_PER_KEY_RESULT = 1000
MAX_KEY_RESULTS = 1000
KEY_RESULTS_PER_OBJECTIVE = 25
KEY_RESULTS_PER_PERSON = 10
CYCLE_DAYS = 91
# Check-ins fall in the last week, so none is flagged backdated (more than 7 days).
RECENT_DAYS = 7
# Beside the bench's heavy owners (10 key results of ~1,000 check-ins each): one person
# with a realistic quarter, 10 key results checked in weekly.
QUARTER_PERSON = "person-quarter"
QUARTER_CHECK_INS = 13


@dataclass(frozen=True)
class History:
    events: int
    cycles: list[str]
    starts_on: date
    ends_on: date
    key_results: list[UUID]
    owners: list[str]
    corrections: int
    quarter_person: str


def person(n: int) -> str:
    return f"person-{n:04d}"


def build_history(ledger: GoalLedger, events: int, cycles: int) -> History:
    """About `events` events: goals, imported check-ins, then late corrections."""
    key_result_count = max(KEY_RESULTS_PER_OBJECTIVE, min(MAX_KEY_RESULTS, events // 200))
    today = utc_today()
    starts_on = today - timedelta(days=RECENT_DAYS - 1)
    ends_on = starts_on + timedelta(days=CYCLE_DAYS - 1)
    keys = [f"bench-{n + 1}" for n in range(cycles)]
    for key in keys:
        ledger.open_cycle(actor=ACTOR, key=key, starts_on=starts_on, ends_on=ends_on)
    key_results: list[UUID] = []
    by_cycle: dict[str, list[UUID]] = {key: [] for key in keys}
    progress(f"planning {key_result_count:,} key results in {cycles} cycles")
    objective = UUID(int=0)
    for n in range(key_result_count):
        cycle = keys[(n // KEY_RESULTS_PER_OBJECTIVE) % cycles]
        if n % KEY_RESULTS_PER_OBJECTIVE == 0:
            objective = ledger.create_objective(
                actor=ACTOR,
                cycle_id=cycle,
                title=f"Objective {n // KEY_RESULTS_PER_OBJECTIVE}",
                owner=person(n // KEY_RESULTS_PER_PERSON),
                kind="committed",
            ).id
        kr = _key_result(
            ledger, objective, person(n // KEY_RESULTS_PER_PERSON), f"Key result {n}",
            f"points({n})", starts_on,
        )  # fmt: skip
        key_results.append(kr)
        by_cycle[cycle].append(kr)
    _plan_quarter_person(ledger, keys[0], starts_on)
    # Fill up to `events` with check-ins, leaving room for one correction per key result
    # of the first cycle and the close of that cycle.
    corrections = len(by_cycle[keys[0]])
    head = ledger.recorder.max_notification_id() or 0
    rows = max(0, events - head - corrections - 1)
    progress(f"importing {rows:,} check-ins")
    imported = 0
    while imported < rows:
        chunk = min(IMPORT_CHUNK, rows - imported)
        report = ledger.import_check_ins(
            actor=ACTOR, rows=_check_ins(key_results, imported, chunk, starts_on)
        )
        imported += report.imported
        progress(f"imported {imported:,} of {rows:,}")
    first = keys[0]
    ledger.close_cycle(actor=ACTOR, key=first)
    progress(f"correcting one check-in of each of {corrections:,} key results of {first}")
    for kr_id in by_cycle[first]:
        key_result = ledger.get_key_result(kr_id)
        check_in = next(iter(key_result.check_ins.values()), None)
        if check_in is None:
            continue
        ledger.correct_check_in(
            actor=ACTOR,
            key_result_id=kr_id,
            check_in_id=check_in.id,
            value=check_in.value + 1,
            reason="the export double-counted one row",
            reason_code="data_error",
        )
    return History(
        events=ledger.recorder.max_notification_id() or 0,
        cycles=keys,
        starts_on=starts_on,
        ends_on=ends_on,
        key_results=key_results,
        owners=sorted({person(n // KEY_RESULTS_PER_PERSON) for n in range(key_result_count)}),
        corrections=corrections,
        quarter_person=QUARTER_PERSON,
    )


def _plan_quarter_person(ledger: GoalLedger, cycle: str, starts_on: date) -> None:
    """One objective of 10 key results, each with a quarter's weekly check-ins (13)."""
    objective = ledger.create_objective(
        actor=ACTOR, cycle_id=cycle, title="A realistic quarter", owner=QUARTER_PERSON,
        kind="committed",
    ).id  # fmt: skip
    key_results = [
        _key_result(
            ledger, objective, QUARTER_PERSON, f"Quarter key result {n}", f"quarter({n})", starts_on
        )
        for n in range(KEY_RESULTS_PER_PERSON)
    ]
    ledger.import_check_ins(
        actor=ACTOR,
        rows=_check_ins(key_results, 0, QUARTER_CHECK_INS * len(key_results), starts_on),
    )


def _key_result(
    ledger: GoalLedger, objective: UUID, owner: str, title: str, query: str, starts_on: date
) -> UUID:
    """A key result of points, 0 to 100, from the cycle's first day."""
    return ledger.create_key_result(
        actor=ACTOR,
        objective_id=objective,
        title=title,
        owner=owner,
        unit="points",
        direction="increase",
        baseline=0,
        target=100,
        measurement_source="bench",
        measurement_query=query,
        effective_on=starts_on,
    ).id


def _check_ins(
    key_results: Sequence[UUID], offset: int, count: int, starts_on: date
) -> Iterator[CheckInImport]:
    streams = len(key_results)
    for i in range(offset, offset + count):
        yield CheckInImport(
            key_result_id=key_results[i % streams],
            value=f"{i % 97}.5",
            confidence="on_track",
            effective_on=starts_on + timedelta(days=(i // streams) % RECENT_DAYS),
            note=f"imported row {i}",
        )


# (a) Raw reads of the log


def read_notifications(ledger: GoalLedger) -> int:
    count, start = 0, 0
    while True:
        page = ledger.recorder.select_notifications(
            start=start, limit=PAGE, inclusive_of_start=False
        )
        count += len(page)
        if len(page) < PAGE:
            return count
        start = page[-1].id


def read_psycopg(server: Server) -> int:
    count = 0
    with server.connect() as conn, conn.transaction():
        query = sql.SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state"
            " FROM {} ORDER BY notification_id"
        ).format(sql.Identifier(LEDGER_SCHEMA, EVENTS_TABLE))
        with conn.cursor(name="bench_rebuild") as cursor:
            cursor.itersize = PAGE
            cursor.execute(query)
            for _ in cursor:
                count += 1
    return count


def peak_rss_mib() -> float:
    """The process's peak resident memory: the replicas a rebuild holds are most of it."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def rate(events: int, seconds: float) -> str:
    return f"{events / seconds:,.0f} ev/s"


def bench_raw(ledger: GoalLedger, server: Server, events: int) -> tuple[Section, float, float]:
    section = Section()
    progress("(a) reading the log with select_notifications")
    counted, recorder_s = timed(lambda: read_notifications(ledger))
    if counted != events:
        raise RuntimeError(f"select_notifications read {counted} of {events} events")
    progress("(a) reading the log with psycopg")
    counted, raw_s = timed(lambda: read_psycopg(server))
    if counted != events:
        raise RuntimeError(f"psycopg read {counted} of {events} events")
    progress(f"(a) select_notifications {rate(events, recorder_s)}, psycopg {rate(events, raw_s)}")
    section.rows.append(
        Row(
            f"(a) read the log ({events:,} events)",
            rate(events, recorder_s),
            rate(events, raw_s),
            raw_s / recorder_s,
        )
    )
    section.notes.append(
        f"(a) ours: recorder.select_notifications, pages of {PAGE:,}; raw: SELECT of the "
        "events table in position order through a server-side cursor"
    )
    return section, recorder_s, raw_s


# (b) Rebuilds


def bench_rebuilds(
    ledger: GoalLedger,
    events: int,
    recorder_s: float,
    raw_s: float,
    batch: int,
    read_models: Sequence[type[ReadModel]],
) -> Section:
    section = Section()
    # Empty live generations, so each rebuild starts from nothing and switches to its own.
    worker_for(ledger).create_tables()
    # The one pass first: peak memory only grows, and this is what `--all` now runs.
    together_row, together_s = _rebuild(
        ledger, events, raw_s, batch, read_models, "all read models together, one pass"
    )
    peak = f"{peak_rss_mib():,.0f} MiB"
    total_s = 0.0
    for read_model in read_models:
        row, seconds = _rebuild(ledger, events, raw_s, batch, [read_model], read_model.name)
        section.rows.append(row)
        total_s += seconds
    section.rows += [
        Row("(b) peak memory of the process (RSS) after the one pass", peak, ""),
        Row(
            "(b) rebuild those, in turn",
            rate(events, total_s),
            rate(events, raw_s),
            raw_s / total_s,
        ),
        together_row,
    ]
    section.notes += [
        "(b) first Rebuild(ledger, *read_models).run(), as `goalpost projections rebuild "
        "--all` (each batch read and decoded once for all), then Rebuild(ledger, Model)"
        f".run() for each in turn; batches of {batch}; speed is against the raw psycopg "
        f"read; together {total_s / together_s:.2f}x the speed in turn",
        f"(b) against select_notifications ({rate(events, recorder_s)}): "
        + ", ".join(
            f"{row.name.removeprefix('(b) rebuild ')} "
            f"{(recorder_s / raw_s) * (row.speed or 0):.3f}x"
            for row in section.rows
            if row.speed is not None
        ),
    ]
    return section


def _rebuild(
    ledger: GoalLedger,
    events: int,
    raw_s: float,
    batch: int,
    read_models: Sequence[type[ReadModel]],
    label: str,
) -> tuple[Row, float]:
    """One rebuild of these read models (in one pass); its row and its seconds."""
    progress(f"(b) rebuilding {label}")
    done = Rebuild(ledger, *read_models, batch_size=batch).run()
    seconds = done[0].seconds
    if any(rebuilt.position != events for rebuilt in done):
        raise RuntimeError(f"{label} rebuilt to {done[0].position}, not {events}")
    progress(
        f"(b) rebuilt {label} in {seconds:.1f} s: {rate(events, seconds)}, "
        f"{raw_s / seconds:.3f}x raw psycopg; peak memory of this process so far "
        f"{peak_rss_mib():,.0f} MiB"
    )
    row = Row(f"(b) rebuild {label}", rate(events, seconds), rate(events, raw_s), raw_s / seconds)
    return row, seconds


# Running


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.rebuild", description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the log")
    parser.add_argument("--cycles", type=int, default=4, help="cycles the key results fall in")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="events per rebuild tx")
    parser.add_argument("--reads", type=int, default=100, help="(c) timed reads each")
    parser.add_argument(
        "--read-models",
        nargs="+",
        default=[m.name for m in READ_MODELS],
        help="(b) read models to rebuild, in this order (default: all)",
    )
    parser.add_argument("--quick", action="store_true", help="20,000 events, for a smoke run")
    parser.add_argument(
        "--server",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a superuser's URL; the benchmark creates and drops a database there",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.events = 20_000
    if args.events < 5_000:
        parser.error("--events must be at least 5,000")
    if args.cycles < 1 or args.batch < 1:
        parser.error("--cycles and --batch must be at least 1")
    if args.reads < 50:
        parser.error("--reads must be at least 50, or p99 means nothing")
    if "audit_trail" not in args.read_models:
        parser.error("--read-models must include audit_trail: (c) reads it")
    try:
        args.models = [read_model_named(name) for name in args.read_models]
    except KeyError as error:
        parser.error(str(error.args[0]))
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    with bench_database(args.server) as server:
        header = versions(server)
        header[0] = header[0].replace("ledger benchmark", "read-model rebuild benchmark")
        print("\n".join(header))
        print(
            f"sizes: --events {args.events:,} --cycles {args.cycles} --batch {args.batch} "
            f"--reads {args.reads} --read-models {' '.join(args.read_models)}; "
            f"database {server.dbname} (dropped at exit)",
            flush=True,
        )
        init_store(server.ledger_url)
        ledger = open_ledger(server.ledger_url)
        try:
            history, build_s = timed(lambda: build_history(ledger, args.events, args.cycles))
            print(
                f"history: {history.events:,} events, {len(history.key_results):,} key results, "
                f"{len(history.owners)} owners, {history.corrections} late corrections, "
                f"built in {build_s:.0f} s ({rate(history.events, build_s)}); peak memory "
                f"so far {peak_rss_mib():,.0f} MiB (the import holds every key result)\n",
                flush=True,
            )
            raw, recorder_s, raw_s = bench_raw(ledger, server, history.events)
            sections = [
                raw,
                bench_rebuilds(ledger, history.events, recorder_s, raw_s, args.batch, args.models),
                reads_in_own_process(server.ledger_url, history, args.reads, args.models),
            ]
        finally:
            ledger.close()
        print(render(sections))


if __name__ == "__main__":
    main()
