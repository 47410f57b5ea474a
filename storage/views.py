"""Read-model tables on the ledger's own store: one SQL text, two dialects.

Read models are written once, with `%s` placeholders, `{name}` table references and
`{uuid}`-style column types; this module turns them into PostgreSQL (native types, a
schema) or SQLite (text for exact decimals and times, `?` placeholders). Table names come
from code and are checked against a strict pattern, never from input.

A read model can be rebuilt beside the live one, as a new generation of its tables:
generation 1 has the plain names (`goalpost_audit_trail`), generation N a suffix
(`goalpost_audit_trail__gN`, its indexes likewise). The `goalpost_read_models` table
names each read model's live generation and tables; every transaction resolves `{name}`
through it, so one commit switches readers and workers to a rebuilt generation. The live
generation always tracks its position under the read model's own tracking name; a
generation being built tracks under `NAME#N` until the switch.

Each row also keeps the definition its live generation was built by (the read model's
version and a digest of its DDL). A release that defines a read model differently
starts it afresh in a new generation, and a worker of another definition leaves it be
(ADR 17).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import groupby
from operator import itemgetter
from typing import Any, Literal, Protocol
from uuid import UUID

from eventsourcing.persistence import (
    DatabaseError,
    IntegrityError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
    Tracking,
)
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteTrackingRecorder
from psycopg.sql import Composable

from domain.values import utc_now
from storage.rows import Decoder, decode

log = logging.getLogger("goalpost.projections")

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,50}$")
_CREATE_TABLE = re.compile(
    r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?\{([a-z][a-z0-9_]*)\}", re.IGNORECASE
)
_CREATE_INDEX = re.compile(
    r"(CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?)"
    r"(?!ON\s)([A-Za-z_][A-Za-z0-9_]*)",
    re.IGNORECASE,
)

# Column types by dialect. SQLite keeps decimals and times as text: its NUMERIC affinity
# would turn 2.40 into a float, and ISO 8601 text sorts in time order.
_TYPES = {
    "postgresql": {
        "uuid": "uuid",
        "decimal": "numeric",
        "time": "timestamptz",
        "date": "date",
        "json": "jsonb",
        "text": "text",
        "int": "bigint",
        "bool": "boolean",
    },
    "sqlite": {
        "uuid": "TEXT",
        "decimal": "TEXT",
        "time": "TEXT",
        "date": "TEXT",
        "json": "TEXT",
        "text": "TEXT",
        "int": "INTEGER",
        "bool": "INTEGER",
    },
}
TABLE_PREFIX = "goalpost_"
READ_MODELS_TABLE = f"{TABLE_PREFIX}read_models"
# Each read model's progress and failure, shared by every worker and API process (ADR 25).
HEALTH_TABLE = f"{TABLE_PREFIX}read_model_health"
# What of an error a failure keeps: enough to name it, never a whole dump.
ERROR_TEXT_LIMIT = 500
FIRST_GENERATION = 1
# How long dropping a replaced generation waits politely for readers before queueing.
DROP_PATIENCE_SECONDS = 5.0


def table_names(statements: Sequence[str]) -> tuple[str, ...]:
    """The tables a read model's statements create, in order."""
    names: list[str] = []
    for statement in statements:
        names.extend(n for n in _CREATE_TABLE.findall(statement) if n not in names)
    return tuple(names)


def generation_suffix(generation: int) -> str:
    return "" if generation == FIRST_GENERATION else f"__g{generation}"


def for_generation(statement: str, generation: int) -> str:
    """DDL for a later generation: index names are per schema, so they take the suffix too."""
    if generation == FIRST_GENERATION:
        return statement
    suffix = generation_suffix(generation)
    return _CREATE_INDEX.sub(lambda m: f"{m.group(1)}{m.group(2)}{suffix}", statement)


@dataclass(frozen=True)
class ReadModelState:
    """One read model's row in `goalpost_read_models`."""

    name: str
    generation: int
    building: int | None
    tables: tuple[str, ...]
    # What built the live generation (`ReadModel.definition()`); None from before it was kept.
    definition: str | None = None


