"""Every read-model route says where it stands against the log, and refuses what it cannot
answer (ADR 25), over real HTTP on PostgreSQL with no worker running: as an API process
whose `goalpost worker` is stopped, or was never started.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from api import consistency
from application.ledger import GoalLedger
from domain.access import Role
from projections.registry import READ_MODELS, worker_for
from tests.http.conftest import (
    Goals,
    Headers,
    Tokens,
    initialised_ledger,
    open_quarter,
    position,
    problem,
    serve,
)

pytestmark = pytest.mark.postgres

PATIENCE = 10.0
# What each read-model route reads, and whether it must hold the whole log.
READ_ROUTES = {
    "/v1/key-results/{key_result_id}/history": "audit_trail",
    "/v1/objectives/{objective_id}/history": "audit_trail",
    "/v1/kpis/{kpi_id}/history": "audit_trail",
    "/v1/kpis/health": "kpi_health",
    "/v1/cycles/{cycle_id}/changes": "audit_trail",
    "/v1/people/{person}/evidence": "audit_trail",
    "/v1/scores": "scores",
    "/v1/cycles": "scores",
    "/v1/audit/verify": "seal",
}
COMPLETE = {"/v1/cycles/{cycle_id}/changes", "/v1/people/{person}/evidence"}


@pytest.fixture
def impatient(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads wait a moment, not the five seconds they give a worker that is running."""
    monkeypatch.setattr(consistency, "READ_YOUR_WRITES_TIMEOUT", 0.3)


def project(ledger: GoalLedger) -> int:
    """The worker, run here until the read models hold the whole log."""
    worker_for(ledger).run_until_caught_up()
    return position(ledger)


def eventually(condition: Callable[[], bool], what: str) -> None:
    """Poll the server until it says so (time must pass: a stall is measured in seconds)."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        time.sleep(0.05)


def urls(quarter: dict[str, Any], kpi: dict[str, Any]) -> dict[str, str]:
    """Each read-model route, filled in for the quarter's goals."""
    return {
        route: route.format(
            key_result_id=quarter["key_result"]["id"],
            objective_id=quarter["objective"]["id"],
            kpi_id=kpi["id"],
            cycle_id=quarter["cycle"]["id"],
            person="analyst",
        )
        + ("?from=2026-07-01&to=2026-09-30" if route.endswith("/evidence") else "")
        for route in READ_ROUTES
    }


def get(client: httpx.Client, url: str, headers: Headers, **params: Any) -> httpx.Response:
    joined = "&".join(f"{k}={v}" for k, v in params.items())
    if joined:
        url += ("&" if "?" in url else "?") + joined
    return client.get(url, headers=headers)


def stands(response: httpx.Response, head: int) -> tuple[int, int]:
    """The position and log head a 200 carries, the same in its headers and its body."""
    assert response.status_code == 200, response.text
    read, log_head = (
        int(response.headers["Goalpost-Position"]),
        int(response.headers["Goalpost-Log-Head"]),
    )
    assert read <= log_head and log_head >= head
    body = response.json()
    if "log_head" in body:
        assert (body["position"], body["log_head"]) == (read, log_head)
    else:
        # Evidence: the body is the same bytes for the same known_at, so headers only.
        assert response.request.url.path.endswith("/evidence")
    return read, log_head


def test_with_the_worker_stopped_every_read_model_route_waits_for_min_position_then_refuses(
    client: httpx.Client, goals: Goals, admin: Headers, ledger: GoalLedger, impatient: None
) -> None:
    # A quarter, its read models caught up; then the worker stops and the analyst checks in.
    quarter = open_quarter(goals)
    kpi = goals.kpi()
    project(ledger)
    written = goals.check_in(quarter["key_result"]["id"])["position"]

    # Every read-model route waits for that write, then says it has not got there.
    for route, url in urls(quarter, kpi).items():
        behind = get(client, url, admin, min_position=written)
        found = problem(behind, 503)
        assert found["type"] == "/problems/projection-behind", (route, found)
        assert found["read_model"] == READ_ROUTES[route]
        assert found["min_position"] == written > found["position"]
        assert found["log_head"] >= written
        assert behind.headers["Retry-After"] == "1"
        assert int(behind.headers["Goalpost-Position"]) == found["position"]

    # With the worker back, each answers, from a read model holding the write.
    head = project(ledger)
    for url in urls(quarter, kpi).values():
        read, _ = stands(get(client, url, admin, min_position=written), head)
        assert read >= written


