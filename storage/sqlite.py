"""SQLite storage, the embedded default: the library's recorder plus record times and triggers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, LiteralString
from uuid import UUID

from eventsourcing.persistence import DataError, IntegrityError, StoredEvent
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteFactory,
)
from psycopg.sql import SQL, Composable, Identifier

from storage import personal_keys
from storage.event_log import LoggedEvent, OrphanRecordTime
from storage.record_times import RecordTimeRefusedError, check_near, claimed

EventTimes = Sequence[tuple[UUID, int, datetime]]
# (actor, idempotency key, request fingerprint, result as JSON)
CompletedRequest = tuple[str, str, str, str]
# Goals a write was decided on without changing them: (id, the version it saw).
Unchanged = Sequence[tuple[UUID, int]]


def _sqlite(template: LiteralString, **identifiers: Composable) -> str:
    """SQLite text composed with psycopg.sql: names as (double-quoted) identifiers."""
    return SQL(template).format(**identifiers).as_string(None)


def append_only_statements(table: str) -> list[str]:
    """Triggers that refuse UPDATE and DELETE (SQLite has no TRUNCATE; DELETE covers it)."""
    return [
        _sqlite(
            "CREATE TRIGGER IF NOT EXISTS {trigger} BEFORE UPDATE ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'goalpost history is append-only: UPDATE refused'); END",
            trigger=Identifier(f"{table}_no_update"),
            table=Identifier(table),
        ),
        _sqlite(
            "CREATE TRIGGER IF NOT EXISTS {trigger} BEFORE DELETE ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'goalpost history is append-only: DELETE refused'); END",
            trigger=Identifier(f"{table}_no_delete"),
            table=Identifier(table),
        ),
    ]


class GoalpostSQLiteRecorder(SQLiteApplicationRecorder):
    """Writes each event's record time beside it, in the same transaction."""

    # What callers above storage ask, instead of which class they were given.
    dialect = "sqlite"

    def __init__(
        self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"
    ) -> None:
        self.times_table_name = f"{events_table_name}_times"
        self.requests_table_name = f"{events_table_name}_requests"
        self.demo_table_name = f"{events_table_name}_demo"
        super().__init__(datastore, events_table_name)
        names = {
            "events": Identifier(self.events_table_name),
            "times": Identifier(self.times_table_name),
            "requests": Identifier(self.requests_table_name),
            "demo": Identifier(self.demo_table_name),
        }
        self.is_demo_statement = _sqlite("SELECT count(*) FROM {demo}", **names)
        self.mark_demo_statement = _sqlite(
            "INSERT INTO {demo} (marked_at)"
            " SELECT ? WHERE NOT EXISTS (SELECT 1 FROM {events}) ON CONFLICT DO NOTHING",
            **names,
        )
        self.insert_times_statement = _sqlite(
            "INSERT INTO {times} (originator_id, originator_version, recorded_at) VALUES (?, ?, ?)",
            **names,
        )
        self.version_at_statement = _sqlite(
            "SELECT max(originator_version) FROM {times}"
            " WHERE originator_id = ? AND recorded_at <= ?",
            **names,
        )
        self.previous_time_statement = _sqlite(
            "SELECT recorded_at FROM {times} WHERE originator_id = ? AND originator_version < ?"
            " ORDER BY originator_version DESC LIMIT 1",
            **names,
        )
        self.changed_since_statement = _sqlite(
            "SELECT 1 FROM {events} WHERE originator_id = ? AND originator_version > ? LIMIT 1",
            **names,
        )
        self.insert_request_statement = _sqlite(
            "INSERT INTO {requests} (actor, key, fingerprint, result) VALUES (?, ?, ?, ?)",
            **names,
        )
        self.select_request_statement = _sqlite(
            "SELECT fingerprint, result FROM {requests} WHERE actor = ? AND key = ?", **names
        )
        self.position_of_statement = _sqlite(
            "SELECT rowid FROM {events} WHERE originator_id = ? AND originator_version = ?",
            **names,
        )
        self.version_at_position_statement = _sqlite(
            "SELECT max(originator_version) FROM {events} WHERE originator_id = ? AND rowid <= ?",
            **names,
        )
        self.events_with_times_statement = _sqlite(
            "SELECT e.rowid AS position, e.originator_id, e.originator_version,"
            " e.topic, e.state, t.recorded_at FROM {events} e LEFT JOIN {times} t"
            " ON t.originator_id = e.originator_id"
            " AND t.originator_version = e.originator_version"
            " WHERE e.rowid > ? ORDER BY e.rowid LIMIT ?",
            **names,
        )
        self.orphan_time_statement = _sqlite(
            "SELECT t.originator_id, t.originator_version, t.recorded_at,"
            " (SELECT max(n.rowid) FROM {events} n"
            " WHERE n.originator_id = t.originator_id) AS position"
            " FROM {times} t WHERE NOT EXISTS (SELECT 1 FROM {events} e"
            " WHERE e.originator_id = t.originator_id"
            " AND e.originator_version = t.originator_version)"
            " ORDER BY position IS NULL, position LIMIT 1",
            **names,
        )
        self.log_tail_statement = _sqlite(
            "SELECT (SELECT max(rowid) FROM {events}) AS head,"
            " (SELECT count(*) FROM {events} WHERE rowid > ?) AS after",
            **names,
        )

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            _sqlite(
                "CREATE TABLE IF NOT EXISTS {times} ("
                "originator_id TEXT NOT NULL, "
                "originator_version INTEGER NOT NULL, "
                # ISO 8601 in UTC with a fixed width, so text order is time order.
                "recorded_at TEXT NOT NULL, "
                "PRIMARY KEY (originator_id, originator_version))",
                times=Identifier(self.times_table_name),
            ),
            _sqlite(
                "CREATE TABLE IF NOT EXISTS {requests} ("
                "actor TEXT NOT NULL, "
                "key TEXT NOT NULL, "
                "fingerprint TEXT NOT NULL, "
                "result TEXT NOT NULL, "
                "recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), "
                "PRIMARY KEY (actor, key))",
                requests=Identifier(self.requests_table_name),
            ),
            # One row at most, never removed: present, the store takes past record times
            # (ADR 44). Only an empty store can be marked.
            _sqlite(
                "CREATE TABLE IF NOT EXISTS {demo} ("
                "marked_at TEXT NOT NULL, "
                "one INTEGER PRIMARY KEY DEFAULT 1 CHECK (one = 1))",
                demo=Identifier(self.demo_table_name),
            ),
            *append_only_statements(self.events_table_name),
            *append_only_statements(self.times_table_name),
            # Deletable on purpose: erasing a person deletes their key (ADR 41).
            *personal_keys.sqlite_statements(self.events_table_name),
            *append_only_statements(self.demo_table_name),
        ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        # Events first, so a lost race is the events' own primary-key clash.
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        # Nothing beside the events is taken on trust (ADR 24), as PostgreSQL's function.
        try:
            c.execute(self.is_demo_statement)
            demo = bool(c.fetchone()[0])
            times, actors = _record_times(stored_events, datetime.now(UTC), demo=demo)
        except RecordTimeRefusedError as error:
            raise DataError(f"goalpost refuses the save: {error}") from None
        given: EventTimes = kwargs.get("event_timestamps") or ()
        # Given in the events' order, as `GoalLedger._record` passes them.
        if given and [tuple(t) for t in given] != times:
            raise DataError(
                "goalpost refuses the save: the record times given are not the times "
                "its events carry"
            )
        self._check_in_order(c, times)
        for originator_id, version, recorded_at in times:
            c.execute(
                self.insert_times_statement,
                (originator_id.hex, version, _sortable(recorded_at)),
            )
        unchanged: Unchanged = kwargs.get("unchanged") or ()
        for originator_id, version in unchanged:
            # After the insert: the write lock is held, so no writer can come between.
            c.execute(self.changed_since_statement, (originator_id.hex, version))
            if c.fetchone() is not None:
                raise IntegrityError("a goal this write was decided on changed meanwhile")
        request: CompletedRequest | None = kwargs.get("request")
        if request is not None:
            _check_request(request, stored_events, actors)
            c.execute(self.insert_request_statement, request)
        return notification_ids

    def _check_in_order(self, c: SQLiteCursor, times: EventTimes) -> None:
        """Refuse a record time before the one of the goal's previous event."""
        previous: dict[UUID, datetime] = {}
        for originator_id, version, recorded_at in sorted(times, key=lambda t: (t[0], t[1])):
            before = previous.get(originator_id)
            if before is None:
                c.execute(self.previous_time_statement, (originator_id.hex, version))
                row = c.fetchone()
                before = datetime.fromisoformat(str(row[0])) if row else None
            if before is not None and recorded_at < before:
                raise DataError(
                    "goalpost refuses the save: an event says it was recorded before the "
                    "goal's previous event"
                )
            previous[originator_id] = recorded_at

    def is_demo_store(self) -> bool:
        return bool(self._one(self.is_demo_statement, ())[0])

    def mark_demo_store(self) -> bool:
        """Mark the store a demo store if it holds no event yet; True if it is one now."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(self.mark_demo_statement, (_sortable(datetime.now(UTC)),))
            c.execute(self.is_demo_statement)
            return bool(c.fetchone()[0])

    def find_request(self, actor: str, key: str) -> tuple[str, str] | None:
        row = self._one(self.select_request_statement, (actor, key))
        return (str(row[0]), str(row[1])) if row else None

    def position_of(self, originator_id: UUID, version: int) -> int | None:
        """The log position of one stored event."""
        row = self._one(self.position_of_statement, (originator_id.hex, version))
        return int(row[0]) if row else None

    def version_at_position(self, originator_id: UUID, position: int) -> int | None:
        """The aggregate's version as of a position in the log (for projections)."""
        row = self._one(self.version_at_position_statement, (originator_id.hex, position))
        return int(row[0]) if row and row[0] is not None else None

    def version_at(self, originator_id: UUID, timestamp: datetime) -> int | None:
        row = self._one(self.version_at_statement, (originator_id.hex, _sortable(timestamp)))
        return int(row[0]) if row and row[0] is not None else None

    # What verification reads (storage.event_log.EventLog).

    def events_with_record_times(self, after: int, limit: int) -> Sequence[LoggedEvent]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(self.events_with_times_statement, (after, limit))
            rows: Sequence[LoggedEvent] = c.fetchall()
            return rows

    def orphan_record_time(self) -> OrphanRecordTime | None:
        row: OrphanRecordTime | None = self._one(self.orphan_time_statement, ())
        return row

    def log_tail(self, after: int) -> tuple[int, int]:
        row = self._one(self.log_tail_statement, (after,))
        return (int(row[0] or 0), int(row[1] or 0)) if row else (0, 0)

    def _one(self, statement: str, params: Sequence[Any]) -> Any:
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return c.fetchone()