@dataclass(frozen=True)
class ReadModelHealth:
    """One read model's row in `goalpost_read_model_health`: when it last moved, and
    the event it cannot apply, if any (ADR 25)."""

    name: str
    # When the live generation last advanced (or was registered, before it ever did).
    advanced_at: datetime | None
    failing_position: int | None = None
    error: str | None = None
    failing_since: datetime | None = None
    attempts: int = 0
    # No worker tries the failing event again before this.
    retry_at: datetime | None = None

    def failing_at(self, position: int) -> bool:
        """Whether it is stuck at `position`: the failing event is still ahead of it."""
        return self.failing_position is not None and self.failing_position > position


def definition_version(definition: str | None) -> int:
    """The version in `v{version}:{digest}`; 0 for none (a store from before them)."""
    match = re.match(r"v(\d+):", definition or "")
    return int(match.group(1)) if match else 0


def _later_release(live: str | None, ours: str) -> bool:
    """Whether a later release built the live generation: an older one leaves it be."""
    return definition_version(live) > definition_version(ours)


@dataclass(frozen=True)
class ReadModelSpec:
    """What the database needs to know of a read model to create and keep its tables."""

    name: str
    statements: Sequence[str]
    definition: str
    keeps_evidence: bool = False


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


def _json_default(value: Any) -> str:
    # Decimals without exponent notation (never 1E-7), in the form they were given.
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=_json_default)
    return value


def _pg_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=_json_default)
    return value


# Read-model SQL: text, or psycopg.sql composed from parts (never f-strings of input).
Template = str | Composable


class ViewTransaction:
    """One transaction of a read model: its rows and its position commit together.

    Batched (the worker's and the rebuild's), it holds its writes back and sends each
    run of the same statement as one `executemany`, in order, before any read, any
    bookkeeping and the commit: the same statements, but a batch of events costs a few
    round trips instead of one an event. An error still comes before the commit.
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

    def lane(self, name: str) -> None:
        """Hold the writes that follow in this lane (one per read model in a shared batch)."""
        self._lane = name

    @property
    def _cursor(self) -> Any:
        """The cursor, once the writes held back are sent (so a read sees them)."""
        self.flush()
        return self._connection_cursor

    def execute(self, template: str, params: Sequence[Any] = ()) -> None:
        statement = self._database.sql(template, self._generations)
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

    def flush(self) -> None:
        """Send the writes held back, each run of one statement as one `executemany`."""
        if not self._pending:
            return
        lanes, self._pending = self._pending, {}
        for pending in lanes.values():
            for statement, run in groupby(pending, key=itemgetter(0)):
                rows = [values for _, values in run]
                if len(rows) == 1:
                    self._connection_cursor.execute(statement, rows[0])
                else:
                    self._connection_cursor.executemany(statement, rows)

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

    def read_model(
        self, name: str, *, lock: Literal["share", "update"] = "share"
    ) -> ReadModelState | None:
        """The read model's row, locked until commit: shared by batches, exclusive by switches."""
        rows = self._raw(f"lock_{lock}", (name,))
        return self._database.state(rows[0]) if rows else None

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
        for name in tables:
            self._cursor.execute(f"DROP TABLE IF EXISTS {self._database.table(name, generation)}")

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


class StoredLedger(Protocol):
    """What the read side needs of a ledger: its name, its recorder and its mapper."""

    @property
    def name(self) -> str: ...

    @property
    def recorder(self) -> Any: ...

    @property
    def mapper(self) -> Any: ...


