"""Read models from the command line: the worker that keeps them, their status, rebuilds."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Annotated

import typer

from cli.common import (
    STORE_ERROR,
    CommandLineError,
    fail,
    ledger_session,
    log,
    log_to_stderr,
    stop_on_signals,
    user_errors,
)
from projections.base import ReadModelStatus
from projections.rebuild import Rebuild, RebuildInterruptedError, RebuildSupersededError
from projections.registry import READ_MODELS, read_model_named, worker_for
from projections.seal import SealRebuildRefusedError
from projections.worker import DEFAULT_BATCH, DEFAULT_POLL_SECONDS

projections_app = typer.Typer(
    help="Read models: status and rebuilds.\n\nExample: goalpost projections status",
    no_args_is_help=True,
)


def worker(
    batch_size: Annotated[
        int, typer.Option(min=1, help="Events per transaction and read model.")
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
    """Keep the read models up to date with the log until SIGTERM or Ctrl-C.

    Example: goalpost worker --batch-size 1000
    """
    log_to_stderr()
    with ledger_session() as ledger:
        projections = worker_for(ledger, batch_size=batch_size, poll_interval=poll_interval)
        with stop_on_signals(projections.stop):
            if once:
                applied = projections.run_until_caught_up()
                head, found = projections.status()
                typer.echo(f"Applied {applied} events; log position {head}.")
                typer.echo(render_status(head, found))
                if any(s.failing for s in found):
                    # For cron: a read model stuck on an event is not "caught up".
                    raise typer.Exit(STORE_ERROR)
                return
            head, found = projections.status()
            log.info(
                "worker started at log position %d: %s",
                head,
                ", ".join(f"{s.name} {s.lag} behind" for s in found),
            )
            for line in failing_lines(found):
                log.warning("%s", line)
            projections.run_forever()
            log.info("worker stopped")


def render_status(head: int, found: list[ReadModelStatus]) -> str:
    ours = {model.name: model.definition() for model in READ_MODELS}
    rows = [("read model", "generation", "position", "behind", "rebuilding", "definition")]
    for s in found:
        rebuilding = (
            f"generation {s.building} at {s.building_position}" if s.building is not None else ""
        )
        definition = s.definition or "(not recorded)"
        if s.definition != ours.get(s.name):
            # ADR 17: this release's workers leave it alone until db init or a rebuild.
            definition += f"; this release has {ours.get(s.name)}"
        rows.append(
            (s.name, str(s.generation), str(s.position), str(s.lag), rebuilding, definition)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [f"Log position: {head}"]
    lines.extend("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                 for row in rows)  # fmt: skip
    lines.extend(failing_lines(found))
    return "\n".join(lines)


def failing_lines(found: list[ReadModelStatus]) -> list[str]:
    """One line per read model that cannot apply an event (ADR 25): where, since when, why."""
    return [
        f"FAILING: {s.name} cannot apply the event at position {s.health.failing_position} "
        f"(since {s.health.failing_since.isoformat(timespec='seconds')}, "
        f"{s.health.attempts} attempts): "
        f"{s.health.error}"
        for s in found
        if s.failing and s.health is not None and s.health.failing_since is not None
    ]


@projections_app.command("status")
def projections_status() -> None:
    """Each read model's live generation, the position it reflects and how far behind it is.

    Example: goalpost projections status
    """
    with ledger_session() as ledger:
        typer.echo(render_status(*worker_for(ledger).status()))


def rebuild_progress(name: str, every: float = 2.0) -> Callable[[int, int], None]:
    """Logs a rebuild's position every so often."""
    reported = time.monotonic()

    def progress(position: int, head: int) -> None:
        nonlocal reported
        if time.monotonic() - reported >= every:
            reported = time.monotonic()
            log.info("rebuilding %s: position %d of %d", name, position, head)

    return progress


@projections_app.command("rebuild")
def projections_rebuild(
    names: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="NAME...",
            help=f"Read models to rebuild: {', '.join(m.name for m in READ_MODELS)}.",
        ),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Rebuild every read model.")] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Events per transaction.")] = DEFAULT_BATCH,
) -> None:
    """Rebuild read models from the whole log beside the live ones, then switch to them.

    Reads keep answering from the live generation (and a running worker keeps it
    current) until the rebuilt one has caught up; the switch is one transaction.

    Example: goalpost projections rebuild audit_trail scores
    """
    log_to_stderr()
    with user_errors():
        if every == bool(names):
            raise CommandLineError("name the read models to rebuild, or pass --all")
        try:
            named = READ_MODELS if every else [read_model_named(n) for n in names or ()]
            read_models = list(dict.fromkeys(named))
        except KeyError as error:
            raise CommandLineError(str(error.args[0])) from None
    with ledger_session() as ledger:
        stopping = threading.Event()
        label = ", ".join(read_model.name for read_model in read_models)
        unchanged = f"the live {label} {'is' if len(read_models) == 1 else 'are'} unchanged"
        with stop_on_signals(stopping.set):
            # One pass over the log for all of them, and one switch (ADR 21's batches).
            rebuild = Rebuild(ledger, *read_models, batch_size=batch_size)
            progress = rebuild_progress(label)
            try:
                done = rebuild.run(progress=progress, stopping=stopping)
            except (RebuildInterruptedError, RebuildSupersededError) as error:
                fail(f"{error}; {unchanged}", STORE_ERROR)
            except SealRebuildRefusedError as error:
                # The log no longer matches the live seal: keep the seal as evidence. The
                # others rebuilt with it do not switch either: one pass, one switch.
                rebuild.abandon()
                fail(f"{error}; {unchanged}", STORE_ERROR)
            for rebuilt in done:
                typer.echo(
                    f"Rebuilt {rebuilt.name}: generation {rebuilt.generation} "
                    f"(was {rebuilt.replaced}) is live at position {rebuilt.position}; "
                    f"{rebuilt.events} events in {rebuilt.seconds:.1f} s."
                )
