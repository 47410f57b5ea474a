"""What every command shares: the store it opens, its errors on one line, its input parsing."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from types import FrameType
from typing import NoReturn

import typer
from eventsourcing.persistence import PersistenceError, ProgrammingError

from application.ledger import GoalLedger
from application.stores import open_ledger
from domain.errors import DomainError
from storage.reach import StoreUnreachableError
from storage.settings import Settings, StoreUrlError, store_env

USAGE_ERROR = 2
STORE_ERROR = 1

# Operator commands act with the operator's authority; events record it as this actor.
OPERATOR = "operator"

log = logging.getLogger("goalpost.cli")


class CommandLineError(Exception):
    """An option's value the command cannot use; reported like a domain error."""


def fail(message: str, code: int = USAGE_ERROR) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Mistakes in input or setup end in one line on stderr, never a traceback."""
    try:
        yield
    except (CommandLineError, StoreUrlError) as e:
        fail(str(e))
    except DomainError as e:
        # Domain messages already name the field at fault.
        fail(e.message)
    except StoreUnreachableError as e:
        # Already one line naming the store and the cause.
        fail(str(e), STORE_ERROR)
    except ProgrammingError as e:
        # On PostgreSQL only `db init` creates tables, so a missing table is the usual cause.
        fail(f"the store failed: {_first_line(e)} (run `goalpost db init` first)", STORE_ERROR)
    except PersistenceError as e:
        fail(f"the store failed: {_first_line(e)}", STORE_ERROR)


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


@contextmanager
def ledger_session() -> Iterator[GoalLedger]:
    with user_errors():
        ledger = open_ledger(database_url())
        try:
            yield ledger
        finally:
            ledger.close()


def database_url() -> str:
    return Settings().database_url


def describe_store(url: str) -> str:
    """The store a URL names, without its password."""
    env = store_env(url)
    if "SQLITE_DBNAME" in env:
        return f"SQLite store {env['SQLITE_DBNAME']}"
    return (
        f"PostgreSQL store {env['POSTGRES_USER']}@{env['POSTGRES_HOST']}:"
        f"{env['POSTGRES_PORT']}/{env['POSTGRES_DBNAME']} (schema {env['POSTGRES_SCHEMA']})"
    )


def parse_day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandLineError(f"{option} must be a date as YYYY-MM-DD, not {text!r}") from None


def parse_moment(text: str | None, option: str) -> datetime | None:
    """A timestamp without an offset is read as UTC, the clock events are recorded in."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandLineError(
            f"{option} must be an ISO 8601 timestamp such as 2026-09-30T18:00:00Z, not {text!r}"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def log_to_stderr() -> None:
    """Progress and lag as timestamped lines on stderr."""
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@contextmanager
def stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGTERM and SIGINT ask to stop (the batch in progress finishes) instead of killing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _: FrameType | None) -> None:
        log.info("%s received: stopping after the batch in progress", signal.Signals(signum).name)
        stop()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for number, restored in previous.items():
            signal.signal(number, restored)
