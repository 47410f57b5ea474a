"""`goalpost dispatch`: deliver goal events to webhook subscribers."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Annotated

import typer
from eventsourcing.persistence import PersistenceError
from pydantic import ValidationError

from application.stores import open_ledger
from cli.common import STORE_ERROR, USAGE_ERROR
from delivery.dispatcher import DispatchSettings, WebhookDispatcher
from storage.settings import Settings, StoreUrlError


def dispatch(
    once: Annotated[
        bool, typer.Option("--once", help="Deliver what is due now, then exit.")
    ] = False,
) -> None:
    """Deliver goal events to webhook subscribers, in order, until SIGTERM or SIGINT.

    Several dispatchers may share one PostgreSQL store: each subscription is leased to one.

    Settings, each GOALPOST_WEBHOOK_ and one of:
    TIMEOUT_SECONDS, LEASE_SECONDS, RETRY_BASE_SECONDS, RETRY_CAP_SECONDS,
    MAX_FAILURES, CONCURRENCY, POLL_SECONDS, BATCH.

    Example: goalpost dispatch --once
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        settings = DispatchSettings()
        ledger = open_ledger(Settings().database_url)
    except (ValidationError, StoreUrlError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(USAGE_ERROR) from None
    except PersistenceError as error:
        typer.echo(f"error: the store failed: {error}", err=True)
        raise typer.Exit(STORE_ERROR) from None
    stop = threading.Event()

    def stopping(signum: int, _: FrameType | None) -> None:
        # The delivery in flight finishes and is recorded; nothing new starts.
        stop.set()

    previous = {sig: signal.signal(sig, stopping) for sig in (signal.SIGTERM, signal.SIGINT)}
    dispatcher = WebhookDispatcher(ledger, settings)
    try:
        if once:
            delivered = dispatcher.run_once(stop)
            typer.echo(f"Delivered {delivered} events")
        else:
            typer.echo("Delivering webhooks; stop with SIGTERM or Ctrl-C")
            dispatcher.run_forever(stop)
    except PersistenceError as error:
        typer.echo(f"error: the store failed: {error}", err=True)
        raise typer.Exit(STORE_ERROR) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        dispatcher.close()
        ledger.close()
