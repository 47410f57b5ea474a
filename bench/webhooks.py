"""Webhooks and the event feed on PostgreSQL: delivery latency, and feed reads beside raw SQL.

(a) End-to-end latency from a check-in's commit (the command has returned) to its
    webhook's arrival at a receiver on 127.0.0.1, through a `goalpost dispatch` process
    (LISTEN wake-up, lease, signing, one POST, position stored): p50/p99 at a steady rate,
    then the time to drain a burst.
(b) Feed read throughput: `read_page` (select, decode, CloudEvents) over the whole log in
    pages, beside the recorder's own select and a raw psycopg SELECT of the same rows in
    the same run.

(c) With `--subscribers N`, instead of (a) and (b): commit -> webhook p50/p99 with one
    subscription, then with N - 1 more that match nothing (fan-out on and off), then N
    that all match, in one run (bench/webhook_subscribers.py).

Run by hand: `.venv/bin/python -m bench.webhooks` (`--quick` for a smoke run). It creates
a database of its own and drops it at the end, even after a failure. Deliveries go to
127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import IO

from psycopg import sql

from api.routes.webhooks import check_secret
from application.ledger import CheckInImport, GoalLedger
from application.stores import init_store, open_ledger
from bench.ledger import (
    ACTOR,
    CYCLE,
    CYCLE_DAYS,
    CYCLE_START,
    EVENTS_TABLE,
    LEDGER_SCHEMA,
    Row,
    Section,
    Server,
    bench_database,
    day,
    percentile,
    plan_key_results,
    progress,
    render,
    versions,
)
from bench.webhook_subscribers import bench_subscribers
from delivery.cloud_events import GOAL_TOPICS
from delivery.feed import read_page
from storage.subscriptions import WebhookSpec, WebhookStore
from storage.views import ViewDatabase
from tests.webhook_receiver import Delivery, Receiver, receiving

WAIT_SECONDS = 60.0


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def start_dispatcher(server: Server, log: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "from cli.main import app; app()", "dispatch"],
        # The receiver is on 127.0.0.1: a private destination, allowed here.
        env={
            **os.environ,
            "GOALPOST_DATABASE_URL": server.ledger_url,
            "GOALPOST_WEBHOOK_ALLOW_PRIVATE": "true",
        },
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


def arrival(
    receiver: Receiver,
    webhook_id: str,
    dispatcher: subprocess.Popen[bytes],
    path: str = "/bench",
) -> float:
    """When the event's first delivery to `path` arrived (waiting while the dispatcher runs)."""
    found: list[float] = []

    def arrived(deliveries: list[Delivery]) -> bool:
        for delivery in reversed(deliveries):
            if delivery.webhook_id == webhook_id and delivery.path == path:
                found.append(delivery.arrived)
                return True
        return False

    deadline = time.monotonic() + WAIT_SECONDS
    while not receiver.wait_until(arrived, 1.0):
        if dispatcher.poll() is not None:
            raise RuntimeError(f"the dispatcher exited with {dispatcher.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{webhook_id} was not delivered within {WAIT_SECONDS} s")
    return found[0]


