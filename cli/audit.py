"""`goalpost verify`: recompute the tamper-evidence seal over the whole log."""

from __future__ import annotations

from typing import Annotated

import typer
from eventsourcing.persistence import PersistenceError

from application.ledger import SnapshotMismatch
from application.stores import open_ledger
from projections import seal
from projections.seal import Anchor, Finding, SealUnavailableError, Verification
from storage.settings import Settings, StoreUrlError
from storage.views import ViewDatabase

INTACT = 0
BROKEN = 1
# Not a verdict: the seal could not be read at all.
UNVERIFIED = 2
# Nothing found wrong, but the seal has not reached the log's head: not intact either.
NOT_YET_SEALED = 3


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

    Exit 0: intact (every event up to the head checked); 1: broken; 2: the seal could not
    be read; 3: nothing wrong found, but events up to the head are not sealed yet.

    Example: goalpost verify --snapshots
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
    if mismatches or not (result.intact or result.finding is Finding.NOT_YET_SEALED):
        raise typer.Exit(BROKEN)
    raise typer.Exit(INTACT if result.intact else NOT_YET_SEALED)


def report(result: Verification) -> list[str]:
    """The result as an operator reads it; the anchor line is the one to record elsewhere."""
    # The sealed part checked out: its head is worth recording even while more awaits.
    sound = result.intact or result.finding is Finding.NOT_YET_SEALED
    if result.intact and not result.log_head:
        lines = ["The log is empty: nothing to verify."]
    elif result.intact:
        lines = [
            f"Seal intact: {result.checked} events checked, up to the log's head at "
            f"position {result.log_head}."
        ]
    elif result.finding is Finding.NOT_YET_SEALED:
        lines = [
            f"Not verified to the head: {result.checked} events checked up to position "
            f"{result.sealed_up_to}, but {result.unsealed} events after it, up to position "
            f"{result.log_head}, are not sealed yet: run `goalpost worker`, then verify again."
        ]
    else:
        where = (
            f" at position {result.first_bad_position}"
            if result.first_bad_position is not None
            else ""
        )
        lines = [
            f"Seal BROKEN{where} ({result.finding}): {result.detail}.",
            f"{result.checked} events matched before it.",
        ]
        if result.unsealed:
            lines.append(
                f"{result.unsealed} events after position {result.sealed_up_to} are not sealed yet."
            )
    if sound and result.anchor_checked:
        lines.append("The recorded anchor matches.")
    if sound and result.sealed_up_to:
        lines.append(
            f"Anchor (record it outside this store): {result.sealed_up_to}:{result.head_hash}"
        )
    return lines
