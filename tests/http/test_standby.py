"""Reads from a real streaming standby (ADR 31), over real HTTP.

The API writes to the primary and reads read models and the feed from a hot standby the
fixture makes of the test server (`pg_basebackup -R`, `pg_ctl`, a free port; stopped and
removed afterwards). The worker runs on the primary; its rows and positions reach the
standby by replication alone.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api import consistency
from application.ledger import GoalLedger
from application.stores import open_ledger
from domain.access import Role
from projections.registry import worker_for
from storage.settings import store_env
from tests.http.conftest import (
    Goals,
    Headers,
    LiveServer,
    Tokens,
    initialised_ledger,
    open_quarter,
    position,
    problem,
    serve,
)
from tests.http.test_read_positions import READ_ROUTES, get, urls
from tests.standby import Standby, streaming_standby

pytestmark = pytest.mark.postgres

STANDBY = "standby-1"
# Long enough to see that a read waited, short enough for the suite.
PATIENCE = 1.0


@pytest.fixture(scope="module")
def standby() -> Iterator[Standby]:
    """One standby for the module: it streams every schema the tests make after it."""
    with streaming_standby() as made:
        yield made


@pytest.fixture
def live(pg_url: str, standby: Standby) -> Iterator[LiveServer]:
    """The API on the primary, reading from the standby (GOALPOST_READ_DATABASE_URL)."""
    ledger = initialised_ledger(pg_url)
    # The tables `db init` made exist on the standby only once it has replayed them.
    standby.catch_up()
    with serve(ledger, read_ledgers=[open_ledger(standby.url_for(pg_url))]) as server:
        yield server


@pytest.fixture
def patience(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(consistency, "READ_YOUR_WRITES_TIMEOUT", PATIENCE)


@pytest.fixture
def service(tokens: Tokens) -> Headers:
    return tokens.headers("crm-sync", Role.SERVICE)


def project(ledger: GoalLedger) -> int:
    """The worker, on the primary, until its read models hold the whole log."""
    worker_for(ledger).run_until_caught_up()
    return position(ledger)


def metric(text: str, name: str, **labels: str) -> float:
    """One sample of the Prometheus text `/metrics` answers."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    found = re.search(rf"^{re.escape(name)}\{{{re.escape(wanted)}\}} (\S+)$", text, re.MULTILINE)
    assert found is not None, f"{name}{{{wanted}}} not in /metrics:\n{text}"
    return float(found.group(1))


def history(
    client: httpx.Client, key_result_id: str, headers: Headers, **params: Any
) -> httpx.Response:
    return client.get(f"/v1/key-results/{key_result_id}/history", headers=headers, params=params)


def values(response: httpx.Response) -> list[str]:
    """The values the check-ins in a history page recorded."""
    assert response.status_code == 200, response.text
    return [
        entry["after"]["value"]
        for entry in response.json()["items"]
        if entry["event"] == "check_in_recorded"
    ]


def test_a_write_on_the_primary_is_read_back_from_the_standby_with_min_position(
    client: httpx.Client, goals: Goals, admin: Headers, ledger: GoalLedger, standby: Standby
) -> None:
    quarter = open_quarter(goals)
    key_result = quarter["key_result"]["id"]
    written = goals.check_in(key_result, value="41")["position"]
    project(ledger)

    # Read your own write: the standby waits until it has replayed it, then answers.
    read = history(client, key_result, admin, min_position=written)
    assert read.headers["Goalpost-Read-From"] == STANDBY
    assert int(read.headers["Goalpost-Position"]) >= written
    assert values(read) == ["41"]

    # Every read-model route reads from the standby, with nothing on the way written
    # there (it is read-only: any write would fail).
    kpi = goals.kpi()
    head = project(ledger)
    for route, url in urls(quarter, kpi).items():
        answered = get(client, url, admin, min_position=head)
        assert answered.status_code == 200, (route, answered.text)
        assert answered.headers["Goalpost-Read-From"] == STANDBY, route
        assert int(answered.headers["Goalpost-Position"]) >= head, route
    assert len(READ_ROUTES) == 9

    # Another day's scores are replayed from the goals, on the primary, and say so.
    replayed = client.get(
        "/v1/scores", headers=admin, params={"cycle_id": "2026-Q3", "as_of": "2026-08-31"}
    )
    assert replayed.status_code == 200, replayed.text
    assert replayed.headers["Goalpost-Read-From"] == "primary"
    listed = client.get("/v1/cycles", headers=admin, params={"as_of": "2026-08-31"})
    assert listed.status_code == 200, listed.text
    assert listed.headers["Goalpost-Read-From"] == "primary"

    # Writes and goal reads go to the primary, and say nothing of a standby.
    goal = client.get(f"/v1/key-results/{key_result}", headers=admin)
    assert goal.status_code == 200 and "Goalpost-Read-From" not in goal.headers


def test_the_feed_is_read_from_the_standby(
    client: httpx.Client,
    goals: Goals,
    service: Headers,
    ledger: GoalLedger,
    standby: Standby,
) -> None:
    quarter = open_quarter(goals)
    written = goals.check_in(quarter["key_result"]["id"], value="44")["position"]
    standby.catch_up()

    page = client.get("/v1/events", headers=service)
    assert page.status_code == 200, page.text
    assert page.headers["Goalpost-Read-From"] == STANDBY
    body = page.json()
    assert body["events"][-1]["position"] == written
    assert body["events"][-1]["data"]["value"] == "44"

    with client.stream("GET", "/v1/events/stream", headers=service) as stream:
        assert stream.status_code == 200
        assert stream.headers["Goalpost-Read-From"] == STANDBY


