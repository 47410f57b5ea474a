"""Read-model tables on the ledger's own store: one SQL text, two dialects.

`ViewDatabase` is the read side's way into the store: transactions whose `{name}`
references resolve to each read model's live generation (storage.dialect), the
bookkeeping of generations, positions and health (storage.read_model_state,
storage.bookkeeping), and the log's head. Table names come from code, never from input.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Protocol

import psycopg
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteTrackingRecorder
from psycopg.rows import tuple_row
from psycopg.sql import Identifier

from domain.values import utc_now
from storage.bookkeeping import bookkeeping_statements
from storage.dialect import (
    FIRST_GENERATION,
    TABLE_PREFIX,
    Dialect,
    Resolver,
    Template,
    for_generation,
    generation_suffix,
    qualified,
    table_names,
)
from storage.read_model_setup import create_read_models, create_tables
from storage.read_model_state import (
    ERROR_TEXT_LIMIT,
    HEALTH_TABLE,
    READ_MODELS_TABLE,
    ReadModelHealth,
    ReadModelSpec,
    ReadModelState,
    definition_version,
)
from storage.replication import Replay, replay_state
from storage.rows import Decoder
from storage.transactions import DROP_PATIENCE_SECONDS, ViewTransaction, write_cursor

# What callers have always imported from here.
__all__ = [
    "DROP_PATIENCE_SECONDS",
    "ERROR_TEXT_LIMIT",
    "FIRST_GENERATION",
    "HEALTH_TABLE",
    "READ_MODELS_TABLE",
    "TABLE_PREFIX",
    "ReadModelHealth",
    "ReadModelSpec",
    "ReadModelState",
    "StoredLedger",
    "Template",
    "ViewDatabase",
    "ViewTransaction",
    "definition_version",
    "for_generation",
    "generation_suffix",
    "table_names",
]

log = logging.getLogger("goalpost.projections")


def plain_rows(cursor: Any) -> None:
    """Tuples, not the dicts the library asks PostgreSQL for (SQLite's rows are tuples)."""
    if isinstance(cursor, psycopg.Cursor):
        cursor.row_factory = tuple_row


# A batch (the worker's, a rebuild's) decodes events and loads goals between its
# statements, and the store ends a session idle in a transaction after 5 s (the library's
# default), meant for sessions a client abandoned. A worker resuming mid-log on a long
# history loads hundreds of goals from their snapshots in its first batch: on a busy
# machine that took longer, the batch was cut off, its goals were forgotten with it, and
# every retry failed the same way. A batch is work in progress: it gets two minutes.
BATCH_PATIENCE = "SET LOCAL idle_in_transaction_session_timeout = '120s'"


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

    def __init__(
        self, ledger: StoredLedger, *, primary: StoredLedger | None = None, source: str = "primary"
    ) -> None:
        """`ledger`'s store; with `primary`, a hot standby of that ledger's store (ADR 31),
        read only: nothing here writes unless a worker or `db init` asks it to.

        `source` names the store in what reads answer (`Goalpost-Read-From`).
        """
        recorder = ledger.recorder
        self.ledger_name = primary.name if primary is not None else ledger.name
        self.source = source
        # Where writes go: a standby's log may not have replayed a position yet.
        self._primary_recorder = primary.recorder if primary is not None else recorder
        self._recorder = recorder
        self._mapper = ledger.mapper
        self._datastore: Any = recorder.datastore
        self.tracking: PostgresTrackingRecorder | SQLiteTrackingRecorder
        dialect = getattr(recorder, "dialect", None)
        self.dialect: Dialect
        if dialect == "postgresql":
            self.dialect = "postgresql"
            self.schema: str = recorder.datastore.schema
            tracking_table = f"{TABLE_PREFIX}projection_tracking"
            self.tracking = PostgresTrackingRecorder(
                recorder.datastore, tracking_table_name=tracking_table
            )
        elif dialect == "sqlite":
            self.dialect = "sqlite"
            self.schema = ""
            # The library's SQLite tracking table has a fixed name.
            tracking_table = "tracking"
            self.tracking = SQLiteTrackingRecorder(recorder.datastore)
        else:
            raise TypeError(f"read models need SQLite or PostgreSQL, not {type(recorder)}")
        self._resolver = Resolver(self.dialect, self.schema)
        # One advisory lock per schema: readers share it, dropping a generation excludes them.
        digest = hashlib.sha256(f"goalpost read models {self.schema}".encode()).digest()
        self.advisory_key = int.from_bytes(digest[:8], "big", signed=True)
        self.statements = bookkeeping_statements(
            self.dialect,
            read_models=qualified(self.schema, READ_MODELS_TABLE),
            tracking=qualified(self.schema, tracking_table),
            health=qualified(self.schema, HEALTH_TABLE),
        )
        self._map_seen = False
        self._health_seen = False
        self._warned_no_health = False

    # Names

    def tracking_name(self, read_model: str, building: int | None = None) -> str:
        """The live generation tracks under the plain name; one being built under `#N`."""
        name = f"{self.ledger_name}:{read_model}"
        return name if building is None else f"{name}#{building}"

    def table_identifier(self, name: str, generation: int | None = None) -> Identifier:
        """The table as an identifier to compose with: the live generation's unless given."""
        if generation is None:
            generation = self.generations().get(name, FIRST_GENERATION)
        return self._resolver.table(name, generation)

    def table(self, name: str, generation: int | None = None) -> str:
        """The table's name in SQL: the live generation's unless one is given."""
        return self.table_identifier(name, generation).as_string(None)

    def sql(self, template: Template, generations: Mapping[str, int] | None = None) -> str:
        """Fill in table names and column types; SQLite gets `?` placeholders.

        A template is text or a `psycopg.sql.Composable` (for clauses built from parts,
        `SQL(" AND ").join(...)`); either way `{name}` stands for a read model's table or
        a column type, resolved here, and `%s` for a parameter.
        """
        if generations is None:
            generations = self.generations()
        return self._resolver.sql(template, generations)

    def params(self, params: Sequence[Any]) -> Sequence[Any]:
        return self._resolver.params(params)

    # Transactions

    @contextmanager
    def transaction(self, *, batched: bool = False) -> Iterator[ViewTransaction]:
        """A write transaction, names resolved to the live generations.

        `batched`: writes are held back and sent in runs (see ViewTransaction).
        """
        with write_cursor(self._datastore, self.dialect) as cursor:
            if batched and self.dialect == "postgresql":
                cursor.execute(BATCH_PATIENCE)
            tx = ViewTransaction(self, cursor, self._load_generations(cursor), batched=batched)
            yield tx
            tx.flush()

    @contextmanager
    def bare_transaction(self) -> Iterator[ViewTransaction]:
        """A write transaction that reads no generations (to create or drop them)."""
        with write_cursor(self._datastore, self.dialect) as cursor:
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

    def rows(self, template: Template, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
        """As `query`, but each row a plain sequence in the columns' order, undecoded: for
        reads of thousands of rows (a heavy person's evidence), where a dict per row, and
        a lookup per column of each, are felt."""
        with self._datastore.transaction(commit=False) as cursor:
            return self._plain(cursor, template, params, self._load_generations(cursor))

    def tuples(
        self, template: Template, params: Sequence[Any], generations: Mapping[str, int]
    ) -> list[Sequence[Any]]:
        """Rows as plain sequences, tables at the generations given, without the readers' lock.

        For long walks (verification) that resolved the generations once: a dict per row
        is felt over a 100,000-row walk, and so is a generation lookup per batch.
        """
        with self._datastore.transaction(commit=False) as cursor:
            return self._plain(cursor, template, params, generations)

    def _plain(
        self, cursor: Any, template: Template, params: Sequence[Any], generations: Mapping[str, int]
    ) -> list[Sequence[Any]]:
        plain_rows(cursor)
        cursor.execute(self.sql(template, generations), self.params(params))
        rows: list[Sequence[Any]] = cursor.fetchall()
        return rows

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
            state = ReadModelState.of(dict(row))
            generations.update(dict.fromkeys(state.tables, state.generation))
        return generations

    def _exists(self, cursor: Any, table: str) -> bool:
        where = (self.schema, table) if self.schema else (table,)
        cursor.execute(self.statements["map_exists"], where)
        return cursor.fetchone() is not None

    def health_exists(self, cursor: Any) -> bool:
        """Whether `goalpost_read_model_health` exists (`goalpost db init` makes it)."""
        if not self._health_seen:
            self._health_seen = self._exists(cursor, HEALTH_TABLE)
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
            self._map_seen = self._exists(cursor, READ_MODELS_TABLE)
        return self._map_seen

    def generations(self) -> dict[str, int]:
        """Each table's live generation, as of now."""
        with self._datastore.transaction(commit=False) as cursor:
            return self._load_generations(cursor)

    def states(self) -> list[ReadModelState]:
        with self._datastore.transaction(commit=False) as cursor:
            cursor.execute(self.statements["select_map"])
            return [ReadModelState.of(dict(row)) for row in cursor.fetchall()]

    @staticmethod
    def state(row: Mapping[str, Any]) -> ReadModelState:
        return ReadModelState.of(row)

    # Health

    def health(self) -> dict[str, ReadModelHealth]:
        """Each read model's health row, by name; none before `db init` made the table."""
        with self._datastore.transaction(commit=False) as cursor:
            if not self.health_exists(cursor):
                return {}
            cursor.execute(self.statements["select_health"])
            rows = [ReadModelHealth.of(dict(row)) for row in cursor.fetchall()]
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
            before = ReadModelHealth.of(rows[0]) if rows else None
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
            values = (read_model, position, text, state.failing_since, attempts, state.retry_at)
            tx._raw("failed", self.params(values), fetch=False)
        return state

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

    # Positions

    def head(self) -> int:
        """The log's last position (0 while it is empty)."""
        return int(self._recorder.max_notification_id() or 0)

    def written_head(self) -> int:
        """The last position given to a write: the primary's log head, which a standby's
        own head reaches only once it has replayed it."""
        return int(self._primary_recorder.max_notification_id() or 0)

    def has_position(self, position: int) -> bool:
        """Whether a write was given `position` (asking the primary only when needed)."""
        return position <= self.head() or position <= self.written_head()

    def replay(self) -> Replay:
        """PostgreSQL: how far this store's replay of its primary stands (ADR 31)."""
        return replay_state(self._datastore)

    def position(self, read_model: str) -> int:
        """The position the read model's live generation reflects (0 before any event)."""
        return self.tracking.max_tracking_id(self.tracking_name(read_model)) or 0

    # Tables

    def create_read_models(
        self, read_models: Sequence[ReadModelSpec], *, afresh: bool = True
    ) -> None:
        """Create each read model's live tables, its row and its position (safe to re-run).

        See storage.read_model_setup: a live generation of an earlier definition is
        started afresh unless `afresh` is False (a rebuild's switch brings the new one).
        """
        create_read_models(self, read_models, afresh=afresh)

    def create_tables(self, statements: Sequence[str]) -> None:
        """Create tables outside any read model (at their live generation)."""
        create_tables(self, statements)