def test_the_openapi_document_gives_every_read_model_route_min_position(
    client: httpx.Client,
) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for route in READ_ROUTES:
        parameters = {p["name"]: p for p in paths[route]["get"]["parameters"]}
        assert parameters["min_position"]["in"] == "query", route
        assert "503" in paths[route]["get"]["responses"], route


def test_with_no_worker_at_all_reads_say_how_far_behind_and_complete_reports_refuse(
    client: httpx.Client, goals: Goals, admin: Headers, ledger: GoalLedger, impatient: None
) -> None:
    # `goalpost db init` ran, a quarter was written, and no worker ever started.
    quarter = open_quarter(goals)
    kpi = goals.kpi()
    goals.check_in(quarter["key_result"]["id"])
    head = position(ledger)
    routes = urls(quarter, kpi)

    # Scores, KPI health and history answer, and say they reflect none of it.
    for route, url in routes.items():
        if route in COMPLETE:
            continue
        read, log_head = stands(get(client, url, admin), head)
        assert read < log_head == head, route
    scores = get(client, routes["/v1/scores"], admin).json()
    assert scores["key_results"] == [] and scores["position"] == 0

    # The change report and evidence must hold every event: they wait, then refuse.
    for route in COMPLETE:
        for accept in ("application/json", "text/csv" if "changes" in route else "text/html"):
            refused = client.get(routes[route], headers={**admin, "Accept": accept})
            found = problem(refused, 503)
            assert found["type"] == "/problems/projection-behind", route
            assert found["read_model"] == "audit_trail"
            assert found["min_position"] == found["log_head"] == head
            assert int(refused.headers["Goalpost-Log-Head"]) == head

    # Caught up, every route answers from the whole log, in headers and body alike; evidence
    # last, as reading it records the read (ADR 42).
    project(ledger)
    for url in sorted(routes.values(), key=lambda u: "/evidence?" in u):
        assert stands(get(client, url, admin), head) == (head, head)
    project(ledger)
    as_csv = client.get(
        routes["/v1/cycles/{cycle_id}/changes"], headers={**admin, "Accept": "text/csv"}
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert int(as_csv.headers["Goalpost-Position"]) == int(as_csv.headers["Goalpost-Log-Head"])


def test_readiness_turns_unready_when_a_read_model_stops_advancing_behind_the_log(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOALPOST_READY_MAX_STALL_SECONDS", "2")
    with serve(initialised_ledger(pg_url)) as live, httpx.Client(base_url=live.url) as client:
        ledger = live.ledger
        tokens = Tokens(ledger)

        # An event the read models have not applied: behind, but only just.
        tokens.issue("analyst", Role.MEMBER)
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert all(m["lag"] > 0 for m in ready.json()["read_models"].values())

        # No worker moves them: past the setting, readiness says so.
        eventually(lambda: client.get("/readyz").status_code == 503, "unready")
        stalled = client.get("/readyz").json()
        assert stalled["status"] == "stalled"
        assert "GOALPOST_READY_MAX_STALL_SECONDS=2" in stalled["detail"]
        assert all(m["stalled_seconds"] > 2 for m in stalled["read_models"].values())
        assert set(stalled["read_models"]) == {model.name for model in READ_MODELS}

        # A worker catches up: ready again.
        project(ledger)
        assert client.get("/readyz").json()["status"] == "ready"

        # Idle a while is not stalled, and neither is a new event the moment it lands:
        # the clock starts when the read model is first behind, not at its last advance.
        def idle() -> float:
            metrics = client.get("/metrics").text
            found = re.search(
                r'goalpost_read_model_seconds_since_advance\{read_model="scores"\} ([0-9.]+)',
                metrics,
            )
            assert found, metrics
            return float(found.group(1))

        eventually(lambda: idle() > 2, "idle for longer than the setting")
        assert client.get("/readyz").status_code == 200
        tokens.issue("newcomer", Role.MEMBER)
        fresh = client.get("/readyz")
        assert fresh.status_code == 200, fresh.text
        assert fresh.json()["read_models"]["scores"]["lag"] > 0
