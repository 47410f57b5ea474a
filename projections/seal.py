"""Seal: a tamper-evidence hash chain over the whole log, in order, and its verification.

Each stored event gets one row in `goalpost_seal`: its position and the hex SHA-256 of

    frame(previous hash) ‖ frame(position) ‖ frame(originator id) ‖ frame(originator version)
    ‖ frame(topic) ‖ frame(state)

where `frame(b)` is `b` preceded by its length as 8 bytes, big-endian, so no two
different events encode alike. The previous hash is the raw 32 bytes of the seal row of
the previous event in the log (gaps in positions are normal and sealed over), or
`GENESIS` for the first; positions and versions are 8-byte big-endian signed integers,
the originator id its 16 UUID bytes, the topic UTF-8, the state the stored bytes as
they are (compressed or encrypted if the store does that). ADR 13 explains what the
chain detects and what it cannot.

Verification also holds the record-time index (`<events>_times`, which `known_at` reads)
to the sealed states: each event's row must be the timestamp inside its own state, and
no row may name an event that does not exist (ADR 24). It is intact only when every
event up to the log's head was sealed and checked.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Notification, PersistenceError
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from application.ledger import GoalLedger
from domain.base import LedgerAggregate
from projections.base import ReadModel
from storage.record_times import RecordTimeRefusedError, claimed
from storage.views import FIRST_GENERATION, ViewDatabase, ViewTransaction

# Changing anything in the encoding means a new genesis text ("v2") and a re-seal.
GENESIS = hashlib.sha256(b"goalpost seal v1 genesis").digest()
GENESIS_POSITION = 0
VERIFY_BATCH = 5000
_HEX_HASH = re.compile(r"^[0-9a-f]{64}$")
_TABLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


# The fixed-width fields, each framed: hash (32), position (8), originator id (16), version (8).
_FIXED = struct.Struct(">Q32sQqQ16sQq")


def link(
    previous: bytes, position: int, originator_id: UUID, version: int, topic: str, state: bytes
) -> bytes:
    """The seal hash of one stored event, chained to the hash before it."""
    return _link(previous, position, originator_id.bytes, version, topic, state)


def _link(
    previous: bytes, position: int, originator_id: bytes, version: int, topic: str, state: bytes
) -> bytes:
    # struct would silently pad or cut a field of the wrong length.
    if len(previous) != 32 or len(originator_id) != 16:
        raise ValueError("a seal hash is 32 bytes and an originator id 16")
    encoded_topic = topic.encode("utf-8")
    digest = hashlib.sha256(_FIXED.pack(32, previous, 8, position, 16, originator_id, 8, version))
    digest.update(len(encoded_topic).to_bytes(8, "big"))
    digest.update(encoded_topic)
    digest.update(len(state).to_bytes(8, "big"))
    digest.update(state)
    return digest.digest()


def link_notification(previous: bytes, stored: Notification) -> bytes:
    return link(
        previous,
        stored.id,
        stored.originator_id,  # type: ignore[arg-type]
        stored.originator_version,
        stored.topic,
        stored.state,
    )


class SealOutOfStepError(RuntimeError):
    """The seal was asked to seal a position at or before its own head."""


class SealRebuildRefusedError(RuntimeError):
    """A rebuild computed a hash the live seal disagrees with: it would launder a change."""


# Live seal rows a rebuild compares with, read this many at a time.
LIVE_WINDOW = 1000


class Seal(ReadModel):
    """Seals every stored event, whatever its type, from its stored bytes (never decoded).

    A rebuild (`goalpost projections rebuild seal`) recomputes the chain from the log as
    it is now; were an event altered, the new generation would seal the altered bytes
    and the switch would drop the evidence. So every hash it computes is compared with
    the live generation's row at that position, and the first disagreement stops it.
    """

    name = "seal"
    # Starting it afresh would drop the evidence of any change made before (ADR 17).
    keeps_evidence = True
    tables = (
        "CREATE TABLE IF NOT EXISTS {seal} (position {int} PRIMARY KEY, hash {text} NOT NULL)",
    )

    def __init__(self, ledger: GoalLedger, database: ViewDatabase) -> None:
        super().__init__(ledger, database)
        self._batch: ViewTransaction | None = None
        self._head: tuple[int, bytes] = (GENESIS_POSITION, GENESIS)
        self._live: _LiveRows | None = None

    def process(self, tx: ViewTransaction, stored: Notification) -> None:
        if tx is not self._batch or self._live is None:
            # A new batch: chain from what is committed, not from memory, which a
            # rolled-back batch or another worker may have left behind the store.
            self._batch = tx
            self._head = self._committed_head(tx)
            self._live = _LiveRows(self.database, tx, self._head[0])
        head_position, head_hash = self._head
        if stored.id <= head_position:
            raise SealOutOfStepError(
                f"position {stored.id} is at or before the seal's head {head_position}: "
                "the seal's rows and its tracking position disagree"
            )
        digest = link_notification(head_hash, stored)
        live = self._live.hash_at(stored.id)
        if live is not None and live != digest.hex():
            raise SealRebuildRefusedError(
                f"the log no longer matches the live seal at position {stored.id}; a rebuild "
                "would seal the changed history and drop the evidence: run `goalpost verify`"
            )
        tx.execute("INSERT INTO {seal} (position, hash) VALUES (%s, %s)", (stored.id, digest.hex()))
        self._head = (stored.id, digest)

    def forget(self) -> None:
        super().forget()
        self._batch = None
        self._live = None

    def after(
        self,
        tx: ViewTransaction,
        event: LedgerAggregate.Event,
        stored: Notification,
        before: Any,
    ) -> None:
        """Unused: `process` seals the stored bytes without decoding them."""

    @staticmethod
    def _committed_head(tx: ViewTransaction) -> tuple[int, bytes]:
        rows = tx.query("SELECT position, hash FROM {seal} ORDER BY position DESC LIMIT 1")
        if not rows:
            return GENESIS_POSITION, GENESIS
        return int(rows[0]["position"]), bytes.fromhex(str(rows[0]["hash"]))


class _LiveRows:
    """The live generation's seal rows after a batch's head, read a window at a time.

    For the live worker the batch writes the live generation itself, so there are none
    and this costs one empty query a batch; for a rebuild they are what it must match.
    """

    def __init__(self, database: ViewDatabase, tx: ViewTransaction, after: int) -> None:
        state = tx.read_model(Seal.name)
        # Named here, in the batch's own transaction, never through a second connection.
        self._table = database.table(
            "seal", state.generation if state is not None else FIRST_GENERATION
        )
        self._tx = tx
        self._after = after
        self._rows: dict[int, str] = {}
        self._exhausted = False

    def hash_at(self, position: int) -> str | None:
        while not self._exhausted and position > self._after:
            found = self._tx.query(
                # The table name comes from code (ViewDatabase.table checks it).
                f"SELECT position, hash FROM {self._table}"  # noqa: S608
                " WHERE position > %s ORDER BY position LIMIT %s",
                (self._after, LIVE_WINDOW),
            )
            self._rows = {int(row["position"]): str(row["hash"]) for row in found}
            self._exhausted = len(found) < LIVE_WINDOW
            if found:
                self._after = int(found[-1]["position"])
        return self._rows.pop(position, None)


# Verification


class Finding(StrEnum):
    """Why the first bad position is bad."""

    EVENT_ALTERED = "event_altered"
    EVENT_MISSING = "event_missing"
    EVENT_INSERTED = "event_inserted"
    SEAL_ROW_MISSING = "seal_row_missing"
    SEAL_ROW_ALTERED = "seal_row_altered"
    # The last sealed entry, or several in a row, changed: nothing after it tells which.
    EVENT_OR_SEAL_ALTERED = "event_or_seal_altered"
    ANCHOR_MISMATCH = "anchor_mismatch"
    # The record-time index no longer says what the event's own sealed state says.
    RECORD_TIME_ALTERED = "record_time_altered"
    RECORD_TIME_MISSING = "record_time_missing"
    # An index row for a version that has no event: `known_at` reads see a later state early.
    RECORD_TIME_INSERTED = "record_time_inserted"
    # Nothing found wrong, but events up to the head are not sealed yet: not intact.
    NOT_YET_SEALED = "not_yet_sealed"


@dataclass(frozen=True)
class Anchor:
    """A head hash an operator recorded earlier, outside the store."""

    position: int
    hash: str

    @classmethod
    def parse(cls, text: str) -> Anchor:
        """`POSITION:HASH`, as `goalpost verify` prints it."""
        position, _, digest = text.strip().partition(":")
        digest = digest.strip().lower()
        if not position.strip().isdigit() or not _HEX_HASH.match(digest):
            raise ValueError(
                f"an anchor is POSITION:HASH (a position and 64 hex digits), not {text!r}"
            )
        return cls(int(position), digest)


@dataclass(frozen=True)
class Verification:
    """What recomputing the seal found."""

    # Every event up to `log_head` was sealed, and matched its seal row and record time.
    intact: bool
    # Events whose seal hash was recomputed and matched, and whose record time did.
    checked: int
    # The position the seal covers up to (its tracking position); 0 if nothing is sealed.
    sealed_up_to: int
    # The seal hash at `sealed_up_to`, recomputed from the events: record it elsewhere.
    head_hash: str
    # The log's last position when verification began: the head it checked up to; and
    # how many events after `sealed_up_to` await the seal (if any, it is not intact).
    log_head: int
    unsealed: int
    # None only for an index row that names no event of a goal with none.
    first_bad_position: int | None = None
    finding: Finding | None = None
    detail: str | None = None
    anchor_checked: bool = False


class SealUnavailableError(Exception):
    """The seal's tables cannot be read (not created yet, or the store failed)."""


