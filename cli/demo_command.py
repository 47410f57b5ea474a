"""`goalpost demo`: tell the demo into an empty store, marked as a demo store (ADR 44)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import CommandLineError, ledger_session, parse_day, user_errors
from cli.demo import DemoStoreError, load_demo
from domain.values import utc_today
from processes.signals import SignalProcess
from projections.registry import worker_for


def demo(
    today: Annotated[
        str | None,
        typer.Option(
            metavar="YYYY-MM-DD",
            help="Tell the story as if loaded on this day (not after today). Default: today.",
        ),
    ] = None,
) -> None:
    """Load the demo into an empty store: last quarter closed and graded, this one to today.

    The store is marked as a demo store, which lets the story carry the record times it
    would have had live; `/readyz`, a response header and `goalpost db status` say so.

    Example: goalpost demo
    """
    with user_errors():
        day = parse_day(today, "--today")
        if day is not None and day > utc_today():
            raise CommandLineError(f"--today {day} is after today: a story is never recorded ahead")
    with user_errors(), ledger_session() as ledger:
        try:
            summary = load_demo(ledger, today=day)
        except DemoStoreError as error:
            typer.echo(f"The demo was not loaded: {error}.", err=True)
            raise typer.Exit(code=1) from None
        # Signals are judged on the read models, today: what a worker beside a live store
        # would have recorded by now.
        worker = worker_for(ledger)
        worker.create_tables()
        worker.run_until_caught_up()
        signals = SignalProcess(ledger).run_once().recorded
        typer.echo(
            f"Loaded the demo into a demo store: {summary.previous_cycle} (closed and graded), "
            f"{summary.current_cycle} (up to today) and the pilot {summary.pilot_cycle}; "
            f"{summary.objectives} objectives, {summary.key_results} key results, "
            f"{summary.check_ins} check-ins, {summary.kpis} KPIs with {summary.readings} "
            f"readings; {len(signals)} signals. See them with `goalpost scores`."
        )
