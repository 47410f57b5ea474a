"""On PostgreSQL the app may run as a role that appends to the history and can do nothing else.

The tables' owner runs `goalpost db init --app-role ROLE`; the API and workers connect as
ROLE. Not even its owner's triggers stand between a table's owner and its rows (ALTER
TABLE ... DISABLE TRIGGER, DROP TABLE): here the app is not the owner.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import errors, sql
from typer.testing import CliRunner

from cli.demo import load_demo
from cli.main import app as goalpost_cli
from projections.audit_trail import AuditTrail
from projections.base import Rebuild
from projections.database import ViewDatabase
from projections.registry import worker_for
from projections.seal import verify
from storage.ledger import open_ledger
from tests.conftest import pg_admin

pytestmark = pytest.mark.postgres


@pytest.fixture
def app_role(pg_database: str) -> Iterator[str]:
    role = f"goalpost_app_{secrets.token_hex(4)}"
    with pg_admin() as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        yield role
    finally:
        with pg_admin(pg_database) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(role)))
        with pg_admin() as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def as_role(url: str, role: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port}").geturl()


def test_the_app_role_appends_and_projects_but_cannot_touch_the_history(
    pg_url: str, pg_database: str, pg_schema: str, app_role: str
) -> None:
    init = CliRunner().invoke(
        goalpost_cli, ["db", "init", "--app-role", app_role], env={"GOALPOST_DATABASE_URL": pg_url}
    )
    assert init.exit_code == 0, init.output
    assert f"Role {app_role} may read and append" in init.stdout

    # The API's and workers' work, as the app role: commands, projections, a rebuild, verify.
    app_url = as_role(pg_url, app_role)
    ledger = open_ledger(app_url)
    try:
        load_demo(ledger)
        worker = worker_for(ledger)
        assert worker.run_until_caught_up() > 0
        Rebuild(ledger, AuditTrail).run()
        assert verify(ledger, ViewDatabase(ledger)).intact
        events = sql.Identifier(pg_schema, ledger.recorder.events_table_name)  # type: ignore[attr-defined]
    finally:
        ledger.close()

    # What the role may not do to the history, even by going around Goalpost.
    attempts = [
        sql.SQL("UPDATE {} SET topic = topic").format(events),
        sql.SQL("DELETE FROM {}").format(events),
        sql.SQL("TRUNCATE {}").format(events),
        sql.SQL("INSERT INTO {} SELECT * FROM {} LIMIT 1").format(events, events),
        sql.SQL("ALTER TABLE {} DISABLE TRIGGER ALL").format(events),
        sql.SQL("DROP TABLE {}").format(events),
    ]
    dsn = f"host=127.0.0.1 port=5432 dbname={pg_database} user={app_role}"
    for attempt in attempts:
        with psycopg.connect(dsn) as conn, pytest.raises(errors.InsufficientPrivilege):
            conn.execute(attempt)

    # The history is whole: the owner's verify agrees.
    owner = open_ledger(pg_url)
    try:
        assert verify(owner, ViewDatabase(owner)).intact
    finally:
        owner.close()


def test_an_unknown_app_role_is_a_clear_error(pg_url: str) -> None:
    init = CliRunner().invoke(
        goalpost_cli,
        ["db", "init", "--app-role", "no_such_role_here"],
        env={"GOALPOST_DATABASE_URL": pg_url},
    )
    assert init.exit_code != 0
    assert "no_such_role_here" in init.output and "does not exist" in init.output
