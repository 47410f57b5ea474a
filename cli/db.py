"""`goalpost db`: create the event store's tables, and name the role that serves from them."""

from __future__ import annotations

from typing import Annotated

import typer

from application.demo_store import is_demo_store
from application.stores import grant_app_role, init_store, open_ledger
from cli.common import database_url, describe_store, user_errors
from processes.kpi_check_ins import create_process_tables
from projections.registry import worker_for
from storage.subscriptions import create_tables as create_webhook_tables

db_app = typer.Typer(
    help="Manage the event store.\n\nExample: goalpost db init", no_args_is_help=True
)


@db_app.command("init")
def db_init(
    app_role: Annotated[
        str | None,
        typer.Option(
            help="PostgreSQL: the role the API and workers connect as. It may append to "
            "the history but never change it, disable its triggers or drop it; run this "
            "as the tables' owner (ADR 22).",
        ),
    ] = None,
) -> None:
    """Create the event tables, indexes and append-only triggers (safe to run again).

    Example: goalpost db init --app-role goalpost_app
    """
    with user_errors():
        url = database_url()
        init_store(url)
        ledger = open_ledger(url)
        try:
            worker = worker_for(ledger)
            worker.create_tables()
            # Explicitly too, for deployments whose serving role may not create tables.
            create_webhook_tables(worker.database)
            create_process_tables(worker.database)
        finally:
            ledger.close()
        typer.echo(f"Initialised {describe_store(url)}")
        if app_role is not None:
            given = grant_app_role(url, app_role)
            typer.echo(
                f"Role {app_role} may read and append to the history, and owns "
                f"{len(given)} read-model tables"
            )


@db_app.command("status")
def db_status() -> None:
    """Name the store, say whether it is a demo store, and give the log's last position.

    Example: goalpost db status
    """
    with user_errors():
        url = database_url()
        ledger = open_ledger(url)
        try:
            head = ledger.recorder.max_notification_id() or 0
            demo = is_demo_store(ledger)
        finally:
            ledger.close()
        typer.echo(describe_store(url))
        typer.echo(f"Log position: {head}")
        typer.echo(
            "Demo store: yes (its story carries the record times it would have had live; ADR 44)"
            if demo
            else "Demo store: no (every record time is the server's clock at the write)"
        )
