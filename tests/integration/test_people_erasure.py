"""Erasing a person on both stores: afterwards no table, read model, event or snapshot holds
their name or e-mail, reads show a pseudonym, and the seal over the log still verifies."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from psycopg import sql
from typer.testing import CliRunner

from application.ledger import GoalLedger
from application.people_import import PersonRow, import_people
from cli.main import app
from domain.people import Person, pseudonym
from projections import seal
from projections.registry import worker_for
from storage.personal_keys import PREFIX
from storage.personal_keys import _open as open_sealed
from storage.requests import IdempotentRequest
from storage.views import ViewDatabase
from tests.conftest import pg_admin

NAME = "Quinbert Vexmoor"
EMAIL = "quinbert.vexmoor@example.org"
NEW_NAME = "Quinbert Vexmoor-Lund"
# Another person, not erased: the scan must still find their name, or it scans nothing.
KEPT = "Orsolya Kemptide"


def every_value(store: str, request: pytest.FixtureRequest) -> Iterator[tuple[str, Any]]:
    """Every column of every row of every table in the store: (table, value)."""
    if store == "postgres":
        dbname = request.getfixturevalue("pg_database")
        schema = request.getfixturevalue("pg_schema")
        with pg_admin(dbname) as conn:
            tables = [
                row[0]
                for row in conn.execute(
                    "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = %s", (schema,)
                )
            ]
            assert tables
            for table in tables:
                query = sql.SQL("SELECT * FROM {}").format(sql.Identifier(schema, table))
                for row in conn.execute(query):
                    for value in row:
                        yield table, value
        return
    path = Path(request.getfixturevalue("tmp_path")) / "goalpost.sqlite"
    with closing(sqlite3.connect(path)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    yield table, value


def holding(store: str, request: pytest.FixtureRequest, *texts: str) -> set[str]:
    """The tables where any of the texts appears, in text or bytes (UTF-8), cast to text."""
    found = set()
    for table, value in every_value(store, request):
        if isinstance(value, bytes | bytearray | memoryview):
            raw = bytes(value)
            if any(t.encode("utf-8") in raw for t in texts):
                found.add(table)
        elif any(t in str(value) for t in texts):
            found.add(table)
    return found


def sealed_values(ledger: GoalLedger, person_id: str) -> list[str]:
    """Every sealed value the person's events hold."""
    values = []
    for event in ledger.events.get(Person.create_id(person_id)):
        for name in ("sealed_name", "sealed_email"):
            value = getattr(event, name, None)
            if value is not None:
                values.append(value)
    return values


def test_erasure_leaves_no_name_or_email_anywhere_and_the_seal_intact(
    ledger: GoalLedger, store: str, store_url: str, request: pytest.FixtureRequest
) -> None:
    # A team, a person who joins it and changes name, another who stays; one write
    # idempotent, so the completed-requests table holds a row of it too.
    ledger.form_team(actor="hr-admin", team_id="eng-team", name="Engineering")
    ledger.register_person(
        actor="hr-admin",
        person_id="eng-1",
        display_name=NAME,
        email=EMAIL,
        effective_on=date(2026, 7, 1),
        request=IdempotentRequest("hr-admin", "k-1", "fingerprint-of-the-body"),
    )
    ledger.change_membership(
        actor="hr-admin",
        person_id="eng-1",
        team_id="eng-team",
        joins=True,
        effective_on=date(2026, 7, 1),
    )
    ledger.change_person_details(
        actor="hr-admin",
        person_id="eng-1",
        display_name=NEW_NAME,
        email=EMAIL,
        effective_on=date(2026, 8, 1),
    )
    import_people(
        ledger,
        actor="hr-admin",
        rows=[PersonRow("eng-2", KEPT, None, "eng-team", "eng-1", date(2026, 7, 1))],
    )
    worker = worker_for(ledger)
    worker.create_tables()
    worker.run_until_caught_up()

    # Before: the names read back, as of their days; the log holds them sealed only.
    assert ledger.person_view("eng-1", as_of=date(2026, 7, 15)).display_name == NAME
    assert ledger.person_view("eng-1", as_of=date(2026, 8, 1)).display_name == NEW_NAME
    assert ledger.team_view("eng-team", as_of=date(2026, 7, 15)).members[0].display_name == NAME
    assert all(v.startswith(PREFIX) for v in sealed_values(ledger, "eng-1"))
    assert holding(store, request, NAME, NEW_NAME, EMAIL, KEPT) == set()
    # The scan does find what is stored in plain text: the team's name, in the log's
    # bytes and in the audit trail's rows.
    events_table = "goalpost_events" if store == "postgres" else "stored_events"
    assert {events_table, "goalpost_audit_trail"} <= holding(store, request, "Engineering")

    # The erasure.
    ledger.erase_person(actor="hr-admin", person_id="eng-1")
    worker.run_until_caught_up()

    # Reads show the pseudonym, as of any day and as known at any time.
    erased = ledger.person_view("eng-1", as_of=date(2026, 7, 15))
    assert (erased.display_name, erased.email, erased.erased) == (pseudonym("eng-1"), None, True)
    assert erased.teams == ["eng-team"]
    assert ledger.display_name("eng-1", date(2026, 8, 1)) == pseudonym("eng-1")
    assert ledger.display_name("eng-2", date(2026, 7, 15)) == KEPT

    # No table holds the name or e-mail in any form: not as text, not as bytes, and not
    # as something a key still in the store opens.
    assert holding(store, request, NAME, NEW_NAME, EMAIL) == set()
    sealed = sealed_values(ledger, "eng-1")
    assert len(sealed) == 4
    keys = [
        bytes(v)
        for t, v in every_value(store, request)
        if t.endswith("_person_keys") and isinstance(v, bytes | memoryview)
    ]
    assert len(keys) == 1  # eng-2's alone
    for value in sealed:
        assert NAME.encode() not in base64.b64decode(value.removeprefix(PREFIX))
        for key in keys:
            with pytest.raises(ValueError, match="MAC check failed"):
                open_sealed(key, Person.create_id("eng-1"), value)
    assert ledger.personal_keys.opener(Person.create_id("eng-1")).erased

    # The erasure is an event of its own: who and when, nothing else.
    last = list(ledger.events.get(Person.create_id("eng-1")))[-1]
    assert isinstance(last, Person.Erased)
    assert last.actor == "hr-admin"

    # The seal over the whole log still verifies: no event changed.
    assert seal.verify(ledger, ViewDatabase(ledger)).intact
    verified = CliRunner().invoke(app, ["verify"], env={"GOALPOST_DATABASE_URL": store_url})
    assert verified.exit_code == 0, verified.output
    assert "intact" in verified.output.lower()
