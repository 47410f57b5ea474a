"""The library's own recorder contract, run against Goalpost's recorder subclasses.

`storage.postgres.GoalpostPostgresRecorder` and `storage.sqlite.GoalpostSQLiteRecorder`
override how events are inserted and what tables exist, so the test cases eventsourcing
runs on its own recorders (`eventsourcing.tests.persistence`) run here on ours, set up
the way the library's `tests/persistence_tests/test_postgres.py`, `test_sqlite.py` and
`test_noninterleaving_notification_ids.py` set up theirs, but on a fresh PostgreSQL
schema (or SQLite file) per test. Beside them, the contract Goalpost adds: record times
commit and roll back with their events, and both tables refuse UPDATE and DELETE.

`AggregateRecorderTestCase` runs against the snapshot recorder, which on PostgreSQL is
Goalpost's (`GoalpostSnapshotRecorder`: the library's, its snapshots sent in binary) and
on SQLite the library's own, as `test_create_aggregate_recorder` below confirms. The
library's datastore tests that
terminate every server connection (`pg_close_all_connections`) are not mirrored: they
would cut other sessions on the shared server.
"""

from __future__ import annotations

import json
import sqlite3
import time
from abc import ABC, abstractmethod
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar
from unittest import mock
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    DataError,
    IntegrityError,
    ProcessRecorder,
    ProgrammingError,
    StoredEvent,
    TrackingRecorder,
)
from eventsourcing.postgres import (
    PostgresDatastore,
    PostgresFactory,
    PostgresProcessRecorder,
    PostgresTrackingRecorder,
)
from eventsourcing.sqlite import (
    SQLiteAggregateRecorder,
    SQLiteDatastore,
    SQLiteFactory,
    SQLiteProcessRecorder,
    SQLiteTrackingRecorder,
)
from eventsourcing.utils import Environment
from psycopg import sql

from storage.postgres import (
    GoalpostPostgresFactory,
    GoalpostPostgresRecorder,
    GoalpostSnapshotRecorder,
)
from storage.settings import store_env
from storage.sqlite import GoalpostSQLiteFactory, GoalpostSQLiteRecorder
from tests.conftest import PG_HOST, PG_PORT, PG_USER, pg_admin, pg_url_for

# The library's test cases import its AES cipher, which needs eventsourcing's `crypto`
# extra; without it the contract cannot run at all, so say so rather than error.
pytest.importorskip(
    "Crypto",
    reason="eventsourcing.tests.persistence needs pycryptodome (eventsourcing[crypto]): "
    "add it to the dev extra in pyproject.toml",
)

# Imported as a module: pytest collects every TestCase class in a module's namespace.
from eventsourcing.tests import persistence as library

# The name Goalpost's application gives its events table on PostgreSQL.
EVENTS_TABLE_NAME = "goalpost_events"

# The library tests with the longest identifier PostgreSQL keeps (63); ours appends
# "_requests" for completed idempotent requests, so 54 is the longest it accepts.
LONGEST_EVENTS_TABLE_NAME = "e" * 41 + "stored_events"
assert len(LONGEST_EVENTS_TABLE_NAME) + len("_requests") == 63

Tamper = tuple[str, str]  # (kind, table)