def bench_latency(
    ledger: GoalLedger, server: Server, check_ins: int, rate: float, burst: int
) -> Section:
    section = Section()
    [key_result] = plan_key_results(ledger, "Webhook latency", 1)
    with receiving() as receiver, tempfile.TemporaryFile() as log:
        store = WebhookStore(ViewDatabase(ledger))
        head = ledger.recorder.max_notification_id() or 0
        store.add(
            WebhookSpec("bench", receiver.url("/bench"), check_secret(None), [], None, None, head)
        )
        dispatcher = start_dispatcher(server, log)
        try:
            # Warm up: the dispatcher has started, leased, and delivered once.
            saved = ledger.record_check_in(
                actor=ACTOR,
                key_result_id=key_result,
                value="1",
                confidence="on_track",
                effective_on=CYCLE_START,
            )
            arrival(receiver, f"{key_result}:{saved.version}", dispatcher)

            progress(f"(a) {check_ins} check-ins at {rate:g}/s, each waited for")
            latencies: list[float] = []
            commands: list[float] = []
            interval = 1 / rate
            for i in range(check_ins):
                started = time.time()
                saved = ledger.record_check_in(
                    actor=ACTOR,
                    key_result_id=key_result,
                    value=f"{i % 97}.5",
                    confidence="on_track",
                    effective_on=day(i),
                )
                committed = time.time()
                latencies.append(
                    arrival(receiver, f"{key_result}:{saved.version}", dispatcher) - committed
                )
                commands.append(committed - started)
                time.sleep(max(0.0, started + interval - time.time()))

            progress(f"(a) a burst of {burst} check-ins, then a backlog of as many")
            before_burst = ledger.recorder.max_notification_id() or 0
            saved_burst = []
            for i in range(burst):
                last = ledger.record_check_in(
                    actor=ACTOR,
                    key_result_id=key_result,
                    value=f"{i % 97}.5",
                    confidence="on_track",
                    effective_on=day(i),
                )
                saved_burst.append(last)
            written = time.time()
            first_id = f"{key_result}:{saved_burst[0].version}"
            last_id = f"{key_result}:{last.version}"
            drained = arrival(receiver, last_id, dispatcher)
            # A second subscription from before the burst: a backlog delivered back to back.
            store.add(
                WebhookSpec(
                    "bench", receiver.url("/backlog"), check_secret(None), [], None, None,
                    before_burst,
                )
            )  # fmt: skip
            # Timed from the first delivery: a new subscription waits for the next poll.
            backlog_started = arrival(receiver, first_id, dispatcher, "/backlog")
            backlog_done = arrival(receiver, last_id, dispatcher, "/backlog")
        except BaseException:
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace")[-4000:])
            raise
        finally:
            dispatcher.terminate()
            dispatcher.wait(timeout=30)
    section.rows += [
        Row(
            f"(a) commit -> webhook, {check_ins} at {rate:g}/s: p50",
            ms(percentile(latencies, 50)),
            "",
        ),
        Row("    p99", ms(percentile(latencies, 99)), ""),
        Row("    max", ms(max(latencies)), ""),
        Row("    the check-in command itself, p50", ms(percentile(commands, 50)), ""),
        Row(
            f"(a) burst of {burst}: last delivered after the last commit",
            ms(drained - written),
            "",
        ),
        Row(
            f"(a) backlog of {burst} for a new subscription: deliveries/s",
            f"{(burst - 1) / (backlog_done - backlog_started):,.0f}",
            "",
        ),
    ]
    section.notes += [
        "(a) one subscription, one `goalpost dispatch` process (default settings), a "
        "receiver on 127.0.0.1 answering 200 at once; latency from the command's return "
        "to the request's arrival; deliveries to one subscription are one at a time, "
        "each position stored before the next is sent",
    ]
    return section


