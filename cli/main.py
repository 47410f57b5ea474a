"""`goalpost`: the operator's command line. Every command reads GOALPOST_DATABASE_URL.

Each command group lives in a module of its own; this one assembles them, in the order
`goalpost --help` lists them, and holds the commands about the goals themselves.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli import audit, demo_command, webhooks
from cli.common import (
    CommandLineError,
    ledger_session,
    parse_day,
    parse_moment,
)
from cli.db import db_app
from cli.imports import import_check_ins
from cli.people import people_app
from cli.processes import processes_app
from cli.projections import projections_app, worker
from cli.render import render_kpis, render_scoreboard
from cli.serve import serve
from cli.signals import signals_app
from cli.tokens import tokens_app
from domain.errors import NotFoundError

app = typer.Typer(
    help="Goalpost operator commands. The store comes from GOALPOST_DATABASE_URL.\n\n"
    "Example: goalpost scores --cycle 2026-Q3",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(db_app, name="db")
app.add_typer(tokens_app, name="tokens")
app.add_typer(projections_app, name="projections")
app.add_typer(processes_app, name="processes")
app.add_typer(people_app, name="people")
app.command("verify")(audit.verify)
app.command("dispatch")(webhooks.dispatch)
app.add_typer(signals_app, name="signals")


app.command("demo")(demo_command.demo)


@app.command()
def scores(
    cycle: Annotated[
        str | None, typer.Option(help="Cycle key, such as 2026-Q3. Default: every cycle.")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            metavar="YYYY-MM-DD",
            help="What was true on this date. Default: today, or a cycle's last day once over.",
        ),
    ] = None,
    known_at: Annotated[
        str | None,
        typer.Option(
            metavar="ISO-TIMESTAMP",
            help="What had been recorded by this time (UTC unless an offset is given).",
        ),
    ] = None,
) -> None:
    """Print the scoreboard of each cycle, then the KPI health table.

    Example: goalpost scores --cycle 2026-Q3 --as-of 2026-08-15
    """
    with ledger_session() as ledger:
        day = parse_day(as_of, "--as-of")
        moment = parse_moment(known_at, "--known-at")
        keys = [cycle] if cycle is not None else ledger.cycle_keys()
        boards = []
        for key in keys:
            try:
                boards.append(ledger.cycle_scoreboard(key, as_of=day, known_at=moment))
            except NotFoundError:
                if cycle is not None:
                    when = f" by {moment.isoformat()}" if moment is not None else ""
                    raise CommandLineError(f"no cycle {cycle} was recorded{when}") from None
                # Listing every cycle at an earlier known_at skips those not yet opened then.
                if moment is None:
                    raise
        if not boards:
            typer.echo("No cycles yet. Load the demo quarter with `goalpost demo`.")
        for board in boards:
            typer.echo(render_scoreboard(board))
            typer.echo("")
        kpi_lines = ledger.kpi_lines(as_of=day, known_at=moment)
        directions = {line.id: ledger.get_kpi(line.id, moment).direction for line in kpi_lines}
        typer.echo(render_kpis(kpi_lines, directions))


app.command("import-check-ins")(import_check_ins)


# After the commands above: `--help` lists commands in the order they were added.
app.command("serve")(serve)
app.command("worker")(worker)
