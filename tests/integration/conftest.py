"""Raw access to the history tables, bypassing Goalpost, as a careless admin would reach them."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tests.conftest import pg_admin

Row = tuple[Any, ...]


@dataclass(frozen=True)
class RawHistory:
    """The events table and its record-time index, reached with the database driver itself."""

    store: str
    events_table: str
    times_table: str
    _rows: Callable[[str], list[Row]]
    _attempt: Callable[[str, str], Exception | None]

    def rows(self, table: str) -> list[Row]:
        """Every column of every row, in key order, as the driver returns them (bytes for state)."""
        return self._rows(table)

    def update(self, table: str) -> Exception | None:
        """Rewrite history in place; returns the error the database answered with, if any."""
        return self._attempt("update", table)

    def delete(self, table: str) -> Exception | None:
        return self._attempt("delete", table)

    def truncate(self, table: str) -> Exception | None:
        return self._attempt("truncate", table)


def _pg_history(dbname: str, schema: str) -> RawHistory:
    def qualified(table: str) -> sql.Composable:
        return sql.Identifier(schema, table)

    def rows(table: str) -> list[Row]:
        with pg_admin(dbname) as conn:
            query = sql.SQL("SELECT * FROM {} ORDER BY originator_id, originator_version")
            return conn.execute(query.format(qualified(table))).fetchall()

    statements = {
        # Row-level triggers fire only for rows a statement touches: touch them all.
        "update": sql.SQL("UPDATE {} SET originator_version = originator_version + 1000"),
        "delete": sql.SQL("DELETE FROM {}"),
        "truncate": sql.SQL("TRUNCATE {}"),
    }

    def attempt(kind: str, table: str) -> Exception | None:
        with pg_admin(dbname) as conn:
            try:
                conn.execute(statements[kind].format(qualified(table)))
            except psycopg.Error as e:
                return e
        return None

    return RawHistory("postgres", "goalpost_events", "goalpost_events_times", rows, attempt)


def _sqlite_history(path: Path) -> RawHistory:
    def connect() -> AbstractContextManager[sqlite3.Connection]:
        # isolation_level=None: each statement commits on its own, as a sqlite3 shell would.
        return closing(sqlite3.connect(path, isolation_level=None))

    def rows(table: str) -> list[Row]:
        with connect() as conn:
            query = f'SELECT * FROM "{table}" ORDER BY originator_id, originator_version'
            return conn.execute(query).fetchall()

    statements = {
        "update": 'UPDATE "{}" SET originator_version = originator_version + 1000',
        "delete": 'DELETE FROM "{}"',
    }

    def attempt(kind: str, table: str) -> Exception | None:
        with connect() as conn:
            try:
                conn.execute(statements[kind].format(table))
            except sqlite3.Error as e:
                return e
        return None

    return RawHistory("sqlite", "stored_events", "stored_events_times", rows, attempt)


@pytest.fixture
def raw_history(store: str, store_url: str, request: pytest.FixtureRequest) -> RawHistory:
    """The same store `store_url` points at (SQLite has no TRUNCATE; DELETE stands for it)."""
    if store == "postgres":
        return _pg_history(
            request.getfixturevalue("pg_database"), request.getfixturevalue("pg_schema")
        )
    tmp_path: Path = request.getfixturevalue("tmp_path")
    path = tmp_path / "goalpost.sqlite"
    assert store_url.endswith(str(path)), store_url
    return _sqlite_history(path)