class GoalpostRecorderContract(ABC):
    """What Goalpost's recorders promise beyond the library's contract."""

    @abstractmethod
    def create_recorder(self) -> GoalpostPostgresRecorder | GoalpostSQLiteRecorder:
        """A recorder on a fresh store, its tables created."""

    @abstractmethod
    def another_process(self) -> GoalpostPostgresRecorder | GoalpostSQLiteRecorder:
        """A recorder on the same store with a connection of its own, as another process has."""

    @abstractmethod
    def tamper(self, kind: str, table: str) -> Exception | None:
        """Run a raw UPDATE or DELETE of every row; the database's error, if it refused."""

    @abstractmethod
    def count(self, table: str) -> int:
        """Rows in a table, counted behind the recorder's back."""

    @staticmethod
    def event(
        originator_id: UUID, version: int, at: datetime | None = None, actor: str = "analyst"
    ) -> StoredEvent:
        """A stored event as the JSON transcoder writes one: its record time inside it."""
        moment = (at or datetime.now(tz=UTC)).isoformat()
        state = {"timestamp": {"_type_": "datetime_iso", "_data_": moment}, "actor": actor}
        return StoredEvent(originator_id, version, "topic", json.dumps(state).encode())

    def test_record_times_commit_and_roll_back_with_their_events(self) -> None:
        recorder = self.create_recorder()
        goal = uuid4()
        first = datetime.now(tz=UTC) - timedelta(seconds=30)
        second = first + timedelta(seconds=20)

        # Two events, each recorded at the time it carries.
        one, two = self.event(goal, 1, first), self.event(goal, 2, second)
        recorder.insert_events([one])
        recorder.insert_events([two], event_timestamps=[(goal, 2, second)])
        assert self.count(recorder.times_table_name) == 2

        # What was known when: nothing before the first, version 1 from it, 2 from the second.
        assert recorder.version_at(goal, first - timedelta(microseconds=1)) is None
        assert recorder.version_at(goal, first) == 1
        assert recorder.version_at(goal, second - timedelta(microseconds=1)) == 1
        assert recorder.version_at(goal, second + timedelta(days=9)) == 2
        assert recorder.version_at(uuid4(), second) is None

        # A batch whose event clashes stores neither its new event nor any record time.
        with pytest.raises(IntegrityError):
            recorder.insert_events([self.event(goal, 3, second), self.event(goal, 2, second)])
        # A batch given a record time its events do not carry stores no event either.
        with pytest.raises(DataError):
            recorder.insert_events(
                [self.event(goal, 3, second)],
                event_timestamps=[(goal, 3, second), (goal, 1, second)],
            )
        assert recorder.select_events(goal) == [one, two]
        assert self.count(recorder.times_table_name) == 2
        assert recorder.version_at(goal, second + timedelta(days=9)) == 2

    def test_a_record_time_is_the_events_own_near_the_stores_clock_and_never_goes_back(
        self,
    ) -> None:
        """The store, not the caller, decides when an event was recorded (ADR 24)."""
        recorder = self.create_recorder()
        goal = uuid4()
        now = datetime.now(tz=UTC)
        recorder.insert_events([self.event(goal, 1, now)])

        # Backdated a day, or claimed an hour ahead, the event is refused.
        for claimed in (now - timedelta(days=1), now + timedelta(hours=1)):
            with pytest.raises(DataError, match="clock"):
                recorder.insert_events([self.event(goal, 2, claimed)])
        # Before the goal's previous record time, though near the clock: refused.
        with pytest.raises(DataError, match="before the goal's previous event"):
            recorder.insert_events([self.event(goal, 2, now - timedelta(seconds=5))])
        # Given a time of its own for it, or for a version it does not store: refused.
        later = datetime.now(tz=UTC)
        for given in ([(goal, 2, now - timedelta(days=1))], [(goal, 2, later), (goal, 3, later)]):
            with pytest.raises(DataError, match="record times given"):
                recorder.insert_events([self.event(goal, 2, later)], event_timestamps=given)
        # A timestamp not written as the transcoder writes it: refused.
        malformed = StoredEvent(
            goal, 2, "topic", b'{"timestamp": {"_type_": "datetime_iso", "_data_": "now"}}'
        )
        with pytest.raises(DataError):
            recorder.insert_events([malformed])

        # Nothing of it was stored; the next honest event is, at the time it carries.
        assert [e.originator_version for e in recorder.select_events(goal)] == [1]
        recorder.insert_events([self.event(goal, 2, later)])
        assert recorder.version_at(goal, later) == 2
        assert recorder.version_at(goal, later - timedelta(microseconds=1)) == 1
        assert self.count(recorder.times_table_name) == 2

    def test_a_completed_request_belongs_to_its_events_actor_and_names_one_of_them(
        self,
    ) -> None:
        recorder = self.create_recorder()
        goal = uuid4()
        result = json.dumps({"id": str(goal), "version": 1, "check_in_id": None})

        # The analyst's event with a request filed under the buyer, or naming a version not
        # stored: refused.
        forged = [
            (("buyer", "key-1", "fingerprint", result), "actor"),
            (
                ("analyst", "key-1", "fingerprint", result.replace('"version": 1', '"version": 7')),
                "names no event",
            ),
        ]
        for request, complaint in forged:
            with pytest.raises(DataError, match=complaint):
                recorder.insert_events([self.event(goal, 1)], request=request)
        assert recorder.select_events(goal) == []

        # The analyst's own request, naming the event it stores: kept with it.
        recorder.insert_events([self.event(goal, 1)], request=("analyst", "key-1", "fp", result))
        assert recorder.find_request("analyst", "key-1") == ("fp", result)
        assert recorder.find_request("buyer", "key-1") is None

    def test_a_lost_race_is_an_integrity_error_at_once(self) -> None:
        """The loser of a race must hear IntegrityError (ConcurrencyError, 409) straight away.

        The library retries OperationalError (10 attempts, 0.2 s apart); a conflict that
        surfaces as one costs the loser that wait, and at worst ends as an OperationalError
        the application does not translate. Real sleeps, only counted.
        """
        recorder = self.create_recorder()
        goal = uuid4()
        now = datetime.now(tz=UTC)
        recorder.insert_events([self.event(goal, 1, now)])

        # Another writer stores the same version with its record time, again and again.
        with mock.patch("eventsourcing.utils.sleep", side_effect=time.sleep) as retry_waits:
            for _ in range(12):
                with pytest.raises(IntegrityError):
                    recorder.insert_events([self.event(goal, 1, now)])
                if retry_waits.called:
                    break
        assert retry_waits.call_count == 0, "the conflict was retried as an OperationalError"

    def test_a_lost_race_leaves_the_writer_fit_for_its_next_writes(self) -> None:
        """A process that loses a race reloads and writes again: that write must be stored.

        psycopg prepares a statement on its sixth use on a connection; the race is lost
        on the fifth write's successor, ten times over, each on a fresh connection.
        """
        winner = self.create_recorder()
        now = datetime.now(tz=UTC)
        for _ in range(10):
            # A process starts and records five events of its goal.
            process = self.another_process()
            goal = uuid4()
            for version in range(1, 6):
                process.insert_events([self.event(goal, version, now)])

            # Another process records version 6 first: this one loses the race.
            winner.insert_events([self.event(goal, 6, now)])
            with pytest.raises(IntegrityError):
                process.insert_events([self.event(goal, 6, now)])

            # It reloads and records versions 7 and 8: both are stored, with their times.
            for version in (7, 8):
                process.insert_events([self.event(goal, version, now)])
            assert [e.originator_version for e in process.select_events(goal)] == list(range(1, 9))
            assert process.version_at(goal, now) == 8

    def test_history_tables_refuse_update_and_delete(self) -> None:
        recorder = self.create_recorder()
        goal = uuid4()
        now = datetime.now(tz=UTC)
        one, two = self.event(goal, 1, now), self.event(goal, 2, now)
        recorder.insert_events([one, two])
        for table in (recorder.events_table_name, recorder.times_table_name):
            for kind in ("update", "delete"):
                error = self.tamper(kind, table)
                assert error is not None, f"{kind} on {table} was allowed"
                assert "append-only" in str(error)
            assert self.count(table) == 2
        assert recorder.select_events(goal) == [one, two]