def _record_times(
    stored_events: Sequence[StoredEvent], now: datetime, *, demo: bool
) -> tuple[list[tuple[UUID, int, datetime]], list[str | None]]:
    """Each event's record time (those that carry one) and each event's actor."""
    times: list[tuple[UUID, int, datetime]] = []
    actors: list[str | None] = []
    for event in stored_events:
        claim = claimed(event.state)
        actors.append(claim.actor if claim is not None else None)
        if claim is None or claim.recorded_at is None:
            continue
        check_near(claim.recorded_at, now, demo=demo)
        goal = event.originator_id
        times.append(
            (
                goal if isinstance(goal, UUID) else UUID(goal),
                event.originator_version,
                claim.recorded_at,
            )
        )
    return times, actors


def _check_request(
    request: CompletedRequest, stored_events: Sequence[StoredEvent], actors: list[str | None]
) -> None:
    """A completed request is its events' actor's, and its result names one of them."""
    actor, _, _, result = request
    if not actors or any(found != actor for found in actors):
        raise DataError(
            f"goalpost refuses the save: the request's actor {actor} is not the actor of its events"
        )
    try:
        named = json.loads(result)
        target = (str(named["id"]), str(named["version"]))
    except (ValueError, KeyError, TypeError):
        target = None
    if target not in {(str(e.originator_id), str(e.originator_version)) for e in stored_events}:
        raise DataError("goalpost refuses the save: the request's result names no event it stores")


def _sortable(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("record times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class GoalpostSQLiteFactory(SQLiteFactory):
    application_recorder_class = GoalpostSQLiteRecorder
