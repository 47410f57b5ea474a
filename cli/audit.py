"""`goalpost verify`: recompute the tamper-evidence seal over the whole log."""

from __future__ import annotations

import typer


def verify() -> None:
    """Recompute the seal over the whole log and name the first position that no longer matches."""
    typer.echo("error: the seal is not built yet", err=True)
    raise typer.Exit(2)
