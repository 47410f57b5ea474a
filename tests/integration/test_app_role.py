"""On PostgreSQL the app may run as a role that appends to the history and can do nothing else.

The tables' owner runs `goalpost db init --app-role ROLE`; the API and workers connect as
ROLE. Not even its owner's triggers stand between a table's owner and its rows (ALTER
TABLE ... DISABLE TRIGGER, DROP TABLE): here the app is not the owner.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import psycopg
import pytest
from eventsourcing.persistence import PersistenceError
from psycopg import errors, sql
from typer.testing import CliRunner

from application.demo_store import mark_demo_store
from application.stores import open_ledger
from cli.demo import load_demo
from cli.main import app as goalpost_cli
from domain.access import AccessGrant
from domain.people import Person
from projections.audit_trail import AuditTrail
from projections.rebuild import Rebuild
from projections.registry import worker_for
from projections.seal import verify
from storage.views import ViewDatabase
from tests.conftest import pg_admin
from tests.demo_day import DEMO_DAY

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

    # The demo is told by the owner: only the owner may mark a store as a demo store.
    app_url = as_role(pg_url, app_role)
    ledger = open_ledger(app_url)
    try:
        with pytest.raises(PersistenceError, match="permission denied"):
            mark_demo_store(ledger)
    finally:
        ledger.close()
    owner = open_ledger(pg_url)
    try:
        load_demo(owner, today=DEMO_DAY)
    finally:
        owner.close()

    # The API's and workers' work, as the app role: commands, projections, a rebuild, verify.
    ledger = open_ledger(app_url)
    try:
        ledger.open_cycle(
            actor="ceo", key="2027-Q1", starts_on=date(2027, 1, 1), ends_on=date(2027, 3, 31)
        )
        # A person's key is made and, on erasure, deleted by the role (ADR 41).
        ledger.register_person(
            actor="hr-admin",
            person_id="eng-1",
            display_name="Dev One",
            email=None,
            effective_on=date(2027, 1, 1),
        )
        ledger.erase_person(actor="hr-admin", person_id="eng-1")
        assert ledger.personal_keys.opener(Person.create_id("eng-1")).erased
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


def append_as(
    dsn: str,
    schema: str,
    events: Sequence[tuple[UUID, int, str, bytes]],
    *,
    times: Sequence[tuple[UUID, int, datetime]] = (),
    request: tuple[str, str, str, str] | None = None,
) -> list[int]:
    """Call the append function directly, with whatever arguments, as a forger would."""
    requests = [request] if request else []
    arguments: list[list[Any]] = [
        *([e[i] for e in events] for i in range(4)),
        *([t[i] for t in times] for i in range(3)),
        *([r[i] for r in requests] for i in range(4)),
        [],
        [],
    ]
    call = sql.SQL(
        "SELECT * FROM {}(%s::uuid[], %s::bigint[], %s::text[], %s::bytea[], %s::uuid[],"
        " %s::bigint[], %s::timestamptz[], %s::text[], %s::text[], %s::text[], %s::text[],"
        " %s::uuid[], %s::bigint[])"
    ).format(sql.Identifier(schema, "goalpost_events_append"))
    with psycopg.connect(dsn, autocommit=True) as conn:
        return [row[0] for row in conn.execute(call, arguments).fetchall()]


def test_the_append_function_stores_nothing_its_caller_could_forge(
    pg_url: str, pg_database: str, pg_schema: str, app_role: str
) -> None:
    init = CliRunner().invoke(
        goalpost_cli, ["db", "init", "--app-role", app_role], env={"GOALPOST_DATABASE_URL": pg_url}
    )
    assert init.exit_code == 0, init.output
    ledger = open_ledger(as_role(pg_url, app_role))
    dsn = f"host=127.0.0.1 port=5432 dbname={pg_database} user={app_role}"
    try:
        # The operator issues a token: the grant's first event, recorded now.
        token, issued = ledger.issue_token(actor="operator", subject="auditor-1", roles=["auditor"])

        # A forger holding the app role prepares the grant's next event as Goalpost would.
        grant: object = ledger.repository.get(issued.id)
        assert isinstance(grant, AccessGrant)
        grant.revoke(actor="operator", reason="rotated")
        stored = ledger.mapper.to_stored_event(grant.collect_events()[0])
        revoked = (issued.id, 2, stored.topic, stored.state)
        state = json.loads(stored.state)

        def with_state(**changes: Any) -> tuple[UUID, int, str, bytes]:
            return (*revoked[:3], json.dumps({**state, **changes}).encode())

        long_ago = datetime(2000, 1, 1, tzinfo=UTC)

        def refused(complaint: str) -> Any:
            return pytest.raises(errors.DataException, match=complaint)

        # Recorded, says the caller, on 1 January 2000: refused.
        with refused("record times given"):
            append_as(dsn, pg_schema, [revoked], times=[(issued.id, 2, long_ago)])
        # The event's own timestamp backdated instead: refused by the database clock.
        backdated = {"_type_": "datetime_iso", "_data_": long_ago.isoformat()}
        with refused("database clock"):
            append_as(dsn, pg_schema, [with_state(timestamp=backdated)])
        # A record time for version 3, which has no event (every later write would clash).
        with refused("record times given"):
            times = [(issued.id, 2, grant.modified_on), (issued.id, 3, long_ago)]
            append_as(dsn, pg_schema, [revoked], times=times)
        # A completed request filed under another actor, who could then replay it.
        result = json.dumps({"id": str(issued.id), "version": 2})
        with refused("actor"):
            append_as(dsn, pg_schema, [revoked], request=("intruder", "k1", "fp", result))
        # A request whose result names an event this save does not store.
        elsewhere = json.dumps({"id": str(issued.id), "version": 1})
        with refused("names no event"):
            append_as(dsn, pg_schema, [revoked], request=("operator", "k1", "fp", elsewhere))

        # Nothing of it was stored: no event, no record time, no request to replay.
        assert ledger.recorder.select_events(issued.id)[-1].originator_version == 1
        assert ledger.recorder.find_request("intruder", "k1") is None  # type: ignore[attr-defined]
        with pg_admin(pg_database) as conn:
            indexed = conn.execute(
                sql.SQL("SELECT originator_version FROM {} WHERE originator_id = %s").format(
                    sql.Identifier(pg_schema, "goalpost_events_times")
                ),
                (issued.id,),
            ).fetchall()
        assert indexed == [(1,)]

        # The next honest write to the goal is stored, at the time its event carries.
        revoke = ledger.revoke_token(actor="operator", token=token, reason="rotated")
        assert revoke.version == 2
        again: object = ledger.repository.get(issued.id)
        assert isinstance(again, AccessGrant) and again.revoked_at is not None
        assert ledger.version_at(issued.id, again.modified_on) == 2
    finally:
        ledger.close()
