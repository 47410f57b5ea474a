"""Opening the goal ledger on the configured store."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
from eventsourcing.persistence import OperationalError
from eventsourcing.sqlite import SQLiteConnectionPool
from psycopg import sql

from domain.application import GoalLedger
from storage.postgres import GoalpostPostgresRecorder
from storage.settings import LIBPQ_CONNECT_TIMEOUT, Settings, StoreUrlError, store_env


class StoreUnreachableError(OperationalError):
    """The store cannot be opened; the message names it and why, on one line."""


def open_ledger(database_url: str | None = None, *, create_tables: bool = False) -> GoalLedger:
    url = database_url if database_url is not None else Settings().database_url
    env = store_env(url, create_tables=create_tables)
    _check(env)
    return GoalLedger(env=env)


def check_store(database_url: str | None = None) -> None:
    """Reach the store once, so a wrong setting fails in seconds and says why."""
    url = database_url if database_url is not None else Settings().database_url
    _check(store_env(url))


def _check(env: dict[str, str]) -> None:
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


def init_store(database_url: str | None = None) -> None:
    """Create tables, indexes and append-only triggers; safe to run again."""
    open_ledger(database_url, create_tables=True).close()


def grant_app_role(database_url: str, role: str) -> list[str]:
    """PostgreSQL: let `role` run Goalpost without owning its history (ADR 22).

    Run as the owner, after `init_store`. The role may read the history and append to it
    only through the append function (which runs as the owner), so it can neither change
    nor remove an event, nor disable the triggers or drop the tables that guard them.
    It owns the read models (which it rebuilds, creating and dropping generations) and
    may create tables in the schema. Returns the tables it was given.
    """
    ledger = open_ledger(database_url)
    try:
        recorder = ledger.recorder
        if not isinstance(recorder, GoalpostPostgresRecorder):
            raise StoreUrlError("an app role is a PostgreSQL setting; the SQLite file has none")
        snapshots = getattr(getattr(ledger.snapshots, "recorder", None), "events_table_name", None)
        history = {
            recorder.events_table_name,
            recorder.times_table_name,
            recorder.requests_table_name,
        }
        schema = recorder.datastore.schema
        grantee = sql.Identifier(role)
        with recorder.datastore.transaction(commit=True) as curs:
            curs.execute("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = %s", (role,))
            if curs.fetchone() is None:
                raise StoreUrlError(
                    f"role {role!r} does not exist: create it first "
                    f"(CREATE ROLE {role} LOGIN PASSWORD '...')"
                )
            curs.execute(
                sql.SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(
                    sql.Identifier(schema), grantee
                )
            )
            for table in sorted(history):
                curs.execute(
                    sql.SQL("GRANT SELECT ON {} TO {}").format(
                        sql.Identifier(schema, table), grantee
                    )
                )
            if snapshots:
                # Snapshots are written by the library's own recorder, straight to the table.
                curs.execute(
                    sql.SQL("GRANT SELECT, INSERT ON {} TO {}").format(
                        sql.Identifier(schema, snapshots), grantee
                    )
                )
            # Saves go through the append function alone, and only this role may call it.
            curs.execute(
                sql.SQL("REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA {} FROM PUBLIC").format(
                    sql.Identifier(schema)
                )
            )
            curs.execute(
                sql.SQL("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {} TO {}").format(
                    sql.Identifier(schema), grantee
                )
            )
            curs.execute(
                "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = %s",
                (schema,),
            )
            given = sorted(
                row["tablename"]
                for row in curs.fetchall()
                if row["tablename"] not in history and row["tablename"] != snapshots
            )
            for table in given:
                curs.execute(
                    sql.SQL("ALTER TABLE {} OWNER TO {}").format(
                        sql.Identifier(schema, table), grantee
                    )
                )
        return given
    finally:
        ledger.close()
