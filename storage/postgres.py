"""PostgreSQL storage: the library's recorder plus a record-time index and append-only triggers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

EventTimes = Sequence[tuple[UUID, int, datetime]]
# (actor, idempotency key, request fingerprint, result as JSON)
CompletedRequest = tuple[str, str, str, str]


def append_only_statements(schema: str, table: str) -> list[Composed]:
    """Triggers that refuse UPDATE, DELETE and TRUNCATE, even for the table's owner."""
    function = Identifier(schema, "goalpost_refuse_change")
    return [
        SQL(
            "CREATE OR REPLACE FUNCTION {function}() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'goalpost history is append-only: % on % refused', "
            "TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; "
            "END $$"
        ).format(function=function),
        SQL(
            "CREATE OR REPLACE TRIGGER {name} BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION {function}()"
        ).format(
            # Trigger names are per table, so fixed short names never collide or truncate.
            name=Identifier("goalpost_append_only"),
            table=Identifier(schema, table),
            function=function,
        ),
        SQL(
            "CREATE OR REPLACE TRIGGER {name} BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        ).format(
            name=Identifier("goalpost_no_truncate"),
            table=Identifier(schema, table),
            function=function,
        ),
    ]


class GoalpostPostgresRecorder(PostgresApplicationRecorder):
    """Writes each event's record time beside it, in the same transaction."""

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.times_table_name = f"{events_table_name}_times"
        self.check_identifier_length(self.times_table_name)
        schema = self.datastore.schema
        times = Identifier(schema, self.times_table_name)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {times} ("
                "originator_id uuid NOT NULL, "
                "originator_version bigint NOT NULL, "
                "recorded_at timestamptz NOT NULL, "
                "PRIMARY KEY (originator_id, originator_version))"
            ).format(times=times)
        )
        self.sql_create_statements.extend(append_only_statements(schema, self.events_table_name))
        self.sql_create_statements.extend(append_only_statements(schema, self.times_table_name))
        self.insert_times_statement = SQL(
            "INSERT INTO {times} (originator_id, originator_version, recorded_at) "
            "SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::timestamptz[])"
        ).format(times=times)
        self.requests_table_name = f"{events_table_name}_requests"
        self.check_identifier_length(self.requests_table_name)
        requests = Identifier(schema, self.requests_table_name)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {requests} ("
                "actor text NOT NULL, "
                "key text NOT NULL, "
                "fingerprint text NOT NULL, "
                "result text NOT NULL, "
                "recorded_at timestamptz NOT NULL DEFAULT now(), "
                "PRIMARY KEY (actor, key))"
            ).format(requests=requests)
        )
        self.insert_request_statement = SQL(
            "INSERT INTO {requests} (actor, key, fingerprint, result) VALUES (%s, %s, %s, %s)"
        ).format(requests=requests)
        self.select_request_statement = SQL(
            "SELECT fingerprint, result FROM {requests} WHERE actor = %s AND key = %s"
        ).format(requests=requests)
        self.insert_columns_statement = SQL(
            "INSERT INTO {events} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::text[], %s::bytea[]) "
            "RETURNING notification_id"
        ).format(events=Identifier(schema, self.events_table_name))
        self.version_at_statement = SQL(
            "SELECT max(originator_version) AS version FROM {times} "
            "WHERE originator_id = %s AND recorded_at <= %s"
        ).format(times=times)

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        """The library's transaction, lock and NOTIFY, then the rows that go with the events.

        Everything here runs inside the library's error handling, events first: a lost
        race surfaces as the events' own primary-key clash (IntegrityError), never as a
        failure of a companion row. Companion rows are not prepared, because a statement
        prepared inside an aborted pipeline is left unknown to the server.
        """
        self._lock_table(curs)
        self._notify_channel(curs)
        # Four arrays of plain columns, which psycopg dumps in C, rather than an array
        # of composite values, which it dumps in Python (about 60 us an event).
        curs.execute(
            self.insert_columns_statement,
            (
                [e.originator_id for e in stored_events],
                [e.originator_version for e in stored_events],
                [e.topic for e in stored_events],
                [e.state for e in stored_events],
            ),
            prepare=True,
        )
        times: EventTimes = kwargs.get("event_timestamps") or ()
        request: CompletedRequest | None = kwargs.get("request")
        if not times and request is None:
            return
        # A second cursor, so the library still reads the notification ids from the first.
        with curs.connection.cursor() as companion:
            if times:
                companion.execute(
                    self.insert_times_statement,
                    ([t[0] for t in times], [t[1] for t in times], [t[2] for t in times]),
                )
            if request is not None:
                companion.execute(self.insert_request_statement, request)

    def find_request(self, actor: str, key: str) -> tuple[str, str] | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.select_request_statement, (actor, key), prepare=True)
            row = curs.fetchone()
            return (row["fingerprint"], row["result"]) if row else None

    def version_at(self, originator_id: UUID, timestamp: datetime) -> int | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.version_at_statement, (originator_id, timestamp), prepare=True)
            row = curs.fetchone()
            return row["version"] if row else None


class GoalpostPostgresFactory(PostgresFactory):
    application_recorder_class = GoalpostPostgresRecorder
