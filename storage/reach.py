"""Reaching the configured store once, so a wrong setting fails in seconds and says why."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
from eventsourcing.persistence import OperationalError
from eventsourcing.sqlite import SQLiteConnectionPool

from storage.settings import LIBPQ_CONNECT_TIMEOUT, Settings, store_env


class StoreUnreachableError(OperationalError):
    """The store cannot be opened; the message names it and why, on one line."""


def check_store(database_url: str | None = None) -> None:
    """Reach the store once, so a wrong setting fails in seconds and says why."""
    url = database_url if database_url is not None else Settings().database_url
    check_env(store_env(url))


def check_env(env: dict[str, str]) -> None:
    if "SQLITE_DBNAME" in env:
        _check_sqlite(env["SQLITE_DBNAME"])
    else:
        _check_postgres(env)


def _check_sqlite(name: str) -> None:
    if SQLiteConnectionPool.detect_memory_mode(name):
        return
    # The library opens names as URIs, so file:PATH?mode=... names PATH.
    path = Path(name.removeprefix("file:").split("?", 1)[0] if name.startswith("file:") else name)
    # SQLite creates the file but not its folder; a missing folder means a mistyped path,
    # not a new store to start somewhere else.
    if not path.parent.is_dir():
        raise StoreUnreachableError(
            f"cannot open SQLite store {name}: folder {path.parent.absolute()} does not exist"
        )


def _check_postgres(env: dict[str, str]) -> None:
    # One connection of its own, not the pool's: the pool retries in the background
    # and, after its wait, reports a timeout without the cause.
    host, port, dbname, user = (
        env["POSTGRES_HOST"],
        env["POSTGRES_PORT"],
        env["POSTGRES_DBNAME"],
        env["POSTGRES_USER"],
    )
    timeout = int(env[LIBPQ_CONNECT_TIMEOUT])
    try:
        psycopg.connect(
            host=host,
            port=port,
            dbname=dbname,
            user=user,
            password=env["POSTGRES_PASSWORD"],
            connect_timeout=timeout,
        ).close()
    except psycopg.Error as error:
        raise StoreUnreachableError(
            f"cannot connect to PostgreSQL at {host}:{port}, database {dbname}, "
            f"as {user}: {connection_failure(error, timeout)}"
        ) from None


def connection_failure(error: psycopg.Error, timeout: int) -> str:
    """Why a connection failed, in a few words; libpq gives no SQLSTATE for these."""
    text = str(error).strip()
    # The first attempt's own words, after libpq's "connection to server at ... failed: ".
    detail = (text.splitlines() or [type(error).__name__])[0].rsplit(" failed: ", 1)[-1]
    detail = re.sub(r"^(FATAL|ERROR):\s+", "", detail)
    lowered = text.lower()
    if "connection refused" in lowered:
        return "connection refused (is the server running and accepting TCP connections?)"
    if re.search(r'database ".*" does not exist', text):
        return "database does not exist"
    if (
        "authentication failed" in lowered
        or "no pg_hba.conf entry" in lowered
        or re.search(r'role ".*" does not exist', text)
        or "password" in lowered
    ):
        return f"authentication failed ({detail})"
    if "timeout expired" in lowered:
        return f"timeout: no answer within {timeout} s"
    if "failed to resolve host" in lowered or "could not translate host name" in lowered:
        return "host name not found"
    return detail