# PostgreSQL


class PostgresSchemaCase:
    """A fresh schema in the session's own database for every test, as `pg_schema` gives."""

    pool_size = 1
    max_overflow = 0
    enable_db_functions = False
    events_table_name = EVENTS_TABLE_NAME

    @pytest.fixture(autouse=True)
    def _fresh_schema(self, pg_database: str, pg_schema: str) -> None:
        self.pg_database = pg_database
        self.pg_schema = pg_schema

    def setUp(self) -> None:
        super().setUp()
        self.datastore = PostgresDatastore(
            self.pg_database,
            PG_HOST,
            PG_PORT,
            PG_USER,
            "",
            pool_size=self.pool_size,
            max_overflow=self.max_overflow,
            schema=self.pg_schema,
            enable_db_functions=self.enable_db_functions,
        )
        self.other_datastores: list[PostgresDatastore] = []

    def tearDown(self) -> None:
        for datastore in [self.datastore, *self.other_datastores]:
            datastore.close()
        super().tearDown()

    def another_process(self) -> GoalpostPostgresRecorder:
        datastore = PostgresDatastore(
            self.pg_database,
            PG_HOST,
            PG_PORT,
            PG_USER,
            "",
            schema=self.pg_schema,
            enable_db_functions=self.enable_db_functions,
        )
        self.other_datastores.append(datastore)
        return GoalpostPostgresRecorder(datastore, events_table_name=self.events_table_name)

    def create_recorder(self) -> GoalpostPostgresRecorder:
        recorder = GoalpostPostgresRecorder(
            self.datastore, events_table_name=self.events_table_name
        )
        recorder.create_table()
        return recorder

    def tamper(self, kind: str, table: str) -> Exception | None:
        statement = {
            "update": sql.SQL("UPDATE {} SET originator_version = originator_version + 1000"),
            "delete": sql.SQL("DELETE FROM {}"),
            "truncate": sql.SQL("TRUNCATE {}"),
        }[kind]
        with pg_admin(self.pg_database) as conn:
            try:
                conn.execute(statement.format(sql.Identifier(self.pg_schema, table)))
            except psycopg.Error as e:
                return e
        return None

    def count(self, table: str) -> int:
        with pg_admin(self.pg_database) as conn:
            row = conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(self.pg_schema, table))
            ).fetchone()
        assert row is not None
        return int(row[0])