@dataclass(frozen=True, slots=True)
class _Event:
    position: int
    # The UUID's 16 bytes.
    originator_id: bytes
    version: int
    topic: str
    state: bytes
    # Its row in the record-time index, as the store returns it (None: no row).
    recorded_at: Any = None


@dataclass(frozen=True)
class _Malformed:
    """A stored row whose columns no longer have the types the library writes."""

    position: int


_Row = _Event | _Malformed
# The first bad position, what was found there, and an explanation.
_Problem = tuple[int | None, Finding, str]


class _Log:
    """Reads the events table and the seal's rows in position order, a batch at a time."""

    def __init__(self, ledger: GoalLedger, views: ViewDatabase) -> None:
        self.views = views
        self._seal_sql = views.sql(
            "SELECT position, hash FROM {seal} WHERE position > %s ORDER BY position LIMIT %s"
        )
        recorder: Any = ledger.recorder
        self._datastore: Any
        if recorder.dialect == "postgresql":
            self._datastore = recorder.datastore
            events = Identifier(recorder.datastore.schema, recorder.events_table_name)
            times = Identifier(recorder.datastore.schema, recorder.times_table_name)
            self._events_sql: Any = SQL(
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
            self._orphan_sql: Any = SQL(
                "SELECT t.originator_id, t.originator_version, t.recorded_at,"
                " (SELECT max(n.notification_id) FROM {events} n"
                " WHERE n.originator_id = t.originator_id) AS position"
                " FROM {times} t WHERE NOT EXISTS (SELECT 1 FROM {events} e"
                " WHERE e.originator_id = t.originator_id"
                " AND e.originator_version = t.originator_version)"
                " ORDER BY position NULLS LAST LIMIT 1"
            ).format(events=events, times=times)
            # Two index range scans, not one pass over the whole table.
            self._tail_sql: Any = SQL(
                "SELECT (SELECT max(notification_id) FROM {events}) AS head,"
                " (SELECT count(*) FROM {events} WHERE notification_id > %s) AS after"
            ).format(events=Identifier(recorder.datastore.schema, recorder.events_table_name))
        elif recorder.dialect == "sqlite":
            table, times_table = recorder.events_table_name, recorder.times_table_name
            if not (_TABLE.match(table) and _TABLE.match(times_table)):
                raise ValueError(f"not an events table name: {table!r}")
            self._datastore = recorder.datastore
            # The table names come from code and are checked above.
            self._events_sql = (
                "SELECT e.rowid AS position, e.originator_id, e.originator_version,"  # noqa: S608
                f" e.topic, e.state, t.recorded_at FROM {table} e LEFT JOIN {times_table} t"
                " ON t.originator_id = e.originator_id"
                " AND t.originator_version = e.originator_version"
                " WHERE e.rowid > ? ORDER BY e.rowid LIMIT ?"
            )
            self._orphan_sql = (
                "SELECT t.originator_id, t.originator_version, t.recorded_at,"  # noqa: S608
                f" (SELECT max(n.rowid) FROM {table} n"
                " WHERE n.originator_id = t.originator_id) AS position"
                f" FROM {times_table} t WHERE NOT EXISTS (SELECT 1 FROM {table} e"
                " WHERE e.originator_id = t.originator_id"
                " AND e.originator_version = t.originator_version)"
                " ORDER BY position IS NULL, position LIMIT 1"
            )
            self._tail_sql = (
                f"SELECT (SELECT max(rowid) FROM {table}) AS head,"  # noqa: S608
                f" (SELECT count(*) FROM {table} WHERE rowid > ?) AS after"
            )
        else:
            raise TypeError(f"the seal needs SQLite or PostgreSQL, not {type(recorder)}")

    def tail(self, sealed_up_to: int) -> tuple[int, int]:
        """The log's last position, and how many events lie after `sealed_up_to`."""
        with self._datastore.transaction(commit=False) as cursor:
            cursor.execute(self._tail_sql, (sealed_up_to,))
            row = cursor.fetchone()
        return int(row["head"] or 0), int(row["after"] or 0)

    def events(self, after: int, limit: int) -> list[_Row]:
        with self._datastore.transaction(commit=False) as cursor:
            _plain_rows(cursor)
            cursor.execute(self._events_sql, (after, limit))
            return [_event(*row) for row in cursor.fetchall()]

    def orphan(self) -> tuple[str, int, str, int | None] | None:
        """An index row naming no event: (goal, version, time, the goal's last position)."""
        with self._datastore.transaction(commit=False) as cursor:
            _plain_rows(cursor)
            cursor.execute(self._orphan_sql)
            row = cursor.fetchone()
        if row is None:
            return None
        goal, version, recorded_at, position = row
        uuid = _uuid_bytes(goal)
        moment = _moment(recorded_at)
        return (
            str(UUID(bytes=uuid)) if uuid is not None else repr(goal),
            int(version),
            moment.isoformat() if moment is not None else repr(recorded_at),
            None if position is None else int(position),
        )

    def seal(self, after: int, limit: int) -> list[tuple[int, str]]:
        with self._datastore.transaction(commit=False) as cursor:
            _plain_rows(cursor)
            cursor.execute(self._seal_sql, self.views.params((after, limit)))
            return [(int(position), str(digest)) for position, digest in cursor.fetchall()]

    def stream_events(self, upto: int, batch: int) -> Iterator[_Row]:
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


def _plain_rows(cursor: Any) -> None:
    """Tuples, not the dicts the library asks PostgreSQL for: a 100,000-row walk feels it."""
    if isinstance(cursor, psycopg.Cursor):
        cursor.row_factory = tuple_row


def _event(
    position: int, originator_id: Any, version: Any, topic: Any, state: Any, recorded_at: Any
) -> _Row:
    uuid = _uuid_bytes(originator_id)
    if uuid is None:
        return _Malformed(position)
    if isinstance(state, memoryview):
        state = state.tobytes()
    if not (
        isinstance(version, int)
        and not isinstance(version, bool)
        and isinstance(topic, str)
        and isinstance(state, bytes)
    ):
        return _Malformed(position)
    return _Event(position, uuid, version, topic, state, recorded_at)


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


def _hash_of(previous: bytes, row: _Row | None) -> bytes | None:
    if not isinstance(row, _Event):
        return None
    return _link(previous, row.position, row.originator_id, row.version, row.topic, row.state)


def _stored_hash(text: str) -> bytes | None:
    return bytes.fromhex(text) if _HEX_HASH.match(text) else None


def verify(
    ledger: GoalLedger,
    views: ViewDatabase,
    *,
    anchor: Anchor | None = None,
    batch_size: int = VERIFY_BATCH,
) -> Verification:
    """Recompute the seal over the whole log; name the first position that no longer matches.

    Reads the events (with their record times) and the seal's rows in position order,
    `batch_size` at a time, so memory stays bounded whatever the log's length. Events
    after the seal's tracking position are not sealed yet: their record times are still
    checked, but the log is intact only once the seal covers its head.
    """
    try:
        # The position first: every event and seal row up to it committed before it did.
        sealed_up_to = views.position(Seal.name)
        log = _Log(ledger, views)
        log_head, unsealed = log.tail(sealed_up_to)
        # Fails here, not halfway, when the seal's table was never created.
        log.seal(0, 1)
    except PersistenceError as error:
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise SealUnavailableError(
            f"the seal cannot be read: {first_line} (run `goalpost db init` first)"
        ) from error
    return _Walk(log, sealed_up_to, log_head, unsealed, anchor).run(batch_size)


class _Walk:
    """The merge of the two streams, with the chain hash carried along."""

    def __init__(
        self, log: _Log, sealed_up_to: int, log_head: int, unsealed: int, anchor: Anchor | None
    ) -> None:
        self.log = log
        self.sealed_up_to = sealed_up_to
        self.log_head = log_head
        self.unsealed = unsealed
        self.anchor = anchor
        self.chain = GENESIS
        self.last = GENESIS_POSITION
        self.checked = 0
        self.anchor_checked = False

    def run(self, batch: int) -> Verification:
        problem = self._walk(batch) or self._ends() or self._orphan() or self._not_yet_sealed()
        return self.result(intact=True) if problem is None else self.broken(*problem)

    def _walk(self, batch: int) -> _Problem | None:
        """Compare position by position; the first problem, or None if all matched."""
        events = self.log.stream_events(max(self.sealed_up_to, self.log_head), batch)
        seals = self.log.stream_seal(self.sealed_up_to, batch)
        event, seal = next(events, None), next(seals, None)
        while event is not None and seal is not None:
            position = seal[0]
            if event.position < position:
                return self._unsealed_event(event.position, event)
            if position < event.position:
                return self._missing_event(position)
            recomputed = _hash_of(self.chain, event)
            if recomputed is None or recomputed.hex() != seal[1]:
                return self._mismatch(position, event, seal, recomputed)
            self.chain, self.last = recomputed, position
            problem = _record_time_problem(event)
            if problem is None:
                self.checked += 1
                if self.anchor is not None and position == self.anchor.position:
                    problem = self._anchor_problem(position)
            if problem is not None:
                return problem
            event, seal = next(events, None), next(seals, None)
        if event is not None and seal is None and event.position > self.sealed_up_to:
            return self._tail(event, events)
        return self._leftover(event, seal)

    def _tail(self, event: _Row | None, events: Iterator[_Row]) -> _Problem | None:
        """The events the seal has not reached yet: only their record times can be checked."""
        while event is not None:
            problem = _record_time_problem(event)
            if problem is not None:
                return problem
            event = next(events, None)
        return None

    def _leftover(self, event: _Row | None, seal: tuple[int, str] | None) -> _Problem | None:
        """One stream ended before the other."""
        if event is not None:
            return self._unsealed_event(event.position, event)
        if seal is not None:
            return self._missing_event(seal[0])
        return None

    def _orphan(self) -> _Problem | None:
        found = self.log.orphan()
        if found is None:
            return None
        goal, version, recorded_at, position = found
        return (
            position,
            Finding.RECORD_TIME_INSERTED,
            f"the record-time index has a row for version {version} of {goal}, recorded at "
            f"{recorded_at}, but the log has no such event: `known_at` reads from then on "
            "take the goal's latest state as known, and its write of that version would clash",
        )

    def _not_yet_sealed(self) -> _Problem | None:
        if not self.unsealed:
            return None
        first = self.log.events(self.sealed_up_to, 1)
        return (
            first[0].position if first else self.sealed_up_to + 1,
            Finding.NOT_YET_SEALED,
            f"{self.unsealed} events after position {self.sealed_up_to}, up to the log's head "
            f"{self.log_head}, are not sealed yet, so they cannot be checked: `goalpost "
            "worker` seals them; verify again once it has",
        )

    def _anchor_problem(self, position: int) -> _Problem | None:
        if self.anchor is None or self.chain.hex() == self.anchor.hash:
            self.anchor_checked = self.anchor is not None
            return None
        return (
            position,
            Finding.ANCHOR_MISMATCH,
            f"the seal at position {position} is {self.chain.hex()}, not the recorded "
            f"anchor {self.anchor.hash}: the events and the seal were rewritten together "
            "at or before this position",
        )

    def _ends(self) -> _Problem | None:
        """After a clean walk: did it reach the seal's position, and the anchor?"""
        if self.last != self.sealed_up_to:
            return (
                self.sealed_up_to,
                Finding.EVENT_MISSING,
                f"the seal reached position {self.sealed_up_to}, but nothing is left of the "
                f"log or the seal after position {self.last}: events were removed with "
                "their seal rows",
            )
        if self.anchor is not None and not self.anchor_checked:
            return (
                self.anchor.position,
                Finding.ANCHOR_MISMATCH,
                f"the recorded anchor's position {self.anchor.position} is not a sealed "
                f"position (the seal covers up to {self.sealed_up_to}); if the seal is "
                "catching up after a rebuild, verify again once it has",
            )
        return None

    def result(self, *, intact: bool, **found: Any) -> Verification:
        return Verification(
            intact=intact,
            checked=self.checked,
            sealed_up_to=self.sealed_up_to,
            head_hash=self.chain.hex(),
            log_head=self.log_head,
            unsealed=self.unsealed,
            anchor_checked=self.anchor_checked,
            **found,
        )

    def broken(self, position: int | None, finding: Finding, detail: str) -> Verification:
        # head_hash is then the last hash that still matched, at `last`.
        return self.result(
            intact=False, first_bad_position=position, finding=finding, detail=detail
        )

    # Telling which kind of change it was, from the next sealed entry after it.

    def _next_sealed(self, position: int) -> _Next | None:
        """The next seal row after `position`, with the event at its position."""
        rows = self.log.seal(position, 1)
        if not rows or rows[0][0] > self.sealed_up_to:
            return None
        following, text = rows[0]
        found = self.log.events(following - 1, 1)
        event = found[0] if found and found[0].position == following else None
        return _Next(event, _stored_hash(text))

    def _gap_note(self, position: int) -> str:
        if position - self.last > 1:
            return (
                f" (or an entry between positions {self.last} and {position} was removed "
                "with its seal row)"
            )
        return ""

    def _mismatch(
        self, position: int, event: _Row, seal: tuple[int, str], recomputed: bytes | None
    ) -> _Problem:
        stored = _stored_hash(seal[1])
        if stored is None:
            return position, Finding.SEAL_ROW_ALTERED, f"the seal row at {position} is not a hash"
        following = self._next_sealed(position)
        if following is not None and following.hash is not None:
            if following.chains_from(stored):
                what = "is malformed" if isinstance(event, _Malformed) else "was altered"
                return (
                    position,
                    Finding.EVENT_ALTERED,
                    f"the stored event at position {position} {what}: it no longer matches "
                    "its seal row, which the seal rows after it still chain from"
                    + self._gap_note(position),
                )
            if recomputed is not None and following.chains_from(recomputed):
                return (
                    position,
                    Finding.SEAL_ROW_ALTERED,
                    f"the seal row at position {position} was altered: the events still "
                    "chain to the seal rows after it",
                )
        return (
            position,
            Finding.EVENT_OR_SEAL_ALTERED,
            f"the stored event at position {position} no longer matches its seal row, and "
            "the entries after it do not tell which of the two changed" + self._gap_note(position),
        )

    def _missing_event(self, position: int) -> _Problem:
        following = self._next_sealed(position)
        if following is not None and following.chains_from(self.chain):
            return (
                position,
                Finding.SEAL_ROW_ALTERED,
                f"the seal has a row for position {position}, where the log never had an "
                "event: the seal rows around it chain without it",
            )
        return (
            position,
            Finding.EVENT_MISSING,
            f"the event at position {position} is gone, though the seal sealed it",
        )

    def _unsealed_event(self, position: int, event: _Row) -> _Problem:
        following = self._next_sealed(position)
        if following is None:
            return (
                position,
                Finding.SEAL_ROW_MISSING,
                f"the seal rows from position {position} on are gone, though the seal "
                f"reached position {self.sealed_up_to}",
            )
        if following.chains_from(self.chain):
            return (
                position,
                Finding.EVENT_INSERTED,
                f"the event at position {position} was inserted after the seal passed that "
                "position: the seal chains over it without it",
            )
        with_it = _hash_of(self.chain, event)
        if with_it is not None and following.chains_from(with_it):
            return (
                position,
                Finding.SEAL_ROW_MISSING,
                f"the seal row for position {position} is gone; the event there is the one "
                "the seal sealed",
            )
        return (
            position,
            Finding.EVENT_INSERTED,
            f"the event at position {position} has no seal row, and the seal rows after it "
            "chain neither with it nor without it",
        )


def _record_time_problem(event: _Row) -> _Problem | None:
    """Whether the event's row in the record-time index is the time its own state carries."""
    if not isinstance(event, _Event):
        # Malformed columns: the seal names the row, or it is not sealed yet.
        return None
    position = event.position
    try:
        claim = claimed(event.state)
        said = claim.recorded_at if claim is not None else None
        why = "it carries no timestamp"
    except RecordTimeRefusedError as error:
        said, why = None, str(error).removeprefix("the event's ")
    indexed = _moment(event.recorded_at)
    if event.recorded_at is None:
        carried = f"it says it was recorded at {said.isoformat()}" if said is not None else why
        return (
            position,
            Finding.RECORD_TIME_MISSING,
            f"the event at position {position} has no row in the record-time index ({carried}): "
            "`known_at` reads do not see it",
        )
    if said is None or indexed != said:
        carried = f"it says it was recorded at {said.isoformat()}" if said is not None else why
        return (
            position,
            Finding.RECORD_TIME_ALTERED,
            f"the record-time index says the event at position {position} was recorded at "
            f"{indexed.isoformat() if indexed is not None else event.recorded_at!r}, but "
            f"{carried}: `known_at` reads see it at the wrong time",
        )
    return None


def _moment(value: Any) -> datetime | None:
    """A record time as the store returns it (SQLite keeps ISO 8601 text)."""
    if isinstance(value, datetime):
        return value
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


@dataclass(frozen=True)
class _Next:
    """The next sealed entry after a bad position: the event there and its stored hash."""

    event: _Row | None
    hash: bytes | None

    def chains_from(self, previous: bytes) -> bool:
        """Whether this entry's stored hash follows from `previous` and its event."""
        return self.hash is not None and _hash_of(previous, self.event) == self.hash
