"""Read-model transactions: rows, positions and generations that commit together."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from itertools import groupby
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal

import psycopg
from eventsourcing.persistence import (
    DatabaseError,
    IntegrityError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
    Tracking,
)
from psycopg.rows import tuple_row
from psycopg.sql import SQL

from domain.values import utc_now
from storage.dialect import Dialect, Template, for_generation, render
from storage.read_model_state import ReadModelState
from storage.rows import Decoder, decode

if TYPE_CHECKING:
    from storage.views import ViewDatabase

# How long dropping a replaced generation waits politely for readers before queueing.
DROP_PATIENCE_SECONDS = 5.0

# An INSERT of one row of parameters and nothing after it (no ON CONFLICT, no RETURNING):
# a run of them on PostgreSQL goes as one COPY of the same rows.
_PLAIN_INSERT = re.compile(
    r"INSERT INTO (?P<table>.+?) (?P<columns>\([^()]*\)) VALUES \((?:%s, )*%s\)"
)


class ViewTransaction:
    """One transaction of a read model: its rows and its position commit together.

    Batched (the worker's and the rebuild's), it holds its writes back and sends each
    run of the same statement as one `executemany`, in order, before any read, any
    bookkeeping and the commit: the same statements, but a batch of events costs a few
    round trips instead of one an event. An error still comes before the commit.
    On PostgreSQL a run of plain INSERTs is sent as one COPY of the same rows: for 500
    audit-trail rows, 41 us a row where `executemany` took 61 (its pipeline still
    binds and runs the statement once a row).
    """

    def __init__(
        self,
        database: ViewDatabase,
        cursor: Any,
        generations: Mapping[str, int] | None = None,
        *,
        batched: bool = False,
    ) -> None:
        self._database = database
        self._connection_cursor = cursor
        self._generations: dict[str, int] = dict(generations or {})
        # Writes held back, per lane: read models batched together write their own tables,
        # so each one's writes stay in order and in runs however their events interleave.
        self._pending: dict[str, list[tuple[str, Sequence[Any]]]] | None = {} if batched else None
        self._lane = ""
        # Each text template as this transaction's SQL, until a pin changes a generation.
        self._statements: dict[str, str] = {}

    def lane(self, name: str) -> None:
        """Hold the writes that follow in this lane (one per read model in a shared batch)."""
        self._lane = name

    @property
    def _cursor(self) -> Any:
        """The cursor, once the writes held back are sent (so a read sees them)."""
        self.flush()
        return self._connection_cursor

    def execute(self, template: Template, params: Sequence[Any] = ()) -> None:
        statement = self._statement(template)
        values = self._database.params(params)
        if self._pending is None:
            self._connection_cursor.execute(statement, values)
        else:
            self._pending.setdefault(self._lane, []).append((statement, values))

    def query(
        self,
        template: Template,
        params: Sequence[Any] = (),
        types: Mapping[str, Decoder] | None = None,
    ) -> list[dict[str, Any]]:
        """Rows as dicts, the columns named in `types` decoded (storage.rows)."""
        cursor = self._cursor
        cursor.execute(
            self._database.sql(template, self._generations), self._database.params(params)
        )
        return decode([dict(row) for row in cursor.fetchall()], types or {})

    def rows(self, template: Template, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
        """As `query`, but each row a plain sequence in the columns' order, undecoded: for
        walks of thousands of rows inside a batch (a rebuilt seal's live rows)."""
        cursor = self._cursor
        statement = self._database.sql(template, self._generations)
        values = self._database.params(params)
        if isinstance(cursor, psycopg.Cursor):
            # A cursor of its own on the same connection, so in the same transaction.
            with cursor.connection.cursor(row_factory=tuple_row) as plain:
                plain.execute(statement, values)
                return list(plain.fetchall())
        cursor.execute(statement, values)
        return list(cursor.fetchall())

    def _statement(self, template: Template) -> str:
        if not isinstance(template, str):
            return self._database.sql(template, self._generations)
        statement = self._statements.get(template)
        if statement is None:
            statement = self._statements[template] = self._database.sql(template, self._generations)
        return statement

    def flush(self) -> None:
        """Send the writes held back, each run of one statement as one `executemany`
        (or, for a plain INSERT on PostgreSQL, one COPY)."""
        if not self._pending:
            return
        lanes, self._pending = self._pending, {}
        cursor = self._connection_cursor
        postgresql = self._database.dialect == "postgresql"
        for pending in lanes.values():
            for statement, run in groupby(pending, key=itemgetter(0)):
                rows = [values for _, values in run]
                copy = copy_statement(statement) if postgresql and len(rows) > 1 else None
                if copy is not None:
                    with cursor.copy(copy) as rows_in:
                        for row in rows:
                            rows_in.write_row(row)
                elif len(rows) == 1:
                    cursor.execute(statement, rows[0])
                else:
                    cursor.executemany(statement, rows)

    def track(self, tracking: Tracking) -> None:
        """Record the position in this same transaction; refused unless it advances."""
        # The library's own statement, run on this transaction's cursor.
        self._database.tracking._insert_tracking(self._cursor, tracking)

    def advanced(self, read_model: str) -> None:
        """The live generation moved on: note when, and forget the failure it got past."""
        if not self._database.health_exists(self._cursor):
            return
        self._raw("advanced", self._database.params((read_model, utc_now())), fetch=False)

    # Generations and positions: the worker's and the rebuild's bookkeeping.

    def pin(self, tables: Iterable[str], generation: int) -> None:
        """Resolve these tables to one generation for the rest of this transaction."""
        self._generations.update(dict.fromkeys(tables, generation))
        self._statements.clear()

    def read_model(
        self, name: str, *, lock: Literal["share", "update"] = "share"
    ) -> ReadModelState | None:
        """The read model's row, locked until commit: shared by batches, exclusive by switches."""
        rows = self._raw(f"lock_{lock}", (name,))
        return ReadModelState.of(rows[0]) if rows else None

    def register(self, name: str, tables: Sequence[str], definition: str) -> None:
        """Give a read model its row (generation 1) unless it has one."""
        self._raw("register", (name, ",".join(tables), definition), fetch=False)
        if self._database.health_exists(self._cursor):
            # Registered counts as advanced: a read model no worker ever moves still stalls.
            self._raw("register_health", self._database.params((name, utc_now())), fetch=False)

    def update_read_model(
        self,
        name: str,
        *,
        generation: int,
        building: int | None,
        tables: Sequence[str],
        definition: str | None = None,
    ) -> None:
        """Change the row; the definition too when one is given (a new live generation)."""
        self._raw("update_map", (generation, building, ",".join(tables), name), fetch=False)
        if definition is not None:
            self._raw("set_definition", (definition, name), fetch=False)

    def create(self, statements: Sequence[str], tables: Sequence[str], generation: int) -> None:
        """Run a read model's DDL for one generation of its tables."""
        self.pin(tables, generation)
        for statement in statements:
            self.execute(for_generation(statement, generation))

    def drop(self, tables: Sequence[str], generation: int) -> None:
        database = self._database
        for name in tables:
            table = database.table_identifier(name, generation)
            statement = SQL("DROP TABLE IF EXISTS {table}").format(table=table)
            self._cursor.execute(render(statement, database.dialect))

    def lock_position(self, tracking_name: str) -> int:
        """The tracked position, locked until commit (a row at 0 is made if there is none)."""
        rows = self._raw("select_position", (tracking_name,))
        if not rows:
            self._raw("insert_position", (tracking_name,), fetch=False)
            rows = self._raw("select_position", (tracking_name,))
        return int(rows[0]["notification_id"]) if rows else 0

    def set_position(self, tracking_name: str, position: int) -> None:
        """Move a position by fiat (a switch hands the rebuilt one to the live name)."""
        self._raw("set_position", (position, tracking_name), fetch=False)

    def forget_position(self, tracking_name: str) -> None:
        self._raw("delete_position", (tracking_name,), fetch=False)

    def remove_generation(self, read_model: str, tables: Sequence[str], generation: int) -> None:
        """Drop a generation being built, and its position (the live one keeps its own)."""
        self.drop(list(dict.fromkeys(tables)), generation)
        self.forget_position(self._database.tracking_name(read_model, generation))

    def exclude_readers(self, patience: float = DROP_PATIENCE_SECONDS) -> None:
        """Wait until no reader can still be using a replaced generation (PostgreSQL).

        Readers hold a shared advisory lock from reading the generations until their
        transaction ends. Trying politely first keeps new readers from queueing behind
        this request while older ones finish; after `patience` it queues like anyone.
        SQLite needs none of this: each reader keeps the snapshot it resolved names in.
        """
        if self._database.dialect != "postgresql":
            return
        key = self._database.advisory_key
        deadline = time.monotonic() + patience
        pause = 0.01
        while time.monotonic() < deadline:
            self._cursor.execute("SELECT pg_try_advisory_xact_lock(%s) AS ok", (key,))
            if self._cursor.fetchone()["ok"]:
                return
            time.sleep(pause)
            pause = min(pause * 2, 0.2)
        self._cursor.execute("SELECT pg_advisory_xact_lock(%s)", (key,))

    def _raw(
        self, statement: str, params: Sequence[Any], *, fetch: bool = True
    ) -> list[dict[str, Any]]:
        self._cursor.execute(self._database.statements[statement], params)
        return [dict(row) for row in self._cursor.fetchall()] if fetch else []


@lru_cache(maxsize=256)
def copy_statement(statement: str) -> str | None:
    """The COPY that writes what runs of this INSERT would, if it is a plain one."""
    match = _PLAIN_INSERT.fullmatch(statement)
    if match is None:
        return None
    return f"COPY {match['table']} {match['columns']} FROM STDIN"


@contextmanager
def write_cursor(datastore: Any, dialect: Dialect) -> Iterator[Any]:
    """A cursor in a write transaction that commits when the block ends without error."""
    if dialect == "postgresql":
        with datastore.transaction(commit=True) as cursor:
            yield cursor
        return
    # BEGIN IMMEDIATE takes the write lock first (waiting up to the lock timeout), so
    # a transaction that reads before it writes cannot fail on a stale snapshot the
    # way a deferred BEGIN does when another connection wrote in between.
    with datastore.get_connection(commit=True) as connection:
        cursor = connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor
            except BaseException:
                connection.rollback()
                raise
            try:
                connection.commit()
            except BaseException:
                connection.rollback()
                raise
        except sqlite3.Error as error:
            raise _sqlite_error(error) from error
        finally:
            cursor.sqlite_cursor.close()


def _sqlite_error(error: sqlite3.Error) -> PersistenceError:
    """The library's exception for a sqlite3 one, as its own transactions translate them."""
    translated: list[tuple[type[sqlite3.Error], type[PersistenceError]]] = [
        (sqlite3.IntegrityError, IntegrityError),
        (sqlite3.OperationalError, OperationalError),
        (sqlite3.ProgrammingError, ProgrammingError),
        (sqlite3.DatabaseError, DatabaseError),
    ]
    for sqlite_class, ours in translated:
        if isinstance(error, sqlite_class):
            return ours(error)
    return PersistenceError(error)
