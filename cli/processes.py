"""`goalpost processes`: the workers that follow the log and record events (ADR 38)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import ledger_session, log, log_to_stderr, stop_on_signals
from processes.kpi_check_ins import DEFAULT_BATCH, DEFAULT_POLL_SECONDS, KpiCheckInProcess

processes_app = typer.Typer(
    help="Processes that record events by following the log.\n\nExample: goalpost processes run",
    no_args_is_help=True,
)


@processes_app.command("run")
def run(
    batch_size: Annotated[
        int, typer.Option(min=1, help="Log events read at a time.")
    ] = DEFAULT_BATCH,
    poll_interval: Annotated[
        float,
        typer.Option(
            min=0.01,
            help="Seconds between polls for new events (PostgreSQL is also woken by NOTIFY).",
        ),
    ] = DEFAULT_POLL_SECONDS,
    once: Annotated[
        bool, typer.Option("--once", help="Catch up with the log, then exit (for cron and tests).")
    ] = False,
) -> None:
    """Turn KPI readings into check-ins on the key results they measure, until SIGTERM.

    Safe to run several at once and to kill at any point: each reading becomes one
    check-in however often it is handled.

    Example: goalpost processes run --once
    """
    log_to_stderr()
    with ledger_session() as ledger:
        process = KpiCheckInProcess(ledger, batch_size=batch_size, poll_interval=poll_interval)
        if process.database.dialect == "sqlite":
            # On PostgreSQL `goalpost db init` creates tables; SQLite has one writer at a time.
            process.create_tables()
        with stop_on_signals(process.stop):
            if once:
                process.run_until_caught_up()
                outcomes = ", ".join(f"{n} {o}" for o, n in sorted(process.tally.outcomes.items()))
                typer.echo(
                    f"KPI check-ins at log position {process.position()}: "
                    f"{outcomes or 'nothing to do'}."
                )
                return
            log.info("KPI process started at log position %d", process.position())
            process.run_forever()
            log.info("KPI process stopped")


@processes_app.command("status")
def status() -> None:
    """Where each process stands against the log.

    Example: goalpost processes status
    """
    with ledger_session() as ledger:
        process = KpiCheckInProcess(ledger)
        head = process.database.head()
        position = process.position()
        typer.echo(f"Log position: {head}")
        typer.echo(f"{process.name}: position {position}, {max(head - position, 0)} behind")
