"""SQLite storage, the embedded default: the library's recorder plus record times and triggers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import DataError, IntegrityError, StoredEvent
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteFactory,
)

from storage.record_times import RecordTimeRefusedError, check_near, claimed

EventTimes = Sequence[tuple[UUID, int, datetime]]
# (actor, idempotency key, request fingerprint, result as JSON)
CompletedRequest = tuple[str, str, str, str]
# Goals a write was decided on without changing them: (id, the version it saw).
Unchanged = Sequence[tuple[UUID, int]]


def append_only_statements(table: str) -> list[str]:
    """Triggers that refuse UPDATE and DELETE (SQLite has no TRUNCATE; DELETE covers it)."""
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
        "BEGIN SELECT RAISE(ABORT, 'goalpost history is append-only: UPDATE refused'); END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
        "BEGIN SELECT RAISE(ABORT, 'goalpost history is append-only: DELETE refused'); END",
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
        super().__init__(datastore, events_table_name)
        # Table names come from code, never from input.
        self.insert_times_statement = (
            f"INSERT INTO {self.times_table_name} "  # noqa: S608
            "(originator_id, originator_version, recorded_at) VALUES (?, ?, ?)"
        )
        self.version_at_statement = (
            f"SELECT max(originator_version) FROM {self.times_table_name} "  # noqa: S608
            "WHERE originator_id = ? AND recorded_at <= ?"
        )
        self.previous_time_statement = (
            f"SELECT recorded_at FROM {self.times_table_name} "  # noqa: S608
            "WHERE originator_id = ? AND originator_version < ? "
            "ORDER BY originator_version DESC LIMIT 1"
        )
        self.changed_since_statement = (
            f"SELECT 1 FROM {self.events_table_name} "  # noqa: S608
            "WHERE originator_id = ? AND originator_version > ? LIMIT 1"
        )

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {self.times_table_name} ("
            "originator_id TEXT NOT NULL, "
            "originator_version INTEGER NOT NULL, "
            # ISO 8601 in UTC with a fixed width, so text order is time order.
            "recorded_at TEXT NOT NULL, "
            "PRIMARY KEY (originator_id, originator_version))",
            f"CREATE TABLE IF NOT EXISTS {self.requests_table_name} ("
            "actor TEXT NOT NULL, "
            "key TEXT NOT NULL, "
            "fingerprint TEXT NOT NULL, "
            "result TEXT NOT NULL, "
            "recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), "
            "PRIMARY KEY (actor, key))",
            *append_only_statements(self.events_table_name),
            *append_only_statements(self.times_table_name),
        ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        # Events first, so a lost race is the events' own primary-key clash.
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        # Nothing beside the events is taken on trust (ADR 24), as PostgreSQL's function.
        try:
            times, actors = _record_times(stored_events, datetime.now(UTC))
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
            c.execute(
                f"INSERT INTO {self.requests_table_name} "  # noqa: S608
                "(actor, key, fingerprint, result) VALUES (?, ?, ?, ?)",
                request,
            )
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

    def find_request(self, actor: str, key: str) -> tuple[str, str] | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT fingerprint, result FROM {self.requests_table_name} "  # noqa: S608
                "WHERE actor = ? AND key = ?",
                (actor, key),
            )
            row = c.fetchone()
            return (str(row[0]), str(row[1])) if row else None

    def position_of(self, originator_id: UUID, version: int) -> int | None:
        """The log position of one stored event."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT rowid FROM {self.events_table_name} "  # noqa: S608
                "WHERE originator_id = ? AND originator_version = ?",
                (originator_id.hex, version),
            )
            row = c.fetchone()
            return int(row[0]) if row else None

    def version_at_position(self, originator_id: UUID, position: int) -> int | None:
        """The aggregate's version as of a position in the log (for projections)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT max(originator_version) FROM {self.events_table_name} "  # noqa: S608
                "WHERE originator_id = ? AND rowid <= ?",
                (originator_id.hex, position),
            )
            row = c.fetchone()
            return int(row[0]) if row and row[0] is not None else None

    def version_at(self, originator_id: UUID, timestamp: datetime) -> int | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(self.version_at_statement, (originator_id.hex, _sortable(timestamp)))
            row = c.fetchone()
            return int(row[0]) if row and row[0] is not None else None


def _record_times(
    stored_events: Sequence[StoredEvent], now: datetime
) -> tuple[list[tuple[UUID, int, datetime]], list[str | None]]:
    """Each event's record time (those that carry one) and each event's actor."""
    times: list[tuple[UUID, int, datetime]] = []
    actors: list[str | None] = []
    for event in stored_events:
        claim = claimed(event.state)
        actors.append(claim.actor if claim is not None else None)
        if claim is None or claim.recorded_at is None:
            continue
        check_near(claim.recorded_at, now)
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
