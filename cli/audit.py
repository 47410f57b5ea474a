"""`goalpost verify`: recompute the tamper-evidence seal over the whole log."""

from __future__ import annotations

from typing import Annotated

import typer
from eventsourcing.persistence import PersistenceError

from domain.application import SnapshotMismatch
from projections import seal
from projections.database import ViewDatabase
from projections.seal import Anchor, SealUnavailableError, Verification
from storage.ledger import open_ledger
from storage.settings import Settings, StoreUrlError

INTACT = 0
BROKEN = 1
# Not a verdict: the seal could not be read at all.
UNVERIFIED = 2


def verify(
    anchor: Annotated[
        str | None,
        typer.Option(
            metavar="POSITION:HASH",
            help="A head hash recorded earlier from this command's output; "
            "it must still match at its position.",
        ),
    ] = None,
    snapshots: Annotated[
        bool,
        typer.Option(
            "--snapshots",
            help="Also check every stored snapshot against its goal's events (replays "
            "every key result once; slower).",
        ),
    ] = False,
) -> None:
    """Recompute the seal over the whole log and name the first position that no longer matches.

    Exit 0: intact; 1: broken; 2: the seal could not be read.
    """
    try:
        recorded = Anchor.parse(anchor) if anchor is not None else None
        ledger = open_ledger(Settings().database_url)
    except (ValueError, StoreUrlError, PersistenceError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(UNVERIFIED) from None
    checked, mismatches = 0, list[SnapshotMismatch]()
    try:
        result = seal.verify(ledger, ViewDatabase(ledger), anchor=recorded)
        if snapshots:
            checked, mismatches = ledger.check_snapshots()
    except (SealUnavailableError, PersistenceError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(UNVERIFIED) from None
    finally:
        ledger.close()
    for line in report(result):
        typer.echo(line)
    if snapshots:
        if mismatches:
            typer.echo(f"Snapshots BROKEN: {len(mismatches)} of {checked} differ from the events:")
            for found in mismatches:
                typer.echo(
                    f"  key result {found.aggregate_id} version {found.version}: {found.detail}"
                )
        else:
            typer.echo(f"Snapshots intact: {checked} checked against the events.")
    raise typer.Exit(INTACT if result.intact and not mismatches else BROKEN)


def report(result: Verification) -> list[str]:
    """The result as an operator reads it; the anchor line is the one to record elsewhere."""
    if result.intact and not result.sealed_up_to:
        lines = ["Nothing is sealed yet: `goalpost worker` seals the log as it runs."]
    elif result.intact:
        lines = [
            f"Seal intact: {result.checked} events checked, "
            f"sealed up to position {result.sealed_up_to}."
        ]
    else:
        lines = [
            f"Seal BROKEN at position {result.first_bad_position} ({result.finding}): "
            f"{result.detail}.",
            f"{result.checked} events matched before it.",
        ]
    if result.unsealed:
        lines.append(
            f"{result.unsealed} events after position {result.sealed_up_to} are not sealed yet."
        )
    if result.intact and result.anchor_checked:
        lines.append("The recorded anchor matches.")
    if result.intact and result.sealed_up_to:
        lines.append(
            f"Anchor (record it outside this store): {result.sealed_up_to}:{result.head_hash}"
        )
    return lines