@pytest.mark.postgres
class TestGoalpostPostgresRecorder(
    PostgresSchemaCase,
    library.ApplicationRecorderTestCase[GoalpostPostgresRecorder],
    GoalpostRecorderContract,
):
    # The library's own PostgreSQL subclass widens the pool for these, and so do we.
    def test_insert_subscribe(self) -> None:
        self.datastore.pool.open()
        self.datastore.pool.resize(2, 2)
        super().optional_test_insert_subscribe()

    def test_concurrent_no_conflicts(self, initial_position: int = 0) -> None:
        self.datastore.pool.open()
        self.datastore.pool.resize(12, 12)
        super().test_concurrent_no_conflicts()

    def test_concurrent_throughput(self) -> None:
        self.datastore.pool.open()
        self.datastore.pool.resize(10, 10)
        super().test_concurrent_throughput()

    def test_history_tables_refuse_truncate(self) -> None:
        recorder = self.create_recorder()
        goal = uuid4()
        recorder.insert_events([self.event(goal, 1)])
        for table in (recorder.events_table_name, recorder.times_table_name):
            error = self.tamper("truncate", table)
            self.assertIsNotNone(error, f"truncate on {table} was allowed")
            self.assertIn("append-only", str(error))
            self.assertEqual(self.count(table), 1)

    def test_a_table_name_too_long_for_its_companion_tables_is_refused(self) -> None:
        with self.assertRaises(ProgrammingError):
            GoalpostPostgresRecorder(
                self.datastore, events_table_name=LONGEST_EVENTS_TABLE_NAME + "s"
            )


@pytest.mark.postgres
class TestGoalpostPostgresRecorderWithLongestTableName(TestGoalpostPostgresRecorder):
    """Every companion name (times, requests, triggers) still distinct at the boundary."""

    events_table_name = LONGEST_EVENTS_TABLE_NAME


@pytest.mark.postgres
def test_the_recorder_refuses_the_db_functions_option(pg_database: str, pg_schema: str) -> None:
    """The library's stored-function insert path would skip the table lock and record times."""
    datastore = PostgresDatastore(
        pg_database,
        PG_HOST,
        PG_PORT,
        PG_USER,
        "",
        schema=pg_schema,
        enable_db_functions=True,
    )
    try:
        with pytest.raises(ProgrammingError, match="POSTGRES_ENABLE_DB_FUNCTIONS"):
            GoalpostPostgresRecorder(datastore, events_table_name="goalpost_events")
    finally:
        datastore.close()


@pytest.mark.postgres
class TestGoalpostPostgresNonInterleavingNotificationIDs(
    PostgresSchemaCase, library.NonInterleavingNotificationIDsBaseCase
):
    # As the library runs it on PostgreSQL; two writers need two connections.
    insert_num = 100
    pool_size = 2


@pytest.mark.postgres
class TestGoalpostSnapshotRecorder(PostgresSchemaCase, library.AggregateRecorderTestCase):
    """The library's aggregate recorder contract, on the recorder that stores snapshots."""

    def create_recorder(self) -> GoalpostSnapshotRecorder:
        recorder = GoalpostSnapshotRecorder(self.datastore, events_table_name="goalpost_snapshots")
        recorder.create_table()
        return recorder

    def test_a_long_snapshot_reads_back_byte_for_byte(self) -> None:
        # Every byte value, and bytes a text literal would have to escape.
        state = bytes(range(256)) * 800 + b'{"quote": "\\", "brace": "}"}'
        recorder = self.create_recorder()
        goal = uuid4()
        recorder.insert_events([StoredEvent(goal, 100, "domain.key_result:Snapshot", state)])
        (stored,) = recorder.select_events(goal)
        self.assertEqual(stored.state, state)
        self.assertEqual((stored.originator_id, stored.originator_version), (goal, 100))


