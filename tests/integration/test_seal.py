"""The tamper-evidence seal on real stores: seal the demo quarter, tamper as a superuser, verify.

Every tampering step goes around Goalpost, as an administrator with a SQL prompt would:
on PostgreSQL with superuser rights past the append-only triggers, on SQLite by dropping
the triggers and putting them back.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from psycopg import sql
from typer.testing import CliRunner, Result

from application.ledger import GoalLedger
from application.stores import open_ledger
from cli.demo import load_demo
from cli.main import app
from domain.errors import NotFoundError
from projections.rebuild import Rebuild
from projections.registry import READ_MODELS, worker_for
from projections.seal import (
    GENESIS,
    Anchor,
    Finding,
    Seal,
    SealRebuildRefusedError,
    SealUnavailableError,
    Verification,
    link,
    verify,
)
from projections.verify_log import record_time
from projections.worker import ProjectionWorker
from storage.event_log import EventLog
from storage.sqlite import append_only_statements
from storage.views import ViewDatabase
from tests.conftest import pg_admin
from tests.demo_day import DEMO_DAY

SEAL_TABLE = "goalpost_seal"


def goalpost(url: str, *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"GOALPOST_DATABASE_URL": url})


@dataclass(frozen=True)
class Stored:
    position: int
    originator_id: UUID
    version: int
    topic: str
    state: bytes


class Tamperer:
    """Raw access to the events table and the seal's table, past every guard Goalpost sets."""

    def rows(self) -> list[Stored]:
        raise NotImplementedError

    def seal_rows(self) -> dict[int, str]:
        raise NotImplementedError

    def rewrite_state(self, position: int, state: bytes) -> None:
        raise NotImplementedError

    def delete_event(self, position: int) -> None:
        raise NotImplementedError

    def insert_event(self, position: int, event: Stored) -> None:
        raise NotImplementedError

    def execute_on_seal(self, statement: str, *params: Any) -> None:
        """A statement on the seal's table, which has no triggers: `{seal}` names it."""
        raise NotImplementedError

    def record_time(self, goal: UUID, version: int) -> datetime | None:
        """An event's row in the record-time index, which `known_at` reads."""
        raise NotImplementedError

    def set_record_time(self, goal: UUID, version: int, moment: datetime | None) -> None:
        """Move, insert (for a version with no row) or, with None, delete an index row."""
        raise NotImplementedError

    def event(self, position: int) -> Stored:
        return next(row for row in self.rows() if row.position == position)

    def position_of(self, topic_suffix: str) -> int:
        return next(row.position for row in self.rows() if row.topic.endswith(topic_suffix))