def bench_feed(ledger: GoalLedger, server: Server, events: int, page: int) -> Section:
    section = Section()
    streams = 50
    key_results = plan_key_results(ledger, "Feed history", streams)
    progress(f"(b) importing {events:,} check-ins for the feed to read")
    ledger.import_check_ins(
        actor=ACTOR,
        rows=[
            CheckInImport(
                key_result_id=key_results[i % streams],
                value=f"{i % 97}.5",
                confidence="on_track",
                effective_on=day(i // streams),
                note="imported for the feed bench",
            )
            for i in range(events)
        ],
    )
    head = ledger.recorder.max_notification_id() or 0

    def ours() -> int:
        read = cursor = 0
        while cursor < head:
            result = read_page(ledger, cursor, page, GOAL_TOPICS)
            read += len(result.events)
            cursor = result.next_after
        return read

    def recorder() -> int:
        read = cursor = 0
        while True:
            rows = ledger.recorder.select_notifications(
                start=cursor, limit=page, topics=GOAL_TOPICS, inclusive_of_start=False
            )
            if not rows:
                return read
            read += len(rows)
            cursor = rows[-1].id

    select = sql.SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state FROM {} "
        "WHERE notification_id > %s AND topic = ANY(%s) ORDER BY notification_id LIMIT %s"
    ).format(sql.Identifier(LEDGER_SCHEMA, EVENTS_TABLE))

    def raw() -> int:
        read = cursor = 0
        with server.connect() as conn:
            while True:
                rows = conn.execute(select, (cursor, GOAL_TOPICS, page)).fetchall()
                if not rows:
                    return read
                read += len(rows)
                cursor = rows[-1][0]

    timings: dict[str, tuple[int, float]] = {}
    for name, reader in (("raw", raw), ("recorder", recorder), ("ours", ours)):
        reader()  # warm the cache
        progress(f"(b) reading the log: {name}")
        started = time.perf_counter()
        count = reader()
        timings[name] = (count, time.perf_counter() - started)
    count, seconds = timings["ours"]
    raw_count, raw_seconds = timings["raw"]
    rec_count, rec_seconds = timings["recorder"]
    if not count == raw_count == rec_count:
        raise RuntimeError(f"readers disagree: ours {count}, recorder {rec_count}, raw {raw_count}")
    section.rows += [
        Row(
            f"(b) feed read, {count:,} events in pages of {page}: events/s",
            f"{count / seconds:,.0f}",
            f"{raw_count / raw_seconds:,.0f}",
            raw_seconds / seconds,
        ),
        Row(
            "    recorder select alone (no decoding): events/s",
            f"{rec_count / rec_seconds:,.0f}",
            "",
        ),
        Row("    whole log", f"{seconds:.2f} s", f"{raw_seconds:.2f} s"),
    ]
    section.notes += [
        "(b) ours: read_page = recorder select + upcast/decode + CloudEvents JSON per "
        "event; raw: the same rows' columns (state as bytes) by SELECT, paged alike",
    ]
    return section


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__)
    parser.add_argument("--check-ins", type=int, default=500, help="(a) check-ins timed")
    parser.add_argument("--rate", type=float, default=20.0, help="(a) check-ins a second")
    parser.add_argument("--burst", type=int, default=500, help="(a) check-ins in the burst")
    parser.add_argument("--feed-events", type=int, default=50_000, help="(b) events in the log")
    parser.add_argument("--page", type=int, default=500, help="(b) events a page")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--subscribers", type=int, default=0, help="(c) only: subscriptions, e.g. 1000"
    )
    parser.add_argument(
        "--unindexed-check-ins", type=int, default=30, help="(c) check-ins with fan-out off"
    )
    parser.add_argument(
        "--all-matching-check-ins", type=int, default=10, help="(c) check-ins, all matching"
    )
    parser.add_argument(
        "--server",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a superuser's URL; the benchmark creates and drops a database there",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.check_ins, args.burst, args.feed_events = 100, 100, 5000
    if args.check_ins < 100:
        parser.error("--check-ins must be at least 100, or p99 means nothing")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    with bench_database(args.server) as server:
        print("\n".join(versions(server)))
        print(
            f"sizes: --check-ins {args.check_ins} --rate {args.rate:g} --burst {args.burst} "
            f"--feed-events {args.feed_events} --page {args.page}; "
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
            if args.subscribers:
                sections = [
                    bench_subscribers(
                        ledger,
                        server,
                        args.subscribers,
                        args.check_ins,
                        args.rate,
                        args.unindexed_check_ins,
                        args.all_matching_check_ins,
                    )
                ]
            else:
                sections = [
                    bench_latency(ledger, server, args.check_ins, args.rate, args.burst),
                    bench_feed(ledger, server, args.feed_events, args.page),
                ]
        finally:
            ledger.close()
        print(render(sections))


if __name__ == "__main__":
    main()
