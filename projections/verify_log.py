"""The two streams verification walks: the log's events with their record times, and
the seal's rows; both in position order, a batch at a time, so memory stays bounded.

The events come from the recorder (storage.event_log), each column as the store keeps
it; a row whose columns no longer have the types the library writes is `Malformed`, not
an error, since a changed store is exactly what verification is for.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from application.ledger import GoalLedger
from projections.seal_chain import link_bytes
from storage.event_log import EventLog
from storage.views import ViewDatabase

SEAL_ROWS = "SELECT position, hash FROM {seal} WHERE position > %s ORDER BY position LIMIT %s"


@dataclass(frozen=True, slots=True)
class Event:
    position: int
    # The UUID's 16 bytes.
    originator_id: bytes
    version: int
    topic: str
    state: bytes
    # Its row in the record-time index, as the store returns it (None: no row).
    recorded_at: Any = None


@dataclass(frozen=True)
class Malformed:
    """A stored row whose columns no longer have the types the library writes."""

    position: int


Row = Event | Malformed
# An index row naming no event: (goal, version, time, the goal's last position).
Orphan = tuple[str, int, str, int | None]


class SealedLog:
    """Reads the events (from the recorder) and the seal's rows (from the views)."""

    def __init__(self, ledger: GoalLedger, views: ViewDatabase) -> None:
        recorder = ledger.recorder
        if not isinstance(recorder, EventLog):
            raise TypeError(f"the seal needs SQLite or PostgreSQL, not {type(recorder)}")
        self._log: EventLog = recorder
        self._views = views
        # Resolved once: the walk reads the generation that was live when it began.
        self._generations = views.generations()

    def tail(self, sealed_up_to: int) -> tuple[int, int]:
        """The log's last position, and how many events lie after `sealed_up_to`."""
        return self._log.log_tail(sealed_up_to)

    def events(self, after: int, limit: int) -> list[Row]:
        return [_event(*row) for row in self._log.events_with_record_times(after, limit)]

    def orphan(self) -> Orphan | None:
        """An index row naming no event: (goal, version, time, the goal's last position)."""
        row = self._log.orphan_record_time()
        if row is None:
            return None
        goal, version, recorded_at, position = row
        uuid = _uuid_bytes(goal)
        moment = record_time(recorded_at)
        return (
            str(UUID(bytes=uuid)) if uuid is not None else repr(goal),
            int(version),
            moment.isoformat() if moment is not None else repr(recorded_at),
            None if position is None else int(position),
        )

    def seal(self, after: int, limit: int) -> list[tuple[int, str]]:
        rows = self._views.tuples(SEAL_ROWS, (after, limit), self._generations)
        return [(int(position), str(digest)) for position, digest in rows]

    def stream_events(self, upto: int, batch: int) -> Iterator[Row]:
        after = 0
        while rows := self.events(after, batch):
            for row in rows:
                if row.position > upto:
                    return
                yield row
            after = rows[-1].position

    def stream_seal(self, upto: int, batch: int) -> Iterator[tuple[int, str]]:
        after = 0
        while rows := self.seal(after, batch):
            for row in rows:
                if row[0] > upto:
                    return
                yield row
            after = rows[-1][0]


def _event(
    position: int, originator_id: Any, version: Any, topic: Any, state: Any, recorded_at: Any
) -> Row:
    uuid = _uuid_bytes(originator_id)
    if uuid is None:
        return Malformed(position)
    if isinstance(state, memoryview):
        state = state.tobytes()
    if not (
        isinstance(version, int)
        and not isinstance(version, bool)
        and isinstance(topic, str)
        and isinstance(state, bytes)
    ):
        return Malformed(position)
    return Event(position, uuid, version, topic, state, recorded_at)


def _uuid_bytes(value: Any) -> bytes | None:
    """The id's 16 bytes, as the library would read it back (SQLite keeps hex text)."""
    if isinstance(value, UUID):
        return value.bytes
    if isinstance(value, str) and len(value) == 32:
        try:
            # The form the library writes, read without building a UUID.
            raw = bytes.fromhex(value)
        except ValueError:
            raw = b""
        if len(raw) == 16:
            return raw
    try:
        return UUID(str(value)).bytes
    except ValueError:
        return None


def hash_of(previous: bytes, row: Row | None) -> bytes | None:
    """The row's seal hash chained to `previous`; None for a malformed row or none."""
    if not isinstance(row, Event):
        return None
    return link_bytes(previous, row.position, row.originator_id, row.version, row.topic, row.state)


def record_time(value: Any) -> datetime | None:
    """A record time as the store returns it (SQLite keeps ISO 8601 text); None if it is
    no moment with an offset, as an altered row may be."""
    if isinstance(value, datetime):
        return value
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
