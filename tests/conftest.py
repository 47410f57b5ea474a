"""Fixtures shared by every tier: real stores, never mocks.

PostgreSQL tests get a fresh database per pytest process (so `-n 2` workers never
meet) and a fresh schema per test inside it; SQLite tests get a file in `tmp_path`.
Behaviour tests ask for `store_url` or `ledger` and run once on each store.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from application.ledger import GoalLedger
from application.stores import open_ledger

# The local server `.ci/ensure-postgres` starts: trust auth, superuser `postgres`.
PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
PG_MAINTENANCE_DB = "postgres"

STORES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@contextmanager
def pg_admin(dbname: str = PG_MAINTENANCE_DB) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """An autocommit connection for DDL the application itself never runs."""
    try:
        conn = psycopg.connect(
            host=PG_HOST,
            port=PG_PORT,
            user=PG_USER,
            dbname=dbname,
            autocommit=True,
            connect_timeout=3,
        )
    except psycopg.OperationalError as e:
        pytest.fail(
            f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT} as {PG_USER!r}: {e}\n"
            "The integration tests run on the real server, never a mock: "
            "run `.ci/ensure-postgres` (or `make pg`) and try again.",
            pytrace=False,
        )
    with conn:
        yield conn


def pg_url_for(dbname: str, schema: str) -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{dbname}?schema={schema}"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A database of this test process's own, dropped (even if still in use) at the end."""
    name = f"goalpost_test_{secrets.token_hex(6)}"
    with pg_admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with pg_admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def pg_schema(pg_database: str) -> Iterator[str]:
    """A fresh, empty schema in the session database, dropped with everything in it."""
    schema = f"t_{secrets.token_hex(6)}"
    with pg_admin(pg_database) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield schema
    finally:
        with pg_admin(pg_database) as conn:
            # A leaked pool must not hang the suite: fail the teardown instead.
            conn.execute("SET lock_timeout = '10s'")
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def pg_url(pg_database: str, pg_schema: str) -> str:
    return pg_url_for(pg_database, pg_schema)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    # tmp_path is absolute, so this is the four-slash absolute form.
    return f"sqlite:///{tmp_path / 'goalpost.sqlite'}"


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    """The store's kind, for the few steps that must touch its tables directly."""
    return str(request.param)


@pytest.fixture
def store_url(store: str, request: pytest.FixtureRequest) -> str:
    """The same behaviour test, once on the embedded store and once on PostgreSQL."""
    # Resolved lazily so SQLite-only runs never need the PostgreSQL server.
    fixture = "sqlite_url" if store == "sqlite" else "pg_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def ledger(store_url: str) -> Iterator[GoalLedger]:
    goal_ledger = open_ledger(store_url, create_tables=True)
    try:
        yield goal_ledger
    finally:
        goal_ledger.close()


@pytest.fixture
def pg_ledger(pg_url: str) -> Iterator[GoalLedger]:
    """A ledger on PostgreSQL alone, for what only it does."""
    goal_ledger = open_ledger(pg_url, create_tables=True)
    try:
        yield goal_ledger
    finally:
        goal_ledger.close()
