"""PostgreSQL storage: the library's recorder plus a record-time index and append-only triggers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    InterfaceError,
    OperationalError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from eventsourcing.utils import Environment, EnvType, retry
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier, Literal
from psycopg.types.json import set_json_loads

from storage import personal_keys
from storage.event_log import LoggedEvent, OrphanRecordTime
from storage.notifications import TupleNotifications
from storage.record_times import ISO_WITH_OFFSET, RECORD_TIME_TOLERANCE
from storage.rows import json_loads
from storage.settings import LIBPQ_CONNECT_TIMEOUT

# Every json and jsonb column Goalpost reads is its own read models' JSON: parsed the
# faster way, alike (ADR 48). psycopg's adapters are process-wide; set here, they apply to
# every connection opened after Goalpost's PostgreSQL store is first imported.
set_json_loads(json_loads)

EventTimes = Sequence[tuple[UUID, int, datetime]]
# (actor, idempotency key, request fingerprint, result as JSON)
CompletedRequest = tuple[str, str, str, str]
# Goals a write was decided on without changing them: (id, the version it saw).
Unchanged = Sequence[tuple[UUID, int]]


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


class GoalpostPostgresRecorder(TupleNotifications, PostgresApplicationRecorder):
    """Writes each event's record time beside it, in the same transaction; reads the log
    as tuples (storage.notifications)."""

    # What callers above storage ask, instead of which class they were given.
    dialect = "postgresql"

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
        # One row at most, never removed: present, the append function takes past record
        # times (ADR 44). Only an empty store can be marked; the app role may only read it.
        self.demo_table_name = f"{events_table_name}_demo"
        self.check_identifier_length(self.demo_table_name)
        demo = Identifier(schema, self.demo_table_name)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {demo} (marked_at timestamptz NOT NULL, "
                "one boolean PRIMARY KEY DEFAULT true CHECK (one))"
            ).format(demo=demo)
        )
        self.is_demo_statement = SQL("SELECT EXISTS (SELECT 1 FROM {demo})").format(demo=demo)
        self.mark_demo_statements = (
            SQL("LOCK TABLE {events} IN EXCLUSIVE MODE").format(
                events=Identifier(schema, self.events_table_name)
            ),
            SQL(
                "INSERT INTO {demo} (marked_at) SELECT now()"
                " WHERE NOT EXISTS (SELECT 1 FROM {events}) ON CONFLICT DO NOTHING"
            ).format(demo=demo, events=Identifier(schema, self.events_table_name)),
        )
        self.sql_create_statements.extend(append_only_statements(schema, self.events_table_name))
        self.sql_create_statements.extend(append_only_statements(schema, self.times_table_name))
        # Deletable on purpose: erasing a person deletes their key (ADR 41).
        self.sql_create_statements.extend(
            personal_keys.postgres_statements(schema, self.events_table_name)
        )
        self.sql_create_statements.extend(append_only_statements(schema, self.demo_table_name))
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
        # One round trip per save: a function that takes the table lock, notifies, and
        # inserts the events, their record times and the completed request, all in the
        # one statement's transaction (autocommit). The lock keeps notification order
        # equal to commit order, as the library's pipelined transaction does, but is held
        # only while the statement runs instead of across several round trips; and a lost
        # race fails the statement at one point, the events' primary key (the events go
        # in first, so a lost race is never mistaken for a refusal below).
        # Rows travel as arrays of plain columns: psycopg dumps composite arrays in
        # Python (about 60 us an event).
        # `p_unchanged_*` name goals the write was decided on but does not change (a
        # check-in's cycle): if one has a later event by the time the lock is held (the
        # cycle closed meanwhile), the save fails as a lost race does, and the command is
        # decided again on fresh state.
        # The function trusts its caller with nothing it stores beside the events (ADR 24):
        # a record time is the timestamp inside the event's own state, refused unless it is
        # within RECORD_TIME_TOLERANCE of the database clock and not before the goal's
        # previous one; `p_time_*` must be empty or exactly those rows, in order (the
        # recorder still sends them, as the previous release does, so either release's
        # process saves through either release's function); a completed request must be
        # the events' actor's and name one of the events. A refusal is a data_exception.
        self.append_function_name = f"{events_table_name}_append"
        self.check_identifier_length(self.append_function_name)
        append_function = Identifier(schema, self.append_function_name)
        self.sql_create_statements.append(
            SQL(
                "CREATE OR REPLACE FUNCTION {function}("
                "p_ids uuid[], p_versions bigint[], p_topics text[], p_states bytea[], "
                "p_time_ids uuid[], p_time_versions bigint[], p_times timestamptz[], "
                "p_actors text[], p_keys text[], p_fingerprints text[], p_results text[], "
                "p_unchanged_ids uuid[], p_unchanged_versions bigint[]) "
                # As its owner: an app role that may not write the tables saves through it.
                "RETURNS SETOF bigint LANGUAGE plpgsql "
                "SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$ "
                "DECLARE v_now timestamptz; v_positions bigint[]; v_time_ids uuid[]; "
                "v_time_versions bigint[]; v_times timestamptz[]; v_actors text[]; "
                "v_result jsonb; v_refused boolean; v_demo boolean; "
                "BEGIN "
                "SET LOCAL lock_timeout = '{lock_timeout}s'; "
                "LOCK TABLE {events} IN EXCLUSIVE MODE; "
                # Each goal's latest version through the primary key, newest first: as a
                # join, the plan (made once for the function, for any few goals) hashed
                # the whole events table on every save.
                "IF EXISTS (SELECT 1 FROM unnest(p_unchanged_ids, p_unchanged_versions)"
                " AS u(id, version) WHERE (SELECT e.originator_version FROM {events} e"
                " WHERE e.originator_id = u.id"
                " ORDER BY e.originator_version DESC LIMIT 1) > u.version) THEN"
                " RAISE unique_violation USING MESSAGE ="
                " 'a goal this write was decided on changed meanwhile'; "
                "END IF; "
                "NOTIFY {channel}; "
                "WITH new_events AS ("
                " INSERT INTO {events} (originator_id, originator_version, topic, state)"
                " SELECT * FROM unnest(p_ids, p_versions, p_topics, p_states)"
                " RETURNING notification_id)"
                # Ids come from the sequence in insertion order: this is the input's order.
                " SELECT coalesce(array_agg(notification_id ORDER BY notification_id),"
                " ARRAY[]::bigint[]) INTO v_positions FROM new_events; "
                # Each event's record time and actor, read from its own state, in one pass
                # that also indexes the times. A state that is not a JSON object with a
                # timestamp gets no record time: Goalpost writes none, and the library's
                # recorder tests store such. The aggregates of one pass stay aligned row for
                # row; the scan keeps the input's order, which only the comparison with
                # `p_time_*` needs (out of order, it would refuse, never admit).
                "v_now := clock_timestamp(); "
                "v_demo := EXISTS (SELECT 1 FROM {demo}); "
                "WITH parsed AS MATERIALIZED (SELECT j.id, j.version, j.ts IS NOT NULL AS timed,"
                " CASE WHEN j.ts ->> '_type_' = 'datetime_iso' AND j.ts ->> '_data_' ~ {iso}"
                " THEN (j.ts ->> '_data_')::timestamptz END AS at,"
                " CASE WHEN jsonb_typeof(j.actor) = 'string' THEN j.actor #>> '{{}}' END AS actor"
                " FROM (SELECT d.id, d.version, d.doc -> 'timestamp' AS ts,"
                " d.doc -> 'actor' AS actor"
                " FROM (SELECT n.id, n.version,"
                " CASE WHEN substring(n.state FROM 1 FOR 1) = '\\x7b'::bytea"
                " THEN convert_from(n.state, 'UTF8')::jsonb END AS doc"
                " FROM unnest(p_ids, p_versions, p_states) AS n(id, version, state)"
                # OFFSET 0 keeps each state parsed once: pulled up into the query above, the
                # parse would run again for every field read from it.
                " OFFSET 0) d OFFSET 0) j),"
                # Inserted now, refused below if any check fails: the function's one
                # transaction rolls it all back.
                " new_times AS ("
                " INSERT INTO {times} (originator_id, originator_version, recorded_at)"
                " SELECT id, version, at FROM parsed WHERE at IS NOT NULL)"
                " SELECT coalesce(array_agg(id) FILTER (WHERE timed), ARRAY[]::uuid[]),"
                " coalesce(array_agg(version) FILTER (WHERE timed), ARRAY[]::bigint[]),"
                " coalesce(array_agg(at) FILTER (WHERE timed), ARRAY[]::timestamptz[]),"
                " coalesce(array_agg(actor), ARRAY[]::text[]),"
                " coalesce(bool_or(timed AND (at IS NULL"
                " OR at > v_now + {tolerance}"
                " OR (NOT v_demo AND at < v_now - {tolerance}))), false)"
                " INTO v_time_ids, v_time_versions, v_times, v_actors, v_refused FROM parsed; "
                "IF v_refused THEN"
                " RAISE EXCEPTION 'goalpost refuses the save: an event''s timestamp is"
                " missing, malformed or more than % from the database clock (%)',"
                " {tolerance}, v_now USING ERRCODE = 'data_exception'; "
                "END IF; "
                # The goal's previous record time: the event before in this save, else the
                # latest stored below this version (this save's own rows are above it).
                "IF EXISTS (SELECT 1 FROM (SELECT t.id, t.version, t.at,"
                " lag(t.at) OVER (PARTITION BY t.id ORDER BY t.version) AS before"
                " FROM unnest(v_time_ids, v_time_versions, v_times) AS t(id, version, at)) c"
                " WHERE c.at < coalesce(c.before, (SELECT r.recorded_at FROM {times} r"
                " WHERE r.originator_id = c.id AND r.originator_version < c.version"
                " ORDER BY r.originator_version DESC LIMIT 1))) THEN"
                " RAISE EXCEPTION 'goalpost refuses the save: an event says it was recorded"
                " before the goal''s previous event' USING ERRCODE = 'data_exception'; "
                "END IF; "
                # Given in the events' order, as the recorder sends them.
                "IF cardinality(p_time_ids) > 0 AND (p_time_ids IS DISTINCT FROM v_time_ids"
                " OR p_time_versions IS DISTINCT FROM v_time_versions"
                " OR p_times IS DISTINCT FROM v_times) THEN"
                " RAISE EXCEPTION 'goalpost refuses the save: the record times given are not"
                " the times its events carry' USING ERRCODE = 'data_exception'; "
                "END IF; "
                "IF cardinality(p_actors) > 0 OR cardinality(p_keys) > 0"
                " OR cardinality(p_fingerprints) > 0 OR cardinality(p_results) > 0 THEN"
                " IF cardinality(p_actors) <> 1 OR cardinality(p_keys) <> 1"
                " OR cardinality(p_fingerprints) <> 1 OR cardinality(p_results) <> 1 THEN"
                " RAISE EXCEPTION 'goalpost refuses the save: one completed request at most'"
                " USING ERRCODE = 'data_exception'; END IF;"
                " IF cardinality(v_actors) = 0 OR (p_actors[1] = ALL (v_actors)) IS NOT TRUE"
                " THEN RAISE EXCEPTION 'goalpost refuses the save: the request''s actor % is"
                " not the actor of its events', p_actors[1] USING ERRCODE = 'data_exception';"
                " END IF;"
                " v_result := p_results[1]::jsonb;"
                " IF NOT EXISTS (SELECT 1 FROM unnest(p_ids, p_versions) AS e(id, version)"
                " WHERE e.id::text = v_result ->> 'id'"
                " AND e.version::text = v_result ->> 'version') THEN"
                " RAISE EXCEPTION 'goalpost refuses the save: the request''s result names no"
                " event it stores' USING ERRCODE = 'data_exception'; END IF;"
                " INSERT INTO {requests} (actor, key, fingerprint, result)"
                " VALUES (p_actors[1], p_keys[1], p_fingerprints[1], p_results[1]); "
                "END IF; "
                "RETURN QUERY SELECT * FROM unnest(v_positions); "
                "END $$"
            ).format(
                function=append_function,
                lock_timeout=SQL(str(int(self.datastore.lock_timeout))),
                events=Identifier(schema, self.events_table_name),
                channel=Identifier(self.channel_name),
                times=times,
                requests=requests,
                demo=demo,
                iso=Literal(ISO_WITH_OFFSET),
                tolerance=SQL("make_interval(secs => {})").format(
                    Literal(int(RECORD_TIME_TOLERANCE.total_seconds()))
                ),
            )
        )
        # Arrays sent in binary (`%b`): psycopg builds a text array literal in Python,
        # escaping every byte of every state, at 20 us an event where binary takes 3.
        self.append_statement = SQL(
            "SELECT * FROM {function}("
            "%b::uuid[], %b::bigint[], %b::text[], %b::bytea[], "
            "%b::uuid[], %b::bigint[], %b::timestamptz[], "
            "%b::text[], %b::text[], %b::text[], %b::text[], "
            "%b::uuid[], %b::bigint[]) AS appended(notification_id)"
        ).format(function=append_function)
        self.position_of_statement = SQL(
            "SELECT notification_id FROM {events} "
            "WHERE originator_id = %s AND originator_version = %s"
        ).format(events=Identifier(schema, self.events_table_name))
        self.version_at_position_statement = SQL(
            "SELECT max(originator_version) AS version FROM {events} "
            "WHERE originator_id = %s AND notification_id <= %s"
        ).format(events=Identifier(schema, self.events_table_name))
        self.version_at_statement = SQL(
            "SELECT max(originator_version) AS version FROM {times} "
            "WHERE originator_id = %s AND recorded_at <= %s"
        ).format(times=times)
        events = Identifier(schema, self.events_table_name)
        self.events_with_times_statement = SQL(
            "SELECT e.notification_id AS position, e.originator_id, e.originator_version,"
            " e.topic, e.state,"
            # One index lookup per event: a join may hash the whole index every batch.
            " (SELECT t.recorded_at FROM {times} t WHERE t.originator_id = e.originator_id"
            " AND t.originator_version = e.originator_version) AS recorded_at"
            " FROM {events} e"
            # No upper bound: with one, a planner short of statistics may sort the
            # whole range for each batch instead of walking the index.
            " WHERE e.notification_id > %s ORDER BY e.notification_id LIMIT %s"
        ).format(events=events, times=times)
        # Index rows that name no event; the goal's last position, if it has events.
        self.orphan_time_statement = SQL(
            "SELECT t.originator_id, t.originator_version, t.recorded_at,"
            " (SELECT max(n.notification_id) FROM {events} n"
            " WHERE n.originator_id = t.originator_id) AS position"
            " FROM {times} t WHERE NOT EXISTS (SELECT 1 FROM {events} e"
            " WHERE e.originator_id = t.originator_id"
            " AND e.originator_version = t.originator_version)"
            " ORDER BY position NULLS LAST LIMIT 1"
        ).format(events=events, times=times)
        # Two index range scans, not one pass over the whole table.
        self.log_tail_statement = SQL(
            "SELECT (SELECT max(notification_id) FROM {events}) AS head,"
            " (SELECT count(*) FROM {events} WHERE notification_id > %s) AS after"
        ).format(events=events)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Store events with their record times and completed request: one statement."""
        if not stored_events:
            return None
        times: EventTimes = kwargs.get("event_timestamps") or ()
        request: CompletedRequest | None = kwargs.get("request")
        requests = [request] if request is not None else []
        unchanged: Unchanged = kwargs.get("unchanged") or ()
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                self.append_statement,
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
                    [u[0] for u in unchanged],
                    [u[1] for u in unchanged],
                ),
                prepare=True,
            )
            ids = [row["notification_id"] for row in curs.fetchall()]
        if len(ids) != len(stored_events):
            raise ProgrammingError(
                f"expected {len(stored_events)} notification ids, got {len(ids)}"
            )
        return ids

    def is_demo_store(self) -> bool:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self.is_demo_statement)
            row = curs.fetchone()
            return bool(row and row["exists"])

    def mark_demo_store(self) -> bool:
        """Mark the store a demo store if it holds no event yet; True if it is one now."""
        with self.datastore.transaction(commit=True) as curs:
            for statement in self.mark_demo_statements:
                curs.execute(statement)
            curs.execute(self.is_demo_statement)
            row = curs.fetchone()
            return bool(row and row["exists"])

    def find_request(self, actor: str, key: str) -> tuple[str, str] | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.select_request_statement, (actor, key), prepare=True)
            row = curs.fetchone()
            return (row["fingerprint"], row["result"]) if row else None

    def position_of(self, originator_id: UUID, version: int) -> int | None:
        """The log position of one stored event."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.position_of_statement, (originator_id, version), prepare=True)
            row = curs.fetchone()
            return row["notification_id"] if row else None

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

    # What verification reads (storage.event_log.EventLog), as plain tuples: a dict a row
    # is felt over a 100,000-event walk.

    def events_with_record_times(self, after: int, limit: int) -> Sequence[LoggedEvent]:
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(self.events_with_times_statement, (after, limit))
            return curs.fetchall()

    def orphan_record_time(self) -> OrphanRecordTime | None:
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(self.orphan_time_statement)
            return curs.fetchone()

    def log_tail(self, after: int) -> tuple[int, int]:
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(self.log_tail_statement, (after,))
            row = curs.fetchone()
        return (int(row[0] or 0), int(row[1] or 0)) if row else (0, 0)


class GoalpostSnapshotRecorder(PostgresAggregateRecorder):
    """The library's snapshot recorder, its snapshots sent in binary.

    Sent as text, each snapshot's state is escaped byte by byte into a composite literal
    in Python; a key result's snapshot holds every check-in, hundreds of KiB in a long
    history.
    """

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.insert_events_statement = SQL(
            "INSERT INTO {schema}.{table} AS t (originator_id, originator_version, topic, state)"
            " SELECT originator_id, originator_version, topic, state"
            " FROM unnest(%b::{schema}.{stored_event_type}[])"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
            stored_event_type=Identifier(self.stored_event_type_name),
        )


class GoalpostPostgresFactory(PostgresFactory):
    application_recorder_class = GoalpostPostgresRecorder
    aggregate_recorder_class = GoalpostSnapshotRecorder

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        # The pool's connections wait this long for the server, not the system's minutes.
        seconds = self.env.get(LIBPQ_CONNECT_TIMEOUT)
        if seconds and isinstance(self.datastore.pool.kwargs, dict):
            self.datastore.pool.kwargs["connect_timeout"] = int(seconds)
