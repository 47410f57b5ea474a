"""`goalpost dispatch`: deliver goal events to webhook subscribers."""

from __future__ import annotations

import typer


def dispatch() -> None:
    """Deliver goal events to webhook subscribers, in order, until stopped."""
    typer.echo("error: webhook delivery is not built yet", err=True)
    raise typer.Exit(2)
