"""Typed columns, decoded once where rows are read, alike from either store.

PostgreSQL returns native types (uuid, date, timestamptz, numeric, jsonb); SQLite keeps
exact decimals, times, ids and JSON as text. A read names the types of the columns it
needs decoded (`types=`) and gets rows that look the same from both stores, so the read
models' dataclasses are built from one row shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson

Decoder = Callable[[Any], Any]
Row = dict[str, Any]


def uuid_value(value: Any) -> UUID | None:
    if value is None or isinstance(value, UUID):
        return value
    return UUID(str(value))


def day(value: Any) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    return date.fromisoformat(str(value))


def moment(value: Any) -> datetime | None:
    """A moment in UTC (SQLite keeps ISO 8601 text with its offset)."""
    if value is None:
        return None
    found = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return found.astimezone(UTC) if found.tzinfo is not None else found.replace(tzinfo=UTC)


def exact(value: Any) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value))


# A run of 19 digits may be an integer past 64 bits, which orjson reads as a float.
_LONG_DIGITS = re.compile(r"[0-9]{19}")
_LONG_DIGITS_BYTES = re.compile(rb"[0-9]{19}")


def json_loads(text: str | bytes | memoryview) -> Any:
    """JSON a read model stored, parsed as `json.loads` parses it, faster (ADR 48).

    Evidence of a heavy person decodes three JSON columns of each of thousands of trail
    rows, and `json.loads` was a third of its time. orjson differs from `json` beyond the
    standard: it refuses NaN and Infinity, and turns integers past 64 bits into floats.
    Those documents go to `json`, so a document parses alike either way, and a malformed
    one fails either way.
    """
    # psycopg hands over a memoryview, which the regex and orjson read as it is.
    digits = _LONG_DIGITS if type(text) is str else _LONG_DIGITS_BYTES
    # Most documents are a few characters (`{}`, `[]`): too short to hold 19 digits.
    if len(text) < 19 or digits.search(text) is None:  # type: ignore[arg-type]
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(bytes(text) if isinstance(text, memoryview) else text)


def json_value(value: Any) -> Any:
    # jsonb comes back parsed from PostgreSQL (with json_loads, storage/postgres.py);
    # SQLite keeps the text.
    return json_loads(value) if isinstance(value, str) else value


def flag(value: Any) -> bool | None:
    return None if value is None else bool(value)


def decode(rows: list[Row], types: Mapping[str, Decoder]) -> list[Row]:
    """Each row with the named columns decoded; other columns as the store returned them."""
    if not types or not rows:
        return rows
    # Every row of a query has the same columns: look them up once, not once a row.
    present = [(column, decoder) for column, decoder in types.items() if column in rows[0]]
    for row in rows:
        for column, decoder in present:
            row[column] = decoder(row[column])
    return rows