class ViewDatabase:
    """The ledger's store, seen as a place for read-model tables and their positions."""

    def __init__(self, ledger: StoredLedger) -> None:
        recorder = ledger.recorder
        self.ledger_name = ledger.name
        self._recorder = recorder
        self._mapper = ledger.mapper
        self.tracking: PostgresTrackingRecorder | SQLiteTrackingRecorder
        dialect = getattr(recorder, "dialect", None)
        self.dialect: Literal["postgresql", "sqlite"]
        if dialect == "postgresql":
            self.dialect = "postgresql"
            self._datastore: Any = recorder.datastore
            self._schema = recorder.datastore.schema
            self.tracking = PostgresTrackingRecorder(
                recorder.datastore, tracking_table_name=f"{TABLE_PREFIX}projection_tracking"
            )
            tracking_table = f'"{self._schema}"."{self.tracking.tracking_table_name}"'
            read_models = f'"{self._schema}"."{READ_MODELS_TABLE}"'
            health = f'"{self._schema}"."{HEALTH_TABLE}"'
        elif dialect == "sqlite":
            self.dialect = "sqlite"
            self._datastore = recorder.datastore
            self._schema = ""
            self.tracking = SQLiteTrackingRecorder(recorder.datastore)
            tracking_table = "tracking"
            read_models = READ_MODELS_TABLE
            health = HEALTH_TABLE
        else:
            raise TypeError(f"read models need SQLite or PostgreSQL, not {type(recorder)}")
        self._sql_cache: dict[tuple[str, tuple[tuple[str, int], ...]], str] = {}
        # One advisory lock per schema: readers share it, dropping a generation excludes them.
        digest = hashlib.sha256(f"goalpost read models {self._schema}".encode()).digest()
        self.advisory_key = int.from_bytes(digest[:8], "big", signed=True)
        self.statements = self._statements(read_models, tracking_table, health)
        self._map_seen = False
        self._health_seen = False
        self._warned_no_health = False

    def _statements(self, read_models: str, tracking: str, health: str) -> dict[str, str]:
        types = _TYPES[self.dialect]
        lock = {"share": " FOR SHARE", "update": " FOR UPDATE"}
        if self.dialect == "sqlite":
            # A write transaction there holds the whole database (BEGIN IMMEDIATE).
            lock = {"share": "", "update": ""}
        # Table names come from code (the schema is checked by storage.settings).
        select = f"SELECT name, generation, building, table_names, definition FROM {read_models}"  # noqa: S608
        health_select = (
            "SELECT name, advanced_at, failing_position, failing_error, failing_since,"  # noqa: S608
            f" failing_attempts, retry_at FROM {health}"
        )
        statements = {
            "create_map": (
                f"CREATE TABLE IF NOT EXISTS {read_models} ("
                f" name {types['text']} PRIMARY KEY,"
                f" generation {types['int']} NOT NULL,"
                f" building {types['int']},"
                f" table_names {types['text']} NOT NULL,"
                f" definition {types['text']})"
            ),
            # Rows made before definitions were kept: NULL, a definition of their own.
            "add_definition": (
                f"ALTER TABLE {read_models} ADD COLUMN IF NOT EXISTS definition {types['text']}"
                if self.dialect == "postgresql"
                else f"ALTER TABLE {read_models} ADD COLUMN definition {types['text']}"
            ),
            "map_columns": (
                "SELECT column_name AS name FROM information_schema.columns"
                " WHERE table_schema = %s AND table_name = %s"
                if self.dialect == "postgresql"
                else f"SELECT name FROM pragma_table_info('{READ_MODELS_TABLE}')"  # noqa: S608
            ),
            "select_map": select,
            "map_exists": (
                "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = %s AND tablename = %s"
                if self.dialect == "postgresql"
                else "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s"
            ),
            "lock_share": f"{select} WHERE name = %s{lock['share']}",
            "lock_update": f"{select} WHERE name = %s{lock['update']}",
            "register": (
                f"INSERT INTO {read_models}"  # noqa: S608
                " (name, generation, building, table_names, definition)"
                f" VALUES (%s, {FIRST_GENERATION}, NULL, %s, %s) ON CONFLICT (name) DO NOTHING"
            ),
            "set_definition": f"UPDATE {read_models} SET definition = %s WHERE name = %s",  # noqa: S608
            "update_map": (
                f"UPDATE {read_models} SET generation = %s, building = %s, table_names = %s"  # noqa: S608
                " WHERE name = %s"
            ),
            "select_position": (
                f"SELECT notification_id FROM {tracking}"  # noqa: S608
                f" WHERE application_name = %s{lock['update']}"
            ),
            "insert_position": (
                f"INSERT INTO {tracking} (application_name, notification_id) VALUES (%s, 0)"  # noqa: S608
                " ON CONFLICT (application_name) DO NOTHING"
            ),
            "set_position": (
                f"UPDATE {tracking} SET notification_id = %s WHERE application_name = %s"  # noqa: S608
            ),
            "delete_position": f"DELETE FROM {tracking} WHERE application_name = %s",  # noqa: S608
            "create_health": (
                f"CREATE TABLE IF NOT EXISTS {health} ("
                f" name {types['text']} PRIMARY KEY,"
                f" advanced_at {types['time']},"
                f" failing_position {types['int']},"
                f" failing_error {types['text']},"
                f" failing_since {types['time']},"
                f" failing_attempts {types['int']} NOT NULL DEFAULT 0,"
                f" retry_at {types['time']})"
            ),
            "health_exists": (
                "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = %s AND tablename = %s"
                if self.dialect == "postgresql"
                else "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s"
            ),
            "select_health": f"{health_select} ORDER BY name",
            "lock_health": f"{health_select} WHERE name = %s{lock['update']}",
            "register_health": (
                f"INSERT INTO {health} (name, advanced_at) VALUES (%s, %s)"  # noqa: S608
                " ON CONFLICT (name) DO NOTHING"
            ),
            # Moving on clears the failure: the event it could not apply is behind it now.
            "advanced": (
                f"INSERT INTO {health} (name, advanced_at) VALUES (%s, %s)"  # noqa: S608
                " ON CONFLICT (name) DO UPDATE SET advanced_at = excluded.advanced_at,"
                " failing_position = NULL, failing_error = NULL, failing_since = NULL,"
                " failing_attempts = 0, retry_at = NULL"
            ),
            "failed": (
                f"INSERT INTO {health} (name, failing_position, failing_error, failing_since,"  # noqa: S608
                " failing_attempts, retry_at) VALUES (%s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (name) DO UPDATE SET"
                " failing_position = excluded.failing_position,"
                " failing_error = excluded.failing_error,"
                " failing_since = excluded.failing_since,"
                " failing_attempts = excluded.failing_attempts,"
                " retry_at = excluded.retry_at"
            ),
        }
        if self.dialect == "sqlite":
            statements = {k: v.replace("%s", "?") for k, v in statements.items()}
        return statements

    # Names

    def tracking_name(self, read_model: str, building: int | None = None) -> str:
        """The live generation tracks under the plain name; one being built under `#N`."""
        name = f"{self.ledger_name}:{read_model}"
        return name if building is None else f"{name}#{building}"

    def table(self, name: str, generation: int | None = None) -> str:
        """The table's name in SQL: the live generation's unless one is given."""
        if not _NAME.match(name):
            raise ValueError(f"not a read-model table name: {name!r}")
        if generation is None:
            generation = self.generations().get(name, FIRST_GENERATION)
        full = f"{TABLE_PREFIX}{name}{generation_suffix(generation)}"
        if self.dialect == "postgresql":
            return f'"{self._schema}"."{full}"'
        return full

    def sql(self, template: Template, generations: Mapping[str, int] | None = None) -> str:
        """Fill in table names and column types; SQLite gets `?` placeholders.

        A template is text or a `psycopg.sql.Composable` (for clauses built from parts,
        `SQL(" AND ").join(...)`); either way `{name}` stands for a read model's table or
        a column type, resolved here, and `%s` for a parameter.
        """
        if not isinstance(template, str):
            # Composed without a connection: only SQL and Identifier parts, no literals.
            template = template.as_string(None)
        if generations is None:
            generations = self.generations()
        key = (template, tuple(sorted((t, g) for t, g in generations.items() if g != 1)))
        cached = self._sql_cache.get(key)
        if cached is not None:
            return cached
        types = _TYPES[self.dialect]
        names = set(re.findall(r"\{([a-z][a-z0-9_]*)\}", template))
        filled = template.format(
            **{
                n: types[n] if n in types else self.table(n, generations.get(n, FIRST_GENERATION))
                for n in names
            }
        )
        if self.dialect == "sqlite":
            filled = filled.replace("%s", "?")
        self._sql_cache[key] = filled
        return filled

    def params(self, params: Sequence[Any]) -> Sequence[Any]:
        convert = _sqlite_value if self.dialect == "sqlite" else _pg_value
        return [convert(p) for p in params]

    # Transactions

    @contextmanager
    def transaction(self, *, batched: bool = False) -> Iterator[ViewTransaction]:
        """A write transaction, names resolved to the live generations.

        `batched`: writes are held back and sent in runs (see ViewTransaction).
        """
        with self._write() as cursor:
            tx = ViewTransaction(self, cursor, self._load_generations(cursor), batched=batched)
            yield tx
            tx.flush()

    @contextmanager
    def bare_transaction(self) -> Iterator[ViewTransaction]:
        """A write transaction that reads no generations (to create or drop them)."""
        with self._write() as cursor:
            yield ViewTransaction(self, cursor)

    def query(
        self,
        template: Template,
        params: Sequence[Any] = (),
        types: Mapping[str, Decoder] | None = None,
    ) -> list[dict[str, Any]]:
        """Rows of the live generations, resolved and read in one transaction."""
        with self._datastore.transaction(commit=False) as cursor:
            return ViewTransaction(self, cursor, self._load_generations(cursor)).query(
                template, params, types
            )

    @contextmanager
    def _write(self) -> Iterator[Any]:
        if self.dialect == "postgresql":
            with self._datastore.transaction(commit=True) as cursor:
                yield cursor
            return
        # BEGIN IMMEDIATE takes the write lock first (waiting up to the lock timeout), so
        # a transaction that reads before it writes cannot fail on a stale snapshot the
        # way a deferred BEGIN does when another connection wrote in between.
        with self._datastore.get_connection(commit=True) as connection:
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

    # Generations

    def _load_generations(self, cursor: Any) -> dict[str, int]:
        if self.dialect == "postgresql":
            # Held until the transaction ends: a replaced generation is not dropped while
            # a reader that resolved names to it may still use it.
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", (self.advisory_key,))
        if not self._map_exists(cursor):
            # Before `db init`: every table is its first generation (and missing, as a
            # read of it will say).
            return {}
        cursor.execute(self.statements["select_map"])
        generations: dict[str, int] = {}
        for row in cursor.fetchall():
            state = self.state(dict(row))
            generations.update(dict.fromkeys(state.tables, state.generation))
        return generations

    def health_exists(self, cursor: Any) -> bool:
        """Whether `goalpost_read_model_health` exists (`goalpost db init` makes it)."""
        if not self._health_seen:
            where = (self._schema, HEALTH_TABLE) if self._schema else (HEALTH_TABLE,)
            cursor.execute(self.statements["health_exists"], where)
            self._health_seen = cursor.fetchone() is not None
            if not self._health_seen and not self._warned_no_health:
                self._warned_no_health = True
                log.warning(
                    "%s is missing: read-model failures and stalls are not recorded until "
                    "`goalpost db init` is run with this release",
                    HEALTH_TABLE,
                )
        return self._health_seen

    def _map_exists(self, cursor: Any) -> bool:
        """Whether `goalpost_read_models` exists; once it does, it always will."""
        if not self._map_seen:
            where = (self._schema, READ_MODELS_TABLE) if self._schema else (READ_MODELS_TABLE,)
            cursor.execute(self.statements["map_exists"], where)
            self._map_seen = cursor.fetchone() is not None
        return self._map_seen

    def generations(self) -> dict[str, int]:
        """Each table's live generation, as of now."""
        with self._datastore.transaction(commit=False) as cursor:
            return self._load_generations(cursor)

    def states(self) -> list[ReadModelState]:
        with self._datastore.transaction(commit=False) as cursor:
            cursor.execute(self.statements["select_map"])
            return [self.state(dict(row)) for row in cursor.fetchall()]

    def health(self) -> dict[str, ReadModelHealth]:
        """Each read model's health row, by name; none before `db init` made the table."""
        with self._datastore.transaction(commit=False) as cursor:
            if not self.health_exists(cursor):
                return {}
            cursor.execute(self.statements["select_health"])
            rows = [self._health(dict(row)) for row in cursor.fetchall()]
        return {row.name: row for row in rows}

    def record_failure(
        self, read_model: str, position: int, error: str, delay: Callable[[int], float]
    ) -> ReadModelHealth:
        """Note that the read model cannot apply the event at `position`; its state now.

        Another attempt at the same position counts up and keeps the first `since`;
        `delay(attempts)` says how many seconds no worker should try it again.
        """
        # PostgreSQL text holds no NUL, and an error may quote the very text that had one.
        text = error.replace("\x00", "\\x00")[:ERROR_TEXT_LIMIT]
        now = utc_now()
        with self.bare_transaction() as tx:
            if not self.health_exists(tx._cursor):
                return ReadModelHealth(
                    read_model, None, position, text, now, 1, now + timedelta(seconds=delay(1))
                )
            rows = tx._raw("lock_health", (read_model,))
            before = self._health(rows[0]) if rows else None
            again = before is not None and before.failing_position == position
            attempts = before.attempts + 1 if before is not None and again else 1
            since = before.failing_since if before is not None and again else None
            state = ReadModelHealth(
                name=read_model,
                advanced_at=before.advanced_at if before is not None else None,
                failing_position=position,
                error=text,
                failing_since=since or now,
                attempts=attempts,
                retry_at=now + timedelta(seconds=delay(attempts)),
            )
            tx._raw(
                "failed",
                self.params(
                    (
                        read_model,
                        position,
                        text,
                        state.failing_since,
                        attempts,
                        state.retry_at,
                    )
                ),
                fetch=False,
            )
        return state

    def _health(self, row: Mapping[str, Any]) -> ReadModelHealth:
        def moment(value: Any) -> datetime | None:
            if value is None or isinstance(value, datetime):
                return value
            return datetime.fromisoformat(str(value))

        failing = row["failing_position"]
        return ReadModelHealth(
            name=str(row["name"]),
            advanced_at=moment(row["advanced_at"]),
            failing_position=int(failing) if failing is not None else None,
            error=row["failing_error"],
            failing_since=moment(row["failing_since"]),
            attempts=int(row["failing_attempts"] or 0),
            retry_at=moment(row["retry_at"]),
        )

    def pending_since(self, position: int) -> datetime | None:
        """When the first event after `position` was recorded; None if there is none.

        A read model that was idle until that event has been behind only since then.
        """
        found = self._recorder.select_notifications(
            start=position, limit=1, inclusive_of_start=False
        )
        if not found:
            return None
        try:
            event = self._mapper.to_domain_event(found[0])
        except Exception:  # an event that cannot be decoded: its read model says so itself
            return None
        timestamp = getattr(event, "timestamp", None)
        return timestamp if isinstance(timestamp, datetime) else None

    @staticmethod
    def state(row: Mapping[str, Any]) -> ReadModelState:
        building = row["building"]
        return ReadModelState(
            name=str(row["name"]),
            generation=int(row["generation"]),
            building=int(building) if building is not None else None,
            tables=tuple(t for t in str(row["table_names"]).split(",") if t),
            definition=row.get("definition"),
        )

    def head(self) -> int:
        """The log's last position (0 while it is empty)."""
        return int(self._recorder.max_notification_id() or 0)

    def position(self, read_model: str) -> int:
        """The position the read model's live generation reflects (0 before any event)."""
        return self.tracking.max_tracking_id(self.tracking_name(read_model)) or 0

    # Tables

    def create_read_models(
        self, read_models: Sequence[ReadModelSpec], *, afresh: bool = True
    ) -> None:
        """Create each read model's live tables, its row and its position (safe to re-run).

        A read model whose live generation an earlier definition built (a lower version,
        or the same version with other DDL) is started afresh:
        new empty tables at position 0 (the worker then applies the whole log), the old
        ones dropped once no reader uses them. `goalpost projections rebuild` run by the
        new release first avoids the gap: the generation it switches to has the new
        definition, so nothing is reset here; it calls this with `afresh=False`, which
        leaves a live generation of another definition as it is.
        """
        self.tracking.create_table()
        with self.bare_transaction() as tx:
            self._create_map(tx)
        replaced: list[tuple[ReadModelState, tuple[str, ...]]] = []
        with self.transaction() as tx:
            for spec in read_models:
                tables = table_names(spec.statements)
                tx.register(spec.name, tables, spec.definition)
                state = tx.read_model(spec.name, lock="update")
                assert state is not None  # registered just above
                tx.lock_position(self.tracking_name(spec.name))
                if state.definition != spec.definition:
                    if spec.keeps_evidence and state.definition is None:
                        # Kept before definitions were: the first one there ever was.
                        tx.update_read_model(
                            spec.name,
                            generation=state.generation,
                            building=state.building,
                            tables=state.tables,
                            definition=spec.definition,
                        )
                    elif spec.keeps_evidence:
                        log.error(
                            "read model %s holds evidence and is live in definition %s, not "
                            "%s: it is never started afresh; verify the old chain and migrate "
                            "it deliberately",
                            spec.name,
                            state.definition,
                            spec.definition,
                        )
                    elif afresh and not _later_release(state.definition, spec.definition):
                        replaced.append((state, tables))
                        self._start_afresh(tx, spec, state, tables)
                    continue
                tx.create(spec.statements, tables, state.generation)
                if set(state.tables) != set(tables):
                    # A release added a table: the live generation has it now too.
                    tx.update_read_model(
                        spec.name,
                        generation=state.generation,
                        building=state.building,
                        tables=tables,
                    )
        for state, tables in replaced:
            with self.bare_transaction() as tx:
                tx.exclude_readers()
                tx.drop(state.tables or tables, state.generation)

    def _create_map(self, tx: ViewTransaction) -> None:
        tx._raw("create_map", (), fetch=False)
        tx._raw("create_health", (), fetch=False)
        where = (self._schema, READ_MODELS_TABLE) if self._schema else ()
        columns = {row["name"] for row in tx._raw("map_columns", where)}
        if "definition" not in columns:
            tx._raw("add_definition", (), fetch=False)

    def _start_afresh(
        self,
        tx: ViewTransaction,
        spec: ReadModelSpec,
        state: ReadModelState,
        tables: tuple[str, ...],
    ) -> None:
        log.warning(
            "read model %s was built by definition %s, this release has %s: "
            "starting it afresh from the beginning of the log",
            spec.name,
            state.definition,
            spec.definition,
        )
        if state.building is not None:
            # A rebuild in progress is of the old definition (a new one would have switched).
            tx.remove_generation(spec.name, (*state.tables, *tables), state.building)
        generation = max(state.generation, state.building or 0) + 1
        tx.create(spec.statements, tables, generation)
        tx.set_position(self.tracking_name(spec.name), 0)
        # A new start: an old generation's failure is not this one's.
        tx.advanced(spec.name)
        tx.update_read_model(
            spec.name,
            generation=generation,
            building=None,
            tables=tables,
            definition=spec.definition,
        )

    def create_tables(self, statements: Sequence[str]) -> None:
        """Create tables outside any read model (at their live generation)."""
        self.tracking.create_table()
        with self.bare_transaction() as tx:
            self._create_map(tx)
        with self.transaction() as tx:
            for statement in statements:
                tx.execute(statement)