def test_a_paused_standby_serves_what_it_has_and_refuses_min_position_after_waiting(
    client: httpx.Client,
    goals: Goals,
    admin: Headers,
    service: Headers,
    ledger: GoalLedger,
    standby: Standby,
    patience: None,
) -> None:
    quarter = open_quarter(goals)
    key_result = quarter["key_result"]["id"]
    goals.check_in(key_result, value="41")
    project(ledger)
    standby.catch_up()

    standby.pause()
    try:
        # Written and projected on the primary, received by the standby, not replayed.
        written = goals.check_in(key_result, value="45", effective_on="2026-08-22")["position"]
        head = project(ledger)
        standby.receive()

        # A read that does not wait is served by the standby, as it stands: without it.
        now = history(client, key_result, admin)
        assert now.headers["Goalpost-Read-From"] == STANDBY
        assert values(now) == ["41"]
        assert int(now.headers["Goalpost-Log-Head"]) < written

        # Asking for the write: the standby waits for it, then says it is behind.
        started = time.monotonic()
        behind = history(client, key_result, admin, min_position=written)
        waited = time.monotonic() - started
        found = problem(behind, 503)
        assert found["type"] == "/problems/projection-behind"
        assert found["min_position"] == written > found["position"]
        assert behind.headers["Goalpost-Read-From"] == STANDBY
        assert behind.headers["Retry-After"] == "1"
        assert waited >= PATIENCE

        # Only a position no write was given is the caller's error, as on the primary.
        past = history(client, key_result, admin, min_position=head + 1000)
        problem(past, 422, field="min_position")

        # The feed: a cursor the primary has reached is good, the standby's page waits.
        cursor = client.get("/v1/events", headers=service, params={"after": written})
        assert cursor.status_code == 200, cursor.text
        assert cursor.json()["events"] == [] and cursor.json()["next_after"] == written

        # Readiness and metrics show the standby's replay lag and what it holds.
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        shown = ready.json()["standbys"][STANDBY]
        assert shown["status"] == "paused"
        assert shown["replay_lag_bytes"] > 0
        assert shown["replay_lag_seconds"] >= 0
        assert shown["position"] < written and shown["lag"] >= head - shown["position"] > 0
        assert shown["read_models"]["audit_trail"]["lag"] > 0
        metrics = client.get("/metrics").text
        assert metric(metrics, "goalpost_standby_up", standby=STANDBY) == 1
        assert metric(metrics, "goalpost_standby_replay_paused", standby=STANDBY) == 1
        assert metric(metrics, "goalpost_standby_replay_lag_bytes", standby=STANDBY) > 0
        assert metric(metrics, "goalpost_standby_replay_lag_seconds", standby=STANDBY) >= 0
        assert metric(metrics, "goalpost_standby_log_lag", standby=STANDBY) > 0
        lag = metric(
            metrics, "goalpost_standby_read_model_lag", standby=STANDBY, read_model="audit_trail"
        )
        assert lag >= head - written + 1
    finally:
        standby.resume()

    # Replaying again, the standby catches up and the same read answers.
    again = history(client, key_result, admin, min_position=written)
    assert again.headers["Goalpost-Read-From"] == STANDBY
    assert values(again) == ["41", "45"]
    standby.catch_up()
    shown = client.get("/readyz").json()["standbys"][STANDBY]
    assert shown["status"] == "streaming"
    # In positions, exactly; in bytes it varies with whatever else the server is writing.
    assert shown["lag"] == 0
    assert all(model["lag"] == 0 for model in shown["read_models"].values())


def test_readiness_names_a_standby_that_stops_answering(pg_url: str) -> None:
    # A standby of its own, which this test stops; its pool gives up within a second.
    with streaming_standby() as failing:
        ledger = initialised_ledger(pg_url)
        failing.catch_up()
        env = {**store_env(failing.url_for(pg_url)), "POSTGRES_CONNECT_TIMEOUT": "1"}
        with serve(ledger, read_ledgers=[GoalLedger(env=env)]) as server:
            assert httpx.get(f"{server.url}/readyz").status_code == 200
            failing.stop()
            ready = httpx.get(f"{server.url}/readyz")
            metrics = httpx.get(f"{server.url}/metrics").text
    found = ready.json()
    assert ready.status_code == 503, found
    assert found["status"] == "standby-unavailable"
    assert STANDBY in found["detail"]
    assert found["standbys"][STANDBY]["status"] == "unavailable"
    assert metric(metrics, "goalpost_standby_up", standby=STANDBY) == 0


def test_with_no_standby_reads_say_they_come_from_the_primary(pg_url: str) -> None:
    with serve(initialised_ledger(pg_url)) as server, httpx.Client(base_url=server.url) as http:
        admin = Tokens(server.ledger).headers("root", Role.ADMIN)
        goals = Goals(http, admin)
        quarter = open_quarter(goals)
        written = goals.check_in(quarter["key_result"]["id"])["position"]
        project(server.ledger)
        read = history(http, quarter["key_result"]["id"], admin, min_position=written)
        assert read.headers["Goalpost-Read-From"] == "primary"
        assert "standbys" not in http.get("/readyz").json()
        assert "goalpost_standby" not in http.get("/metrics").text
