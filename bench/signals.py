"""A signals tick over a long log: what it costs, and that it does not grow with the log.

Run by hand: `.venv/bin/python -m bench.signals` (1,000,000 events; `--quick`: 20,000).
It creates a database of its own on PostgreSQL and drops it at the end. The history is
bench.rebuild's (about 1,000 key results, check-ins in the last week, the first cycle
closed), plus KPIs read a month ago, half of them out of range twice. The clock is set
30 days ahead, so every key result of an open cycle is stale and every KPI overdue.

Timed: the first tick (records every signal), a second tick of the same process
(nothing new: remembered), a tick of a fresh process (nothing new: one lookup per
candidate), and, for scale, loading every key result and KPI from the log and judging
each, which is what a tick would cost without the read models.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

from application.ledger import GoalLedger
from application.stores import init_store, open_ledger
from bench.ledger import bench_database, progress, timed, versions
from bench.rebuild import ACTOR, build_history
from domain.signal import key_result_stale_signal, kpi_candidate_signal, kpi_overdue_signal
from domain.values import utc_today
from processes.signals import SignalProcess
from projections.registry import worker_for

AHEAD_DAYS = 30


def add_kpis(ledger: GoalLedger, count: int) -> None:
    month_ago = utc_today() - timedelta(days=AHEAD_DAYS)
    for n in range(count):
        kpi = ledger.define_kpi(
            actor=ACTOR, area="Bench", name=f"KPI {n}", owner=f"person-{n:04d}", unit="n",
            formula="count", data_source="bench", cadence="weekly", direction="stay_below",
            target=10, target_set_on=month_ago,
        ).id  # fmt: skip
        for value in (5, 20 if n % 2 else 5, 30 if n % 2 else 5):
            ledger.record_kpi_reading(actor=ACTOR, kpi_id=kpi, value=value, effective_on=month_ago)


def judge_everything(ledger: GoalLedger, today: datetime) -> int:
    """The tick without read models: every goal loaded and judged."""
    day, found = today.date(), 0
    cycles = {cycle.key: cycle for cycle in ledger.cycles()}
    for objective_id in ledger.objective_ids():
        for kr_id in ledger.get_objective(objective_id).key_result_ids:
            key_result = ledger.get_key_result(kr_id)
            cycle = cycles[key_result.cycle_id]
            found += key_result_stale_signal(key_result, cycle, day) is not None
    for kpi_id in ledger.kpi_ids():
        kpi = ledger.get_kpi(kpi_id)
        found += kpi_overdue_signal(kpi, day) is not None
        found += kpi_candidate_signal(kpi) is not None
    return found


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.signals", description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the log")
    parser.add_argument("--kpis", type=int, default=200, help="KPIs beside the key results")
    parser.add_argument("--quick", action="store_true", help="20,000 events, for a smoke run")
    parser.add_argument(
        "--server",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a superuser's URL; the benchmark creates and drops a database there",
    )
    args = parser.parse_args(argv)
    events = 20_000 if args.quick else args.events
    with bench_database(args.server) as server:
        print(versions(server)[0].replace("ledger benchmark", "signals benchmark"))
        init_store(server.ledger_url)
        ledger = open_ledger(server.ledger_url)
        try:
            history = build_history(ledger, events, cycles=4)
            add_kpis(ledger, args.kpis)
            progress("catching the read models up")
            worker = worker_for(ledger)
            worker.create_tables()
            worker.run_until_caught_up()
            head = ledger.recorder.max_notification_id() or 0
            ahead = datetime.combine(utc_today() + timedelta(days=AHEAD_DAYS), time(12), UTC)
            process = SignalProcess(ledger, clock=lambda: ahead)
            first, first_s = timed(process.run_once)
            second, second_s = timed(process.run_once)
        finally:
            ledger.close()
        # Fresh processes: nothing of the goals in memory.
        fresh_ledger = open_ledger(server.ledger_url)
        try:
            fresh, fresh_s = timed(SignalProcess(fresh_ledger, clock=lambda: ahead).run_once)
        finally:
            fresh_ledger.close()
        naive_ledger = open_ledger(server.ledger_url)
        try:
            judged, judged_s = timed(lambda: judge_everything(naive_ledger, ahead))
        finally:
            naive_ledger.close()
    print(
        f"log: {head:,} events, {len(history.key_results):,} key results, {args.kpis} KPIs\n"
        f"first tick:               {first_s * 1000:8.0f} ms, {len(first.recorded):,} recorded\n"
        f"same process, next tick:  {second_s * 1000:8.0f} ms, {len(second.recorded)} recorded, "
        f"{second.already_recorded:,} already\n"
        f"fresh process, same day:  {fresh_s * 1000:8.0f} ms, {len(fresh.recorded)} recorded, "
        f"{fresh.already_recorded:,} already\n"
        f"every goal loaded, judged:{judged_s * 1000:8.0f} ms, {judged:,} due"
    )


if __name__ == "__main__":
    main()
