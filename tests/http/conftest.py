"""The API over real HTTP: uvicorn in a thread, a ledger on PostgreSQL, an httpx client.

Every test gets its own server on a free port, over its own PostgreSQL schema, so tests
never meet, whether run in one process or spread over `-n 2` workers. (A module whose
requests are all refused may share one server between its tests: test_problems.py.)
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from psycopg import sql

from api.app import create_app
from application.ledger import GoalLedger
from application.stores import open_ledger
from domain.access import Role
from projections.registry import worker_for
from tests.conftest import pg_admin, pg_url_for

# The quarter every story lives in; it lies wholly in the past, so check-ins name a day.
CYCLE = {"id": "2026-Q3", "starts_on": "2026-07-01", "ends_on": "2026-09-30"}
PROBLEM_JSON = "application/problem+json"
STARTUP_TIMEOUT = 10.0
# The change report's CSV header, as an auditor's spreadsheet reads it.
CHANGE_REPORT_COLUMNS = [
    "position",
    "goal_kind",
    "goal_id",
    "title",
    "owner",
    "event",
    "subject_id",
    "actor",
    "recorded_at",
    "effective_on",
    "reason",
    "reason_code",
    "value_before",
    "value_after",
    "target_before",
    "target_after",
    "baseline_before",
    "baseline_after",
    "weight_before",
    "weight_after",
    "before",
    "after",
    "flags",
]
Headers = dict[str, str]


@dataclass(frozen=True)
class LiveServer:
    """A running API: where it listens and the ledger behind it (to inspect the history)."""

    url: str
    ledger: GoalLedger


@contextmanager
def serve(ledger: GoalLedger, read_ledgers: Sequence[GoalLedger] = ()) -> Iterator[LiveServer]:
    """Run `create_app(ledger)` under uvicorn on a free port until the block ends
    (reading from standbys through `read_ledgers`, when given: ADR 31).

    Port 0 lets the kernel choose, so parallel workers cannot race for a port; the port
    is read back from the listening socket once uvicorn reports it has started. Shutting
    down runs the app's lifespan, which closes the ledger.
    """
    config = uvicorn.Config(
        app=create_app(ledger, read_ledgers=read_ledgers),
        host="127.0.0.1",
        port=0,
        lifespan="on",
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    # Polling the started flag is the one wait uvicorn offers; it does not time the test.
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(timeout=STARTUP_TIMEOUT)
            ledger.close()
            pytest.fail("uvicorn did not start (see its log above)", pytrace=False)
        time.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", ledger=ledger)
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT)
        assert not thread.is_alive(), "uvicorn did not shut down"


def initialised_ledger(url: str) -> GoalLedger:
    """A ledger on a store as `goalpost db init` leaves it: event and read-model tables."""
    ledger = open_ledger(url, create_tables=True)
    worker_for(ledger).create_tables()
    return ledger


@pytest.fixture
def live(pg_url: str) -> Iterator[LiveServer]:
    """The API on PostgreSQL, listening on 127.0.0.1."""
    with serve(initialised_ledger(pg_url)) as server:
        yield server


@pytest.fixture(scope="module")
def module_pg_url(pg_database: str) -> Iterator[str]:
    """A schema for a whole module, for modules whose tests store nothing (cheaper)."""
    schema = f"m_{secrets.token_hex(6)}"
    with pg_admin(pg_database) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield pg_url_for(pg_database, schema)
    finally:
        with pg_admin(pg_database) as conn:
            conn.execute("SET lock_timeout = '10s'")
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def ledger(live: LiveServer) -> GoalLedger:
    """The ledger the live server writes to (overrides the store-parametrised one)."""
    return live.ledger


@pytest.fixture
def client(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=10.0) as http:
        yield http


class Tokens:
    """Bearer tokens issued straight on the ledger, as `goalpost tokens issue` would."""

    def __init__(self, ledger: GoalLedger) -> None:
        self.ledger = ledger

    def issue(
        self,
        subject: str,
        *roles: Role | str,
        team: str | None = None,
        reports: list[str] | None = None,
    ) -> str:
        token, _ = self.ledger.issue_token(
            actor="bootstrap", subject=subject, roles=list(roles), team=team, reports=reports
        )
        return token

    def headers(
        self,
        subject: str,
        *roles: Role | str,
        team: str | None = None,
        reports: list[str] | None = None,
    ) -> Headers:
        return bearer(self.issue(subject, *roles, team=team, reports=reports))


def bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def tokens(ledger: GoalLedger) -> Tokens:
    return Tokens(ledger)


@pytest.fixture
def admin(tokens: Tokens) -> Headers:
    return tokens.headers("root", Role.ADMIN)


def objective_body(owner: str, **overrides: Any) -> dict[str, Any]:
    return {
        "cycle_id": CYCLE["id"],
        "title": "Stop the leaky bucket",
        "owner": owner,
        "kind": "committed",
        **overrides,
    }


def key_result_body(objective_id: str, owner: str, **overrides: Any) -> dict[str, Any]:
    """NPS from 32 to 50, the spec's own example."""
    return {
        "objective_id": objective_id,
        "title": "NPS from 32 to 50",
        "owner": owner,
        "unit": "points",
        "direction": "increase",
        "baseline": "32",
        "target": "50",
        "weight": "1",
        "measurement": {"source": "survey", "query": "promoters - detractors"},
        "effective_on": "2026-07-01",
        **overrides,
    }


