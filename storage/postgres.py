"""PostgreSQL storage: the library's recorder plus a record-time index and append-only triggers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ProgrammingError, StoredEvent
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
        if datastore.enable_db_functions:
            # The library's stored function inserts events alone, without the table lock
            # or the record times this recorder writes beside them (ADR 0002).
            raise ProgrammingError(
                "Goalpost's recorder does not support POSTGRES_ENABLE_DB_FUNCTIONS"
            )
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
        self.select_request_statement = SQL(
            "SELECT fingerprint, result FROM {requests} WHERE actor = %s AND key = %s"
        ).format(requests=requests)
        # Events, their record times and the completed request in ONE statement: a lost
        # race fails it at one point (the events' primary key), never halfway through a
        # pipeline of several, which would surface as a retried OperationalError.
        # Rows travel as arrays of plain columns, which psycopg dumps in C, rather than
        # as an array of composite values, which it dumps in Python (about 60 us an event).
        self.insert_all_statement = SQL(
            "WITH new_events AS ("
            " INSERT INTO {events} (originator_id, originator_version, topic, state)"
            " SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::text[], %s::bytea[])"
            " RETURNING notification_id),"
            " new_times AS ("
            " INSERT INTO {times} (originator_id, originator_version, recorded_at)"
            " SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::timestamptz[])),"
            " new_requests AS ("
            " INSERT INTO {requests} (actor, key, fingerprint, result)"
            " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]))"
            # Ids come from the sequence in insertion order, so this is the input's order.
            " SELECT notification_id FROM new_events ORDER BY notification_id"
        ).format(events=Identifier(schema, self.events_table_name), times=times, requests=requests)
        self.version_at_position_statement = SQL(
            "SELECT max(originator_version) AS version FROM {events} "
            "WHERE originator_id = %s AND notification_id <= %s"
        ).format(events=Identifier(schema, self.events_table_name))
        self.version_at_statement = SQL(
            "SELECT max(originator_version) AS version FROM {times} "
            "WHERE originator_id = %s AND recorded_at <= %s"
        ).format(times=times)

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        """The library's transaction, table lock and NOTIFY, then one INSERT of everything."""
        self._lock_table(curs)
        self._notify_channel(curs)
        times: EventTimes = kwargs.get("event_timestamps") or ()
        request: CompletedRequest | None = kwargs.get("request")
        requests = [request] if request is not None else []
        curs.execute(
            self.insert_all_statement,
            (
                [e.originator_id for e in stored_events],
                [e.originator_version for e in stored_events],
                [e.topic for e in stored_events],
                [e.state for e in stored_events],
                [t[0] for t in times],
                [t[1] for t in times],
                [t[2] for t in times],
                [r[0] for r in requests],
                [r[1] for r in requests],
                [r[2] for r in requests],
                [r[3] for r in requests],
            ),
            prepare=True,
        )

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        # The statement is a SELECT over the INSERT's RETURNING, not a bare INSERT.
        ids = [row["notification_id"] for row in curs.fetchall()]
        if len(ids) != len(stored_events):
            raise ProgrammingError(
                f"expected {len(stored_events)} notification ids, got {len(ids)}"
            )
        return ids

    def find_request(self, actor: str, key: str) -> tuple[str, str] | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.select_request_statement, (actor, key), prepare=True)
            row = curs.fetchone()
            return (row["fingerprint"], row["result"]) if row else None

    def version_at_position(self, originator_id: UUID, position: int) -> int | None:
        """The aggregate's version as of a position in the log (for projections)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.version_at_position_statement, (originator_id, position))
            row = curs.fetchone()
            return row["version"] if row else None

    def version_at(self, originator_id: UUID, timestamp: datetime) -> int | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.version_at_statement, (originator_id, timestamp), prepare=True)
            row = curs.fetchone()
            return row["version"] if row else None


class GoalpostPostgresFactory(PostgresFactory):
    application_recorder_class = GoalpostPostgresRecorder