class PostgresTamperer(Tamperer):
    def __init__(self, dbname: str, schema: str) -> None:
        self.dbname = dbname
        self.schema = schema
        self.events = sql.Identifier(schema, "goalpost_events")
        self.times = sql.Identifier(schema, "goalpost_events_times")

    @contextmanager
    def superuser(self, *, past_triggers: bool = True) -> Iterator[Any]:
        with pg_admin(self.dbname) as conn:
            if past_triggers:
                # Replica mode fires no ordinary triggers: the append-only guard is skipped.
                conn.execute("SET session_replication_role = replica")
            yield conn

    def rows(self) -> list[Stored]:
        with self.superuser(past_triggers=False) as conn:
            query = sql.SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state"
                " FROM {} ORDER BY notification_id"
            ).format(self.events)
            return [Stored(*row) for row in conn.execute(query).fetchall()]

    def seal_rows(self) -> dict[int, str]:
        with self.superuser(past_triggers=False) as conn:
            query = sql.SQL("SELECT position, hash FROM {} ORDER BY position").format(
                sql.Identifier(self.schema, SEAL_TABLE)
            )
            return dict(conn.execute(query).fetchall())

    def rewrite_state(self, position: int, state: bytes) -> None:
        # The way the ADR names first: disable the triggers, rewrite, enable them again.
        with self.superuser(past_triggers=False) as conn, conn.transaction():
            conn.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER ALL").format(self.events))
            conn.execute(
                sql.SQL("UPDATE {} SET state = %s WHERE notification_id = %s").format(self.events),
                (state, position),
            )
            conn.execute(sql.SQL("ALTER TABLE {} ENABLE TRIGGER ALL").format(self.events))

    def delete_event(self, position: int) -> None:
        with self.superuser() as conn:
            conn.execute(
                sql.SQL("DELETE FROM {} WHERE notification_id = %s").format(self.events),
                (position,),
            )

    def insert_event(self, position: int, event: Stored) -> None:
        with self.superuser() as conn:
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} (notification_id, originator_id, originator_version, topic,"
                    " state) VALUES (%s, %s, %s, %s, %s)"
                ).format(self.events),
                (position, event.originator_id, event.version, event.topic, event.state),
            )

    def skip_positions(self, count: int) -> None:
        """Burn sequence values, as rolled-back writes do: the log gets a gap."""
        sequence = f'"{self.schema}"."goalpost_events_notification_id_seq"'
        with self.superuser() as conn:
            for _ in range(count):
                conn.execute("SELECT nextval(%s::regclass)", (sequence,))

    def execute_on_seal(self, statement: str, *params: Any) -> None:
        with self.superuser() as conn:
            table = sql.Identifier(self.schema, SEAL_TABLE)
            conn.execute(sql.SQL(statement).format(seal=table), params)

    def record_time(self, goal: UUID, version: int) -> datetime | None:
        with self.superuser(past_triggers=False) as conn:
            row = conn.execute(
                sql.SQL(
                    "SELECT recorded_at FROM {}"
                    " WHERE originator_id = %s AND originator_version = %s"
                ).format(self.times),
                (goal, version),
            ).fetchone()
        return row[0] if row else None

    def set_record_time(self, goal: UUID, version: int, moment: datetime | None) -> None:
        with self.superuser() as conn:
            conn.execute(
                sql.SQL(
                    "DELETE FROM {} WHERE originator_id = %s AND originator_version = %s"
                ).format(self.times),
                (goal, version),
            )
            if moment is not None:
                conn.execute(
                    sql.SQL("INSERT INTO {} VALUES (%s, %s, %s)").format(self.times),
                    (goal, version, moment),
                )


class SQLiteTamperer(Tamperer):
    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def connection(
        self, *, past_triggers: bool = True, table: str = "stored_events"
    ) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, isolation_level=None)) as conn:
            if not past_triggers:
                yield conn
                return
            # Drop the append-only triggers, tamper, and put them back as `db init` made them.
            conn.execute("BEGIN")
            conn.execute(f"DROP TRIGGER {table}_no_update")
            conn.execute(f"DROP TRIGGER {table}_no_delete")
            yield conn
            for statement in append_only_statements(table):
                conn.execute(statement)
            conn.execute("COMMIT")

    def rows(self) -> list[Stored]:
        with self.connection(past_triggers=False) as conn:
            found = conn.execute(
                "SELECT rowid, originator_id, originator_version, topic, state"
                " FROM stored_events ORDER BY rowid"
            ).fetchall()
        return [Stored(p, UUID(i), v, t, s) for p, i, v, t, s in found]

    def seal_rows(self) -> dict[int, str]:
        with self.connection(past_triggers=False) as conn:
            return dict(conn.execute("SELECT position, hash FROM goalpost_seal ORDER BY position"))

    def rewrite_state(self, position: int, state: bytes) -> None:
        with self.connection() as conn:
            conn.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (state, position))

    def delete_event(self, position: int) -> None:
        with self.connection() as conn:
            conn.execute("DELETE FROM stored_events WHERE rowid = ?", (position,))

    def insert_event(self, position: int, event: Stored) -> None:
        with self.connection() as conn:
            conn.execute(
                "INSERT INTO stored_events (rowid, originator_id, originator_version, topic,"
                " state) VALUES (?, ?, ?, ?, ?)",
                (position, event.originator_id.hex, event.version, event.topic, event.state),
            )

    def execute_on_seal(self, statement: str, *params: Any) -> None:
        with self.connection(past_triggers=False) as conn:
            conn.execute(statement.format(seal=SEAL_TABLE).replace("%s", "?"), params)

    def record_time(self, goal: UUID, version: int) -> datetime | None:
        with self.connection(past_triggers=False) as conn:
            row = conn.execute(
                "SELECT recorded_at FROM stored_events_times"
                " WHERE originator_id = ? AND originator_version = ?",
                (goal.hex, version),
            ).fetchone()
        return datetime.fromisoformat(row[0]) if row else None

    def set_record_time(self, goal: UUID, version: int, moment: datetime | None) -> None:
        with self.connection(table="stored_events_times") as conn:
            conn.execute(
                "DELETE FROM stored_events_times"
                " WHERE originator_id = ? AND originator_version = ?",
                (goal.hex, version),
            )
            if moment is not None:
                # As the recorder writes it: fixed-width UTC text, so text order is time order.
                text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                conn.execute(
                    "INSERT INTO stored_events_times VALUES (?, ?, ?)", (goal.hex, version, text)
                )


