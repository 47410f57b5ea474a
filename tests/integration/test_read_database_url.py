"""GOALPOST_READ_DATABASE_URL: the standbys reads go to, checked before anything is served
(ADR 31). Reads from a real standby: tests/http/test_standby.py."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from storage.settings import StoreUrlError, read_database_urls
from tests.conftest import PG_HOST, PG_PORT, PG_USER

PRIMARY = "postgresql://goalpost@db-1.internal:5432/goalpost?schema=okr"


def test_one_or_more_standbys_separated_by_commas() -> None:
    assert read_database_urls(PRIMARY, "") == []
    assert read_database_urls(PRIMARY, " , ") == []
    one = "postgresql://goalpost@db-2.internal/goalpost?schema=okr"
    two = "postgresql://goalpost:secret@db-3.internal:6432/goalpost?schema=okr&pool_size=20"
    assert read_database_urls(PRIMARY, one) == [one]
    assert read_database_urls(PRIMARY, f" {one} ,{two} ") == [one, two]


REFUSED = {
    # A standby is a copy of the primary's cluster: other names hold something else.
    "schema": (PRIMARY, "db-2/goalpost?schema=public", "schema must be the primary's ('okr')"),
    "default schema": (PRIMARY, "db-2/goalpost", "schema must be the primary's ('okr')"),
    "database": (PRIMARY, "db-2/reporting?schema=okr", "database must be the primary's"),
    "no database": (PRIMARY, "db-2/?schema=okr", "GOALPOST_READ_DATABASE_URL: no database"),
    "sqlite standby": (
        PRIMARY,
        "sqlite:///copy.sqlite",
        "standbys (postgresql://...), not 'sqlite'",
    ),
    "sqlite primary": (
        "sqlite:///goalpost.sqlite",
        "db-2/goalpost",
        "name their PostgreSQL primary",
    ),
}


@pytest.mark.parametrize(("primary", "standby", "said"), REFUSED.values(), ids=REFUSED.keys())
def test_a_standby_that_cannot_be_the_primarys_copy_is_refused(
    primary: str, standby: str, said: str
) -> None:
    url = standby if "://" in standby else f"postgresql://goalpost@{standby}"
    fine = "postgresql://goalpost@db-3/goalpost?schema=okr"
    with pytest.raises(StoreUrlError) as refused:
        read_database_urls(primary, f"{fine},{url}")
    assert said in str(refused.value)


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A port bound but not listening: connections to it are refused."""
    with socket.socket() as bound:
        bound.bind((PG_HOST, 0))
        yield bound.getsockname()[1]


def serve(primary: str, standbys: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from cli.main import app; app()", "serve", "--port", "0"],
        env={
            **os.environ,
            "GOALPOST_DATABASE_URL": primary,
            "GOALPOST_READ_DATABASE_URL": standbys,
        },
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


@pytest.mark.postgres
def test_serve_stops_in_one_line_when_a_standby_does_not_answer(refusing_port: int) -> None:
    primary = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/postgres"
    standby = f"postgresql://{PG_USER}@{PG_HOST}:{refusing_port}/postgres"
    finished = serve(primary, standby)

    assert finished.returncode == 1, finished.stderr
    assert "Traceback" not in finished.stderr
    [line] = finished.stderr.strip().splitlines()
    assert line.startswith("error: ") and f"{PG_HOST}:{refusing_port}" in line
    assert "connection refused" in line
    assert "Serving" not in finished.stdout


@pytest.mark.postgres
def test_serve_refuses_a_standby_url_for_another_schema() -> None:
    primary = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/postgres?schema=okr"
    finished = serve(primary, f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/postgres")

    assert finished.returncode == 2, finished.stderr
    [line] = finished.stderr.strip().splitlines()
    assert line.startswith("error: GOALPOST_READ_DATABASE_URL: a standby's schema")
    assert "Serving" not in finished.stdout
