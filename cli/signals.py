"""`goalpost signals run`: record the time-driven signals due on the server's clock."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from cli.common import ledger_session, log, log_to_stderr, stop_on_signals
from processes.signals import DEFAULT_INTERVAL_SECONDS, SignalProcess

signals_app = typer.Typer(
    help="Signals: time-driven facts (stale key results, overdue KPI readings, OKR "
    "candidates, cycles ending) recorded once each.\n\nExample: goalpost signals run",
    no_args_is_help=True,
)


@signals_app.command("run")
def run(
    interval: Annotated[
        float, typer.Option(min=1.0, help="Seconds between evaluations of the clock.")
    ] = DEFAULT_INTERVAL_SECONDS,
    once: Annotated[
        bool, typer.Option("--once", help="Evaluate once, record what is due, then exit.")
    ] = False,
) -> None:
    """Record each signal due today (UTC), once, until SIGTERM or Ctrl-C.

    Reads the scores and KPI health read models (keep `goalpost worker` running) and
    decides each signal on the goal itself. Any number may run: each occurrence is
    recorded once.

    Example: goalpost signals run --once
    """
    log_to_stderr()
    with ledger_session() as ledger:
        process = SignalProcess(ledger)
        if once:
            tick = process.run_once()
            typer.echo(
                f"Signals for {tick.today}: {len(tick.recorded)} recorded, "
                f"{tick.already_recorded} already recorded."
            )
            return
        stop = threading.Event()
        with stop_on_signals(stop.set):
            log.info("signals: evaluating every %.0f s", interval)
            process.run_forever(stop, interval)
            log.info("signals stopped")