@dataclass
class SealedStore:
    """A store with the demo quarter loaded and sealed, and the means to tamper with it."""

    url: str
    ledger: GoalLedger
    worker: ProjectionWorker
    raw: Tamperer

    def verify(self, **options: Any) -> Verification:
        return verify(self.ledger, ViewDatabase(self.ledger), **options)


@pytest.fixture
def tamperer(store: str, store_url: str, request: pytest.FixtureRequest) -> Tamperer:
    if store == "postgres":
        return PostgresTamperer(
            request.getfixturevalue("pg_database"), request.getfixturevalue("pg_schema")
        )
    return SQLiteTamperer(Path(store_url.removeprefix("sqlite:///")))


@pytest.fixture
def sealed(store_url: str, ledger: GoalLedger, tamperer: Tamperer) -> SealedStore:
    # The seal alone: the other read models have nothing to do with it, and take time.
    worker = ProjectionWorker(ledger, [Seal])
    worker.create_tables()
    load_demo(ledger, today=DEMO_DAY)
    worker.run_until_caught_up()
    return SealedStore(store_url, ledger, worker, tamperer)


def test_the_sealed_demo_quarter_verifies_intact_and_new_events_wait_to_be_sealed(
    sealed: SealedStore,
) -> None:
    # The demo quarter is loaded and sealed; the registered worker keeps the seal too.
    assert Seal in READ_MODELS
    events = sealed.raw.rows()
    head = events[-1].position
    result = sealed.verify()
    assert result.intact, result
    assert (result.checked, result.sealed_up_to, result.log_head) == (len(events), head, head)
    assert result.unsealed == 0
    assert result.first_bad_position is None and result.finding is None

    # The seal is what its documented definition says, recomputed here independently.
    def frame(data: bytes) -> bytes:
        return len(data).to_bytes(8, "big") + data

    chain = hashlib.sha256(b"goalpost seal v1 genesis").digest()
    assert chain == GENESIS
    expected = {}
    for row in events:
        chain = hashlib.sha256(
            frame(chain)
            + frame(row.position.to_bytes(8, "big", signed=True))
            + frame(row.originator_id.bytes)
            + frame(row.version.to_bytes(8, "big", signed=True))
            + frame(row.topic.encode())
            + frame(row.state)
        ).digest()
        expected[row.position] = chain.hex()
    assert sealed.raw.seal_rows() == expected
    assert result.head_hash == chain.hex()

    # Someone is given a token; until the worker seals that event, the log is not intact:
    # nothing was found wrong, but not every event up to the head could be checked.
    _, issued = sealed.ledger.issue_token(actor="operator", subject="auditor-1", roles=["auditor"])
    waiting = sealed.verify()
    assert not waiting.intact and waiting.finding is Finding.NOT_YET_SEALED
    assert waiting.first_bad_position == issued.position == waiting.log_head
    assert (waiting.checked, waiting.sealed_up_to, waiting.unsealed) == (len(events), head, 1)
    assert waiting.head_hash == result.head_hash

    # The worker seals it; the head moves on and the old head stays a link in the chain.
    sealed.worker.run_until_caught_up()
    moved = sealed.verify(anchor=Anchor(head, result.head_hash))
    assert moved.intact and moved.unsealed == 0 and moved.sealed_up_to > head
    assert moved.anchor_checked


