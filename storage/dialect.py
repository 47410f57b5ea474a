"""One read-model SQL text, two dialects: table names, column types, placeholders, values.

Read models are written once, with `%s` placeholders, `{name}` table references and
`{uuid}`-style column types; this module turns them into PostgreSQL (native types, a
schema) or SQLite (text for exact decimals and times, `?` placeholders). Table names come
from code and are checked against a strict pattern, never from input; they enter the SQL
as identifiers, composed with psycopg.sql (double-quoted, which SQLite reads alike).

A read model can be rebuilt beside the live one, as a new generation of its tables:
generation 1 has the plain names (`goalpost_audit_trail`), generation N a suffix
(`goalpost_audit_trail__gN`, its indexes likewise).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

import orjson
from psycopg.sql import SQL, Composable, Identifier

Dialect = Literal["postgresql", "sqlite"]
# Read-model SQL: text, or psycopg.sql composed from parts (never f-strings of input).
Template = str | Composable

TABLE_PREFIX = "goalpost_"
FIRST_GENERATION = 1

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,50}$")
_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
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
TYPES: dict[Dialect, dict[str, str]] = {
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


def qualified(schema: str, name: str) -> Identifier:
    """A table of ours: in the schema on PostgreSQL (`schema`), plain on SQLite (``)."""
    return Identifier(schema, name) if schema else Identifier(name)


def render(statement: Composable, dialect: Dialect) -> str:
    """Composed SQL as text for the dialect (SQLite takes `?` for each `%s`)."""
    text = statement.as_string(None)
    return text.replace("%s", "?") if dialect == "sqlite" else text


class Resolver:
    """Fills a read model's `{name}` placeholders with its tables and column types."""

    def __init__(self, dialect: Dialect, schema: str) -> None:
        self.dialect: Dialect = dialect
        self.schema = schema
        self._types = {name: SQL(type_) for name, type_ in TYPES[dialect].items()}
        self._cache: dict[tuple[str, tuple[tuple[str, int], ...]], str] = {}
        self.params: Callable[[Sequence[Any]], list[Any]] = (
            _sqlite_params if dialect == "sqlite" else _pg_params
        )

    def table(self, name: str, generation: int) -> Identifier:
        """One generation of a read model's table, as an identifier."""
        if not _NAME.match(name):
            raise ValueError(f"not a read-model table name: {name!r}")
        return qualified(self.schema, f"{TABLE_PREFIX}{name}{generation_suffix(generation)}")

    def sql(self, template: Template, generations: Mapping[str, int]) -> str:
        """The template as the dialect's text, each table at its generation here."""
        if not isinstance(template, str):
            # Composed without a connection: only SQL and Identifier parts, no literals.
            template = template.as_string(None)
        key = (template, tuple(sorted((t, g) for t, g in generations.items() if g != 1)))
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        parts = {
            name: self._types[name]
            if name in self._types
            else self.table(name, generations.get(name, FIRST_GENERATION))
            for name in set(_PLACEHOLDER.findall(template))
        }
        filled = render(SQL(template).format(**parts), self.dialect)
        self._cache[key] = filled
        return filled


def _json_default(value: Any) -> str:
    # Decimals without exponent notation (never 1E-7), in the form they were given.
    return format(value, "f") if isinstance(value, Decimal) else str(value)


# What json.dumps(value, sort_keys=True, default=_json_default) writes: that call builds
# a new encoder each time, a cost a rebuild paid three times an event.
_JSON = json.JSONEncoder(sort_keys=True, default=_json_default)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return _JSON.encode(value)
    return value


def _sqlite_params(params: Sequence[Any]) -> list[Any]:
    return [_sqlite_value(p) for p in params]


# Dates and dataclasses go to the default as `json` sends them (orjson would write its
# own forms); NaN and unsupported keys or integers raise, and then `json` writes them.
_ORJSON = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def pg_json(value: dict[Any, Any] | list[Any]) -> str:
    """JSON for a jsonb column, as `_JSON` writes it once parsed.

    A rebuild writes three JSON documents an audit-trail row, and `_JSON` took a tenth
    of the one pass. orjson writes the same documents faster, differing only in what
    jsonb does not keep: spacing, escapes of characters past ASCII, and the exponent's
    form. It refuses what `json` accepts (integers past 64 bits, keys that are not text):
    those go to `json`. A float NaN, which `json` writes and jsonb then refuses, orjson
    writes as null; read models write no floats (numbers are decimals, sent as text).
    """
    try:
        return orjson.dumps(value, default=_json_default, option=_ORJSON).decode()
    except orjson.JSONEncodeError:
        return _JSON.encode(value)


def _pg_params(params: Sequence[Any]) -> list[Any]:
    # PostgreSQL adapts the rest itself; JSON goes as text, its keys sorted.
    return [pg_json(p) if isinstance(p, dict | list) else p for p in params]
