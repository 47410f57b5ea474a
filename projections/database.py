"""Read-model tables on the ledger's own store: one SQL text, two dialects.

Read models are written once, with `%s` placeholders, `{name}` table references and
`{uuid}`-style column types; this module turns them into PostgreSQL (native types, a
schema) or SQLite (text for exact decimals and times, `?` placeholders). Table names come
from code and are checked against a strict pattern, never from input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteTrackingRecorder

from domain.application import GoalLedger
from storage.postgres import GoalpostPostgresRecorder
from storage.sqlite import GoalpostSQLiteRecorder

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,50}$")

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


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def _pg_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return value


class ViewTransaction:
    """One transaction of a read model: its rows and its position commit together."""

    def __init__(self, database: ViewDatabase, cursor: Any) -> None:
        self._database = database
        self._cursor = cursor

    def execute(self, template: str, params: Sequence[Any] = ()) -> None:
        self._cursor.execute(self._database.sql(template), self._database.params(params))

    def query(self, template: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        self._cursor.execute(self._database.sql(template), self._database.params(params))
        return [dict(row) for row in self._cursor.fetchall()]

    def track(self, tracking: Tracking) -> None:
        """Record the position in this same transaction; refused unless it advances."""
        # The library's own statement, run on this transaction's cursor.
        self._database.tracking._insert_tracking(self._cursor, tracking)


class ViewDatabase:
    """The ledger's store, seen as a place for read-model tables and their positions."""

    def __init__(self, ledger: GoalLedger) -> None:
        recorder = ledger.recorder
        self.tracking: PostgresTrackingRecorder | SQLiteTrackingRecorder
        if isinstance(recorder, GoalpostPostgresRecorder):
            self.dialect = "postgresql"
            self._datastore: Any = recorder.datastore
            self._schema = recorder.datastore.schema
            self.tracking = PostgresTrackingRecorder(
                recorder.datastore, tracking_table_name=f"{TABLE_PREFIX}projection_tracking"
            )
        elif isinstance(recorder, GoalpostSQLiteRecorder):
            self.dialect = "sqlite"
            self._datastore = recorder.datastore
            self._schema = ""
            self.tracking = SQLiteTrackingRecorder(recorder.datastore)
        else:
            raise TypeError(f"read models need SQLite or PostgreSQL, not {type(recorder)}")
        self._sql_cache: dict[str, str] = {}

    def table(self, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError(f"not a read-model table name: {name!r}")
        if self.dialect == "postgresql":
            return f'"{self._schema}"."{TABLE_PREFIX}{name}"'
        return f"{TABLE_PREFIX}{name}"

    def sql(self, template: str) -> str:
        """Fill in table names and column types; SQLite gets `?` placeholders."""
        cached = self._sql_cache.get(template)
        if cached is not None:
            return cached
        types = _TYPES[self.dialect]
        names = set(re.findall(r"\{([a-z][a-z0-9_]*)\}", template))
        filled = template.format(**{n: types[n] if n in types else self.table(n) for n in names})
        if self.dialect == "sqlite":
            filled = filled.replace("%s", "?")
        self._sql_cache[template] = filled
        return filled

    def params(self, params: Sequence[Any]) -> Sequence[Any]:
        convert = _sqlite_value if self.dialect == "sqlite" else _pg_value
        return [convert(p) for p in params]

    @contextmanager
    def transaction(self) -> Iterator[ViewTransaction]:
        with self._datastore.transaction(commit=True) as cursor:
            yield ViewTransaction(self, cursor)

    def query(self, template: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._datastore.transaction(commit=False) as cursor:
            return ViewTransaction(self, cursor).query(template, params)

    def create_tables(self, statements: Sequence[str]) -> None:
        self.tracking.create_table()
        with self.transaction() as tx:
            for statement in statements:
                tx.execute(statement)
