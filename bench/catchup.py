"""One worker bringing every read model up from nothing: batched together vs one by one.

Run by hand: `.venv/bin/python -m bench.catchup` (200,000 events; `--events N`). It
creates a database of its own on PostgreSQL and drops it at the end, builds the same
history as `bench.rebuild`, then has `goalpost worker --once` catch up from empty
read models twice, each time in a process of its own so its peak memory is its own:

- baseline: every read model in a batch of its own, each with its own replicas of the
  goals (`ProjectionWorker(together=False)`, the worker before ADR 21);
- ours: read models at one position batched together, one set of replicas (ADR 21).

Between the two runs the read-model tables are dropped, so both start from nothing.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Sequence

from psycopg import sql

from application.stores import init_store, open_ledger
from bench.ledger import LEDGER_SCHEMA, Row, Section, Server, bench_database, progress, render
from bench.ledger import versions as machine_versions
from bench.rebuild import build_history
from projections.registry import READ_MODELS
from projections.worker import ProjectionWorker

# The ledger's own tables; everything else in its schema belongs to read models.
LEDGER_TABLES = {
    "goalpost_events",
    "goalpost_events_requests",
    "goalpost_events_times",
    "goalpost_snapshots",
}


def catch_up(url: str, together: bool) -> dict[str, float]:
    """In this process: one worker, every read model, from empty to the log's head."""
    ledger = open_ledger(url)
    try:
        worker = ProjectionWorker(ledger, READ_MODELS, together=together)
        worker.create_tables()
        started = time.perf_counter()
        applied = worker.run_until_caught_up()
        seconds = time.perf_counter() - started
    finally:
        ledger.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"applied": applied, "seconds": seconds, "peak_mib": peak}


def run_child(url: str, together: bool) -> dict[str, float]:
    code = (
        "import json, sys; from bench.catchup import catch_up; "
        f"print(json.dumps(catch_up({url!r}, {together!r})))"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def drop_read_models(server: Server) -> None:
    with server.connect() as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (LEDGER_SCHEMA,)
        ).fetchall()
        for (table,) in rows:
            if table not in LEDGER_TABLES:
                conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(LEDGER_SCHEMA, table)))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.catchup", description=__doc__)
    parser.add_argument("--events", type=int, default=200_000, help="events in the log")
    parser.add_argument("--cycles", type=int, default=4, help="cycles the key results fall in")
    parser.add_argument(
        "--server",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a superuser's URL; the benchmark creates and drops a database there",
    )
    args = parser.parse_args(argv)
    if args.events < 5_000:
        parser.error("--events must be at least 5,000")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    with bench_database(args.server) as server:
        header = machine_versions(server)
        header[0] = header[0].replace("ledger benchmark", "worker catch-up benchmark")
        print("\n".join(header))
        print(f"sizes: --events {args.events:,} --cycles {args.cycles}", flush=True)
        init_store(server.ledger_url)
        ledger = open_ledger(server.ledger_url)
        try:
            history = build_history(ledger, args.events, args.cycles)
        finally:
            ledger.close()
        events = history.events
        progress("baseline: each read model in a batch of its own")
        alone = run_child(server.ledger_url, together=False)
        drop_read_models(server)
        progress("ours: read models at one position batched together")
        shared = run_child(server.ledger_url, together=True)
    section = Section()
    section.rows += [
        Row(
            f"catch up {events:,} events, every read model",
            f"{events / shared['seconds']:,.0f} ev/s",
            f"{events / alone['seconds']:,.0f} ev/s",
            alone["seconds"] / shared["seconds"],
        ),
        Row(
            "    peak memory of the worker process",
            f"{shared['peak_mib']:,.0f} MiB",
            f"{alone['peak_mib']:,.0f} MiB",
        ),
    ]
    section.notes.append(
        "ours: ProjectionWorker(together=True); baseline (the 'raw' column): together=False, "
        "the same worker applying each read model in a batch of its own; same log, same run"
    )
    print(render([section]))


if __name__ == "__main__":
    main()