@pytest.mark.parametrize("batch_size", [5000, 7])
def test_a_target_rewritten_by_a_superuser_is_named_by_its_position(
    sealed: SealedStore, batch_size: int
) -> None:
    # Mid-quarter, a key result was re-baselined to a target of 80; the seal covers it.
    position = sealed.raw.position_of("KeyResult.Rebaselined")
    event = sealed.raw.event(position)
    state = json.loads(event.state)
    assert state["target"]["_data_"] == "80"

    # An administrator with superuser rights gets past the append-only triggers and makes
    # the target 90, as if it had never been lowered; the triggers are back afterwards.
    state["target"]["_data_"] = "90"
    sealed.raw.rewrite_state(position, json.dumps(state, separators=(",", ":")).encode())

    # Goalpost itself reads the rewritten history without complaint: any process that
    # loads the goal afresh (one that holds it in memory may keep the original a while)...
    fresh = open_ledger(sealed.url)
    try:
        key_result = fresh.get_key_result(event.originator_id)
    finally:
        fresh.close()
    assert key_result.current_plan.target == Decimal("90")

    # ...but verify names exactly that position, and says the event, not the seal, changed.
    result = sealed.verify(batch_size=batch_size)
    assert not result.intact
    assert result.first_bad_position == position
    assert result.finding is Finding.EVENT_ALTERED
    assert result.checked == sum(1 for row in sealed.raw.rows() if row.position < position)


def test_a_deleted_event_is_named_by_its_position(sealed: SealedStore) -> None:
    # A check-in disappears from the log.
    position = sealed.raw.position_of("KeyResult.CheckInRecorded") + 5
    sealed.raw.delete_event(position)

    result = sealed.verify()
    assert (result.intact, result.first_bad_position) == (False, position)
    assert result.finding is Finding.EVENT_MISSING