class PostgresTrackingRecorderSubclass(PostgresTrackingRecorder):
    pass


@pytest.mark.postgres
class TestGoalpostPostgresFactory(library.InfrastructureFactoryTestCase[PostgresFactory]):
    """The factory `storage.settings` names builds Goalpost's recorder from the URL."""

    @pytest.fixture(autouse=True)
    def _fresh_schema(self, pg_database: str, pg_schema: str) -> None:
        self.env = Environment(
            "goalpost", store_env(pg_url_for(pg_database, pg_schema), create_tables=True)
        )

    def expected_factory_class(self) -> type[PostgresFactory]:
        return GoalpostPostgresFactory

    def expected_aggregate_recorder_class(self) -> type[AggregateRecorder]:
        return GoalpostSnapshotRecorder

    def expected_application_recorder_class(self) -> type[ApplicationRecorder]:
        return GoalpostPostgresRecorder

    def expected_tracking_recorder_class(self) -> type[TrackingRecorder]:
        return PostgresTrackingRecorder

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        return PostgresTrackingRecorderSubclass

    def expected_process_recorder_class(self) -> type[ProcessRecorder]:
        return PostgresProcessRecorder


# SQLite


class SQLiteFileCase:
    """A fresh SQLite file for every test, in WAL mode, as `sqlite:///PATH` opens it."""

    pool_size: ClassVar[int] = 100

    @pytest.fixture(autouse=True)
    def _fresh_file(self, tmp_path: Path) -> None:
        self.db_path = tmp_path / "goalpost.sqlite"

    def create_recorder(self) -> GoalpostSQLiteRecorder:
        recorder = GoalpostSQLiteRecorder(
            SQLiteDatastore(db_name=str(self.db_path), pool_size=self.pool_size)
        )
        recorder.create_table()
        return recorder

    def another_process(self) -> GoalpostSQLiteRecorder:
        return GoalpostSQLiteRecorder(SQLiteDatastore(db_name=str(self.db_path), pool_size=1))

    def tamper(self, kind: str, table: str) -> Exception | None:
        statement = {
            "update": f'UPDATE "{table}" SET originator_version = originator_version + 1000',
            "delete": f'DELETE FROM "{table}"',
        }[kind]
        with closing(sqlite3.connect(self.db_path, isolation_level=None)) as conn:
            try:
                conn.execute(statement)
            except sqlite3.Error as e:
                return e
        return None

    def count(self, table: str) -> int:
        with closing(sqlite3.connect(self.db_path)) as conn:
            return int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])


class TestGoalpostSQLiteRecorder(
    SQLiteFileCase,
    library.ApplicationRecorderTestCase[GoalpostSQLiteRecorder],
    GoalpostRecorderContract,
):
    pass


class TestGoalpostSQLiteNonInterleavingNotificationIDs(
    SQLiteFileCase, library.NonInterleavingNotificationIDsBaseCase
):
    pass


class SQLiteTrackingRecorderSubclass(SQLiteTrackingRecorder):
    pass


class TestGoalpostSQLiteFactory(library.InfrastructureFactoryTestCase[SQLiteFactory]):
    @pytest.fixture(autouse=True)
    def _fresh_file(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'goalpost.sqlite'}"
        self.env = Environment("goalpost", store_env(url))

    def expected_factory_class(self) -> type[SQLiteFactory]:
        return GoalpostSQLiteFactory

    def expected_aggregate_recorder_class(self) -> type[AggregateRecorder]:
        return SQLiteAggregateRecorder

    def expected_application_recorder_class(self) -> type[ApplicationRecorder]:
        return GoalpostSQLiteRecorder

    def expected_tracking_recorder_class(self) -> type[TrackingRecorder]:
        return SQLiteTrackingRecorder

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        return SQLiteTrackingRecorderSubclass

    def expected_process_recorder_class(self) -> type[ProcessRecorder]:
        return SQLiteProcessRecorder
