"""The read models' JSON for PostgreSQL (`storage.dialect.pg_json`) is the document
`json` writes, as jsonb keeps it: equal once parsed, and equal as jsonb on the server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.dialect import _JSON, pg_json
from tests.conftest import pg_admin

# What read models put in their JSON columns: text, decimals (as the domain holds
# numbers), ids, dates and moments, and plain JSON values, nested.
leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.uuids()
    | st.dates()
    | st.datetimes(timezones=st.just(UTC))
)
documents = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=20,
).filter(lambda document: isinstance(document, dict | list))
# jsonb refuses NUL in text, so the server comparison leaves it out.
storable = st.recursive(
    leaves.filter(lambda leaf: not (isinstance(leaf, str) and "\x00" in leaf)),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.text().filter(lambda key: "\x00" not in key), inner, max_size=5)
    ),
    max_leaves=20,
).filter(lambda document: isinstance(document, dict | list))


@given(documents)
def test_a_document_parses_as_the_one_json_writes(document: dict[Any, Any] | list[Any]) -> None:
    assert json.loads(pg_json(document)) == json.loads(_JSON.encode(document))


def test_what_orjson_refuses_is_written_by_json() -> None:
    for document in ({"n": 2**70}, {1: "one", 2: "two"}, ["\ud800"]):
        assert pg_json(document) == _JSON.encode(document)


def test_dates_moments_decimals_and_ids_are_written_as_json_writes_them() -> None:
    document = {
        "on": date(2026, 12, 1),
        "at": datetime(2026, 12, 1, 9, 30, 0, 5, tzinfo=UTC),
        "value": Decimal("1E-7"),
        "id": UUID(int=7),
    }
    assert json.loads(pg_json(document)) == {
        "on": "2026-12-01",
        "at": "2026-12-01 09:30:00.000005+00:00",
        "value": "0.0000001",
        "id": "00000000-0000-0000-0000-000000000007",
    }


@pytest.fixture(scope="module")
def server() -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    with pg_admin() as conn:
        yield conn


@pytest.mark.postgres
@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=storable)
def test_the_server_holds_the_same_jsonb(
    server: psycopg.Connection[tuple[Any, ...]], document: dict[Any, Any] | list[Any]
) -> None:
    row = server.execute(
        "SELECT %s::jsonb = %s::jsonb", (pg_json(document), _JSON.encode(document))
    ).fetchone()
    assert row == (True,)