def test_tampered_seal_rows_are_named_by_their_position(sealed: SealedStore) -> None:
    positions = [row.position for row in sealed.raw.rows()]
    middle, later = positions[len(positions) // 2], positions[len(positions) // 2 + 10]

    # Someone edits one seal row; the events around it still chain to the rows after it.
    sealed.raw.execute_on_seal("UPDATE {seal} SET hash = %s WHERE position = %s", "0" * 64, later)
    result = sealed.verify()
    assert (result.first_bad_position, result.finding) == (later, Finding.SEAL_ROW_ALTERED)

    # An earlier seal row deleted is found first, and told apart from an inserted event.
    sealed.raw.execute_on_seal("DELETE FROM {seal} WHERE position = %s", middle)
    result = sealed.verify()
    assert (result.first_bad_position, result.finding) == (middle, Finding.SEAL_ROW_MISSING)


def test_seal_rows_cut_from_the_tail_are_caught_by_the_seals_own_position(
    sealed: SealedStore,
) -> None:
    # The last twenty seal rows go; the seal's tracking position still says how far it got.
    positions = [row.position for row in sealed.raw.rows()]
    cut_after = positions[-21]
    sealed.raw.execute_on_seal("DELETE FROM {seal} WHERE position > %s", cut_after)

    result = sealed.verify()
    assert (result.first_bad_position, result.finding) == (
        positions[-20],
        Finding.SEAL_ROW_MISSING,
    )


def test_the_last_sealed_event_altered_is_named_though_its_kind_cannot_be_told(
    sealed: SealedStore,
) -> None:
    last = sealed.raw.rows()[-1]
    sealed.raw.rewrite_state(last.position, last.state.replace(b"actor", b"actoR", 1))

    result = sealed.verify()
    assert result.first_bad_position == last.position
    assert result.finding is Finding.EVENT_OR_SEAL_ALTERED


@pytest.mark.postgres
def test_an_event_slipped_into_a_gap_is_named_by_its_position(
    pg_url: str, pg_database: str, pg_schema: str
) -> None:
    ledger = open_ledger(pg_url, create_tables=True)
    try:
        raw = PostgresTamperer(pg_database, pg_schema)
        worker = worker_for(ledger)
        worker.create_tables()
        # Two writes roll back (as lost races do) and leave a gap; the quarter goes on.
        load_demo(ledger, today=DEMO_DAY)
        demo_head = ledger.recorder.max_notification_id() or 0
        raw.skip_positions(2)
        ledger.issue_token(actor="operator", subject="auditor-1", roles=["auditor"])
        worker.run_until_caught_up()
        positions = [row.position for row in raw.rows()]
        gap = demo_head + 1
        assert gap not in positions and gap + 2 in positions
        intact = verify(ledger, ViewDatabase(ledger))
        assert intact.intact, intact

        # A seal row forged into the gap, where the log never had an event, is named.
        raw.execute_on_seal("INSERT INTO {seal} (position, hash) VALUES (%s, %s)", gap, "ab" * 32)
        result = verify(ledger, ViewDatabase(ledger))
        assert (result.first_bad_position, result.finding) == (gap, Finding.SEAL_ROW_ALTERED)
        raw.execute_on_seal("DELETE FROM {seal} WHERE position = %s", gap)

        # Gaps are normal; an event written into one after the seal passed it is not.
        forged = raw.event(positions[-1])
        raw.insert_event(gap, Stored(gap, uuid4(), 1, forged.topic, forged.state))
        result = verify(ledger, ViewDatabase(ledger))
        assert (result.first_bad_position, result.finding) == (gap, Finding.EVENT_INSERTED)
    finally:
        ledger.close()


def test_a_consistent_rewrite_of_events_and_seal_is_caught_only_by_a_recorded_anchor(
    sealed: SealedStore,
) -> None:
    # The operator records the anchor `goalpost verify` prints, outside the store.
    recorded = sealed.verify()
    anchor = Anchor(recorded.sealed_up_to, recorded.head_hash)

    # An attacker rewrites an event and recomputes every seal row from there on.
    position = sealed.raw.position_of("KeyResult.Rebaselined")
    event = sealed.raw.event(position)
    sealed.raw.rewrite_state(position, event.state.replace(b'"80"', b'"90"'))
    seal = sealed.raw.seal_rows()
    chain = GENESIS
    for row in sealed.raw.rows():
        chain = link(chain, row.position, row.originator_id, row.version, row.topic, row.state)
        if row.position >= position:
            sealed.raw.execute_on_seal(
                "UPDATE {seal} SET hash = %s WHERE position = %s", chain.hex(), row.position
            )
    assert sealed.raw.seal_rows() != seal

    # The chain alone is consistent again: this is what the seal cannot see by itself.
    assert sealed.verify().intact
    # Against the recorded anchor, the rewrite shows.
    result = sealed.verify(anchor=anchor)
    assert (result.intact, result.finding) == (False, Finding.ANCHOR_MISMATCH)
    assert result.first_bad_position == anchor.position


def test_two_workers_take_turns_and_the_chain_stays_whole(
    store_url: str, ledger: GoalLedger
) -> None:
    # Two workers, each sealing small batches, take turns on the same log.
    first = ProjectionWorker(ledger, [Seal], batch_size=10)
    second = ProjectionWorker(ledger, [Seal], batch_size=10)
    first.create_tables()
    load_demo(ledger, today=DEMO_DAY)
    first.run_once()
    second.run_once()
    second.run_once()
    # The first worker's memory of the chain is stale now: it chains from the store.
    first.run_until_caught_up()
    result = verify(ledger, ViewDatabase(ledger))
    assert result.intact, result
    assert result.sealed_up_to == ledger.recorder.max_notification_id()


def test_verify_before_the_seal_exists_says_so(ledger: GoalLedger) -> None:
    ledger.issue_token(actor="operator", subject="auditor-1", roles=["auditor"])
    with pytest.raises(SealUnavailableError, match="db init"):
        verify(ledger, ViewDatabase(ledger))


def test_goalpost_verify_exits_0_when_intact_1_when_broken_naming_the_position(
    sealed: SealedStore,
) -> None:
    # Intact: exit 0, and an anchor line to record.
    result = goalpost(sealed.url, "verify")
    assert result.exit_code == 0, result.output
    assert "Seal intact" in result.stdout
    anchor = result.stdout.strip().splitlines()[-1].split()[-1]
    assert Anchor.parse(anchor).position == sealed.verify().sealed_up_to

    # The recorded anchor checks out while nothing has changed.
    again = goalpost(sealed.url, "verify", "--anchor", anchor)
    assert again.exit_code == 0, again.output
    assert "anchor matches" in again.stdout

    # A rewritten event: exit 1, naming the first bad position.
    position = sealed.raw.position_of("Kpi.TargetChanged")
    event = sealed.raw.event(position)
    sealed.raw.rewrite_state(position, event.state.replace(b"99.9", b"99.0", 1))
    broken = goalpost(sealed.url, "verify")
    assert broken.exit_code == 1, broken.output
    assert f"BROKEN at position {position} (event_altered)" in broken.stdout

    # A malformed anchor is a usage error, not a verdict.
    bad = goalpost(sealed.url, "verify", "--anchor", "12:abc")
    assert bad.exit_code == 2
    assert "POSITION:HASH" in bad.stderr


def test_a_rebuild_reseals_the_same_chain_and_refuses_to_launder_a_change(
    sealed: SealedStore,
) -> None:
    # Rebuilding the seal from an untouched log gives the same chain, hash for hash.
    before = sealed.verify()
    [rebuilt] = Rebuild(sealed.ledger, Seal, batch_size=50).run()
    assert rebuilt.generation == 2
    after = sealed.verify()
    assert after.intact and after.head_hash == before.head_hash

    # A superuser rewrites a target; a rebuild now would seal the rewritten bytes and drop
    # the generation that still remembers the originals. It stops at that position instead.
    position = sealed.raw.position_of("KeyResult.Rebaselined")
    sealed.raw.rewrite_state(position, sealed.raw.event(position).state.replace(b'"80"', b'"90"'))
    with pytest.raises(SealRebuildRefusedError, match=f"position {position}"):
        Rebuild(sealed.ledger, Seal, batch_size=50).run()

    # The live seal is untouched and still names the change.
    result = sealed.verify()
    assert (result.first_bad_position, result.finding) == (position, Finding.EVENT_ALTERED)


def fresh_known_at(url: str, goal: UUID, moment: datetime) -> int | None:
    """The version `known_at` answers with, read by a process that holds nothing in memory."""
    fresh = open_ledger(url)
    try:
        return fresh.get_key_result(goal, known_at=moment).version
    except NotFoundError:
        return None
    finally:
        fresh.close()


def test_a_record_time_moved_back_a_day_changes_known_at_and_is_named_by_its_position(
    sealed: SealedStore,
) -> None:
    # A check-in, and the moment just before it was recorded: then, it was not yet known.
    position = sealed.raw.position_of("KeyResult.CheckInRecorded")
    check_in = sealed.raw.event(position)
    goal, version = check_in.originator_id, check_in.version
    recorded_at = sealed.raw.record_time(goal, version)
    assert recorded_at is not None
    just_before = recorded_at - timedelta(microseconds=1)
    assert fresh_known_at(sealed.url, goal, just_before) == version - 1

    # A superuser moves its row in the record-time index back a day, past the triggers.
    sealed.raw.set_record_time(goal, version, recorded_at - timedelta(days=1))

    # `known_at` now answers that the check-in was known the day before...
    assert fresh_known_at(sealed.url, goal, just_before) == version
    # ...but verify holds the index to the time sealed inside the event, and names it.
    result = sealed.verify()
    assert (result.intact, result.first_bad_position) == (False, position)
    assert result.finding is Finding.RECORD_TIME_ALTERED
    assert recorded_at.isoformat() in (result.detail or "")
    assert result.checked == sum(1 for row in sealed.raw.rows() if row.position < position)

    # Moved a microsecond instead, it is named all the same.
    sealed.raw.set_record_time(goal, version, recorded_at + timedelta(microseconds=1))
    result = sealed.verify()
    assert (result.first_bad_position, result.finding) == (position, Finding.RECORD_TIME_ALTERED)

    # Moved back with the event's own timestamp rewritten to match: the seal names the event.
    day_before = (recorded_at - timedelta(days=1)).isoformat()
    state = json.loads(check_in.state)
    state["timestamp"]["_data_"] = day_before
    sealed.raw.rewrite_state(position, json.dumps(state, separators=(",", ":")).encode())
    sealed.raw.set_record_time(goal, version, recorded_at - timedelta(days=1))
    result = sealed.verify()
    assert (result.first_bad_position, result.finding) == (position, Finding.EVENT_ALTERED)


def test_a_deleted_record_time_is_named_by_its_position(sealed: SealedStore) -> None:
    position = sealed.raw.position_of("KeyResult.CheckInRecorded") + 3
    event = sealed.raw.event(position)
    sealed.raw.set_record_time(event.originator_id, event.version, None)

    result = sealed.verify()
    assert (result.intact, result.first_bad_position) == (False, position)
    assert result.finding is Finding.RECORD_TIME_MISSING


def test_a_record_time_for_a_version_with_no_event_is_named(sealed: SealedStore) -> None:
    # A key result, known only since it was created (today).
    created = sealed.raw.position_of("KeyResult.Created")
    goal = sealed.raw.event(created).originator_id
    last = max(
        (row for row in sealed.raw.rows() if row.originator_id == goal), key=lambda r: r.version
    )
    a_year_ago = datetime.now(UTC) - timedelta(days=365)
    assert fresh_known_at(sealed.url, goal, a_year_ago) is None

    # A superuser adds an index row for a version it never had, recorded a year ago.
    sealed.raw.set_record_time(goal, last.version + 1, a_year_ago)

    # `known_at` a year ago now shows the goal as it is today...
    assert fresh_known_at(sealed.url, goal, a_year_ago) == last.version
    # ...and verify names the row, at the goal's last event, which it makes known too early.
    result = sealed.verify()
    assert (result.intact, result.finding) == (False, Finding.RECORD_TIME_INSERTED)
    assert result.first_bad_position == last.position
    assert f"version {last.version + 1} of {goal}" in (result.detail or "")


def test_goalpost_verify_exits_3_while_events_up_to_the_head_are_not_sealed(
    sealed: SealedStore,
) -> None:
    head = sealed.verify().log_head
    # A write after the worker stopped: verify cannot vouch for it yet.
    _, issued = sealed.ledger.issue_token(actor="operator", subject="auditor-1", roles=["auditor"])
    waiting = goalpost(sealed.url, "verify")
    assert waiting.exit_code == 3, waiting.output
    assert "Seal intact" not in waiting.stdout
    assert f"1 events after it, up to position {issued.position}, are not sealed yet" in (
        waiting.stdout.replace("\n", " ")
    )
    # What is sealed checked out, so its anchor is printed to record.
    assert waiting.stdout.strip().splitlines()[-1].split()[-1].startswith(f"{head}:")

    # Once the worker has sealed it: intact, exit 0.
    sealed.worker.run_until_caught_up()
    assert goalpost(sealed.url, "verify").exit_code == 0


def test_each_recorder_reads_its_log_for_verification_by_position(ledger: GoalLedger) -> None:
    # The demo quarter is saved; the recorder is asked, never which class it is.
    load_demo(ledger, today=DEMO_DAY)
    recorder = ledger.recorder
    assert isinstance(recorder, EventLog)
    stored = ledger.recorder.select_notifications(start=1, limit=10_000)
    head = stored[-1].id

    # Every event, in log order, a batch at a time, each with its record time: the time
    # its own state carries, as the store keeps it (SQLite: ISO 8601 text).
    walked: list[Any] = []
    while batch := recorder.events_with_record_times(walked[-1][0] if walked else 0, 7):
        assert len(batch) <= 7
        walked.extend(batch)
    assert [row[0] for row in walked] == [n.id for n in stored]
    assert [(UUID(str(row[1])), row[2], row[3]) for row in walked] == [
        (n.originator_id, n.originator_version, n.topic) for n in stored
    ]
    for row, notification in zip(walked, stored, strict=True):
        event = ledger.mapper.to_domain_event(notification)
        assert record_time(row[5]) == event.timestamp
    assert recorder.events_with_record_times(head, 7) == []

    # The tail: the head and how many events lie after a position; no index row is orphaned.
    middle = stored[len(stored) // 2].id
    assert recorder.log_tail(0) == (head, len(stored))
    assert recorder.log_tail(middle) == (head, sum(1 for n in stored if n.id > middle))
    assert recorder.log_tail(head) == (head, 0)
    assert recorder.orphan_record_time() is None
