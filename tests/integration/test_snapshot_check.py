"""`goalpost verify --snapshots`: every stored snapshot against its goal's events.

The seal covers events, not snapshots; a snapshot rewritten in place would change what
its goal loads as. The check replays each goal's events once and compares at each
snapshot.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from psycopg import sql
from typer.testing import CliRunner

from application.ledger import CheckInImport, GoalLedger
from application.stores import open_ledger
from cli.main import app as goalpost_cli
from domain.values import utc_today
from projections.registry import worker_for
from tests.conftest import pg_admin
from tests.integration.test_cycle_close_race import quarter_with_key_result


def verify_snapshots(url: str) -> Any:
    return CliRunner().invoke(
        goalpost_cli, ["verify", "--snapshots"], env={"GOALPOST_DATABASE_URL": url}
    )


def long_key_result(ledger: GoalLedger) -> Any:
    """A key result with 250 check-ins: snapshots at versions 100 and 200."""
    _, key_result = quarter_with_key_result(ledger)
    for n in range(250):
        ledger.record_check_in(
            actor="analyst",
            key_result_id=key_result,
            value=str(32 + n % 18),
            confidence="on_track",
            effective_on=utc_today() - timedelta(days=n % 30),
        )
    # An import carries it past another interval (imports snapshot from memory).
    ledger.import_check_ins(
        actor="importer",
        rows=[
            CheckInImport(
                key_result_id=key_result,
                value="40",
                confidence="at_risk",
                effective_on=utc_today() - timedelta(days=n % 30),
                note=f"row {n}",
            )
            for n in range(60)
        ],
    )
    return key_result


def rewrite_snapshot(
    store: str, url: str, table: str, request: pytest.FixtureRequest, version: int
) -> None:
    """Change one check-in's value inside a stored snapshot, as an admin with SQL could."""

    def forged(state: bytes) -> bytes:
        data = json.loads(state)
        check_ins = data["state"]["check_ins"]
        check_ins[next(iter(check_ins))][2] = "99"
        return json.dumps(data, separators=(",", ":")).encode()

    if store == "sqlite":
        path = urlsplit(url).path[1:]
        with closing(sqlite3.connect(path, isolation_level=None)) as conn:
            (state,) = conn.execute(
                f'SELECT state FROM "{table}" WHERE originator_version = ?',
                (version,),
            ).fetchone()
            conn.execute(
                f'UPDATE "{table}" SET state = ? WHERE originator_version = ?',
                (forged(state), version),
            )
        return
    name = sql.Identifier(request.getfixturevalue("pg_schema"), table)
    with pg_admin(request.getfixturevalue("pg_database")) as conn:
        row = conn.execute(
            sql.SQL("SELECT state FROM {} WHERE originator_version = %s").format(name), (version,)
        ).fetchone()
        assert row is not None
        conn.execute(
            sql.SQL("UPDATE {} SET state = %s WHERE originator_version = %s").format(name),
            (forged(row[0]), version),
        )


def test_snapshots_that_match_their_events_pass_and_a_rewritten_one_is_named(
    store: str, store_url: str, request: pytest.FixtureRequest
) -> None:
    ledger = open_ledger(store_url, create_tables=True)
    try:
        key_result = long_key_result(ledger)
        # Sealed too, as `goalpost worker` would: verify reads the seal first.
        worker = worker_for(ledger)
        worker.create_tables()
        worker.run_until_caught_up()
        assert ledger.snapshots is not None
        table = ledger.snapshots.recorder.events_table_name  # type: ignore[attr-defined]
    finally:
        ledger.close()

    intact = verify_snapshots(store_url)
    assert intact.exit_code == 0, intact.output
    assert "Snapshots intact: 3 checked against the events." in intact.stdout

    rewrite_snapshot(store, store_url, table, request, version=200)
    broken = verify_snapshots(store_url)
    assert broken.exit_code == 1, broken.output
    assert "Snapshots BROKEN: 1 of 3 differ from the events:" in broken.stdout
    assert f"key result {key_result} version 200:" in broken.stdout