def check_in_body(value: str = "41", **overrides: Any) -> dict[str, Any]:
    return {
        "value": value,
        "confidence": "on_track",
        "note": "playbook rolled out",
        "effective_on": "2026-08-15",
        **overrides,
    }


def created(response: httpx.Response) -> dict[str, Any]:
    """The body of a 201, after checking what every creation carries."""
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert response.headers["ETag"] == f'"{body["version"]}"'
    assert response.headers["Location"].endswith(f"/{body['id']}")
    return body


def same_write(first: dict[str, Any], retry: dict[str, Any]) -> bool:
    """A replayed write names the same goal, version and check-in as the first.

    `position` (the log position the write took) is left out: the API documents it as
    absent on a replay; `test_a_replay_is_byte_for_byte_the_first_response` holds that.
    """
    return {k: v for k, v in first.items() if k != "position"} == {
        k: v for k, v in retry.items() if k != "position"
    }


def ok(response: httpx.Response) -> dict[str, Any]:
    """The body of a 200 write or read, after checking its ETag."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert response.headers["ETag"] == f'"{body["version"]}"'
    return body


def problem(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem with this status, naming `field` where one is at fault."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("/problems/") and body["title"] and body["detail"]
    if field is not None:
        assert body.get("field") == field, body
        if "errors" in body:
            assert field in [e["field"] for e in body["errors"]], body
    return body


class Goals:
    """Builders that go through HTTP, as a client would; each returns the 201 body."""

    def __init__(self, client: httpx.Client, admin: Headers) -> None:
        self.client = client
        self.admin = admin

    def open_cycle(self, headers: Headers | None = None) -> dict[str, Any]:
        return created(self.client.post("/v1/cycles", json=CYCLE, headers=headers or self.admin))

    def objective(
        self, owner: str = "analyst", headers: Headers | None = None, **overrides: Any
    ) -> dict[str, Any]:
        response = self.client.post(
            "/v1/objectives",
            json=objective_body(owner, **overrides),
            headers=headers or self.admin,
        )
        return created(response)

    def key_result(
        self,
        objective_id: str,
        owner: str = "analyst",
        headers: Headers | None = None,
        **overrides: Any,
    ) -> dict[str, Any]:
        response = self.client.post(
            "/v1/key-results",
            json=key_result_body(objective_id, owner, **overrides),
            headers=headers or self.admin,
        )
        return created(response)

    def check_in(
        self, key_result_id: str, headers: Headers | None = None, **overrides: Any
    ) -> dict[str, Any]:
        response = self.client.post(
            f"/v1/key-results/{key_result_id}/check-ins",
            json=check_in_body(**overrides),
            headers=headers or self.admin,
        )
        return created(response)

    def kpi(self, owner: str = "analyst", headers: Headers | None = None) -> dict[str, Any]:
        response = self.client.post("/v1/kpis", json=kpi_body(owner), headers=headers or self.admin)
        return created(response)


def kpi_body(owner: str, **overrides: Any) -> dict[str, Any]:
    """First-response time at most 2 hours, healthy between 0 and 2."""
    return {
        "area": "Customer support",
        "name": "First-response time",
        "owner": owner,
        "unit": "hours",
        "definition": {
            "formula": "median(first_reply_at - opened_at)",
            "data_source": "helpdesk",
            "cadence": "weekly",
        },
        "direction": "stay_below",
        "target": "2",
        "healthy_low": "0",
        "healthy_high": "2",
        "target_set_on": "2026-07-01",
        **overrides,
    }


@pytest.fixture
def goals(client: httpx.Client, admin: Headers) -> Goals:
    return Goals(client, admin)


def open_quarter(goals: Goals) -> dict[str, Any]:
    """2026-Q3 open, with the analyst's objective and her NPS key result, created by an admin."""
    cycle = goals.open_cycle()
    objective = goals.objective("analyst")
    key_result = goals.key_result(objective["id"], "analyst")
    return {"cycle": cycle, "objective": objective, "key_result": key_result}


@pytest.fixture
def quarter(goals: Goals) -> dict[str, Any]:
    return open_quarter(goals)


def position(ledger: GoalLedger) -> int:
    """The log's last position: unchanged when a request stored nothing."""
    return ledger.recorder.max_notification_id() or 0


def events_since(ledger: GoalLedger, since: int) -> int:
    """How many events were stored after a position.

    Not a difference of positions: PostgreSQL sequences leave gaps where an insert
    lost a race and rolled back.
    """
    return len(ledger.recorder.select_notifications(start=since + 1, limit=1000))
