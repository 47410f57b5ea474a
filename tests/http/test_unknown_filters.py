"""Filters that name nothing over HTTP: an unknown cycle, owner or person is a 404 naming
the parameter, never a 200 with empty rows that reads as "nothing happened"."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from application.ledger import GoalLedger
from domain.access import Role
from projections.registry import worker_for
from tests.http.conftest import CYCLE, Goals, Headers, Tokens, kpi_body, problem
from tests.http.reviews import assign

pytestmark = pytest.mark.postgres

QUARTER = CYCLE["id"]


def project(ledger: GoalLedger) -> None:
    worker = worker_for(ledger)
    worker.create_tables()
    worker.run_until_caught_up()


@pytest.fixture
def member(tokens: Tokens) -> Headers:
    return tokens.headers("controller", Role.MEMBER)


@pytest.fixture
def auditor(tokens: Tokens) -> Headers:
    return tokens.headers("audit", Role.AUDITOR)


@pytest.fixture
def reviewer(tokens: Tokens, ledger: GoalLedger) -> Headers:
    # Assigned to each person it asks about, so the answers are about the person (ADR 42).
    assign(ledger, "appraisals", "analyst", "Analyst", "nobody", "engineer")
    return tokens.headers("appraisals", Role.REVIEWER)


@pytest.fixture
def story(
    goals: Goals, ledger: GoalLedger, client: httpx.Client, auditor: Headers, reviewer: Headers
) -> dict[str, Any]:
    """2026-Q3 opened; then the analyst's objective and key result, and the engineer's KPI
    (no OKR); the audit trail holds it all (the change report and evidence wait for the
    whole log)."""
    goals.open_cycle()
    # After the quarter opened and before the analyst's first goal.
    between = datetime.now(UTC)
    objective = goals.objective("analyst")
    goals.key_result(objective["id"], "analyst")
    response = client.post("/v1/kpis", json=kpi_body("engineer"), headers=goals.admin)
    assert response.status_code == 201, response.text
    project(ledger)
    return {"between": between.isoformat()}


def unknown(response: httpx.Response, field: str) -> dict[str, Any]:
    return problem(response, 404, field)


def test_scores_refuse_a_cycle_or_owner_that_names_nothing(
    client: httpx.Client, member: Headers, story: dict[str, Any]
) -> None:
    def scores(**params: str) -> httpx.Response:
        return client.get("/v1/scores", params=params, headers=member)

    # The cycle's key in the wrong case names no cycle: 404, saying which one it resembles.
    found = unknown(scores(cycle_id="2026-q3"), "query.cycle_id")
    assert "did you mean 2026-Q3" in found["detail"]
    unknown(scores(cycle_id="2027-Q1"), "query.cycle_id")
    # So when replayed for a day or a time, too.
    unknown(scores(cycle_id="2026-q3", as_of="2026-08-01"), "query.cycle_id")
    # An owner who owns nothing, or a name in the wrong case, is not found either.
    unknown(scores(owner="nobody"), "query.owner")
    unknown(scores(owner="Analyst"), "query.owner")
    unknown(scores(cycle_id=QUARTER, owner="nobody", as_of="2026-08-01"), "query.owner")
    # Known ones answer, the engineer too: he owns a KPI, though no key result to score.
    assert scores(cycle_id=QUARTER, owner="analyst").json()["key_results"]
    engineers = scores(owner="engineer")
    assert engineers.status_code == 200 and engineers.json()["key_results"] == []
    # As known before the analyst's first goal, she owned none; the quarter was open already.
    before = {"cycle_id": QUARTER, "known_at": story["between"]}
    unknown(scores(**before, owner="analyst"), "query.owner")
    assert scores(**before).status_code == 200


def test_lists_refuse_a_cycle_or_owner_that_names_nothing(
    client: httpx.Client, member: Headers, story: dict[str, Any]
) -> None:
    def get(path: str, **params: str) -> httpx.Response:
        return client.get(path, params=params, headers=member)

    unknown(get("/v1/objectives", cycle_id="2026-q3"), "query.cycle_id")
    unknown(get("/v1/objectives", owner="nobody"), "query.owner")
    assert len(get("/v1/objectives", cycle_id=QUARTER, owner="analyst").json()["items"]) == 1
    unknown(get("/v1/kpis", owner="nobody"), "query.owner")
    assert len(get("/v1/kpis", owner="engineer").json()["items"]) == 1
    # KPI health, now and replayed.
    unknown(get("/v1/kpis/health", owner="nobody"), "query.owner")
    unknown(get("/v1/kpis/health", owner="nobody", as_of="2026-08-01"), "query.owner")
    health = get("/v1/kpis/health", owner="engineer", include="all")
    assert [kpi["owner"] for kpi in health.json()["items"]] == ["engineer"]
    # The analyst owns no KPI, but goals: she is known, and has no KPI to list.
    assert get("/v1/kpis/health", owner="analyst").json()["items"] == []


def test_the_change_report_refuses_an_owner_that_names_nothing(
    client: httpx.Client, auditor: Headers, story: dict[str, Any]
) -> None:
    path = f"/v1/cycles/{QUARTER}/changes"
    unknown(client.get(path, params={"owner": "nobody"}, headers=auditor), "query.owner")
    csv = {"owner": "nobody", "format": "csv"}
    unknown(client.get(path, params=csv, headers=auditor), "query.owner")
    assert client.get(path, params={"owner": "analyst"}, headers=auditor).status_code == 200
    # The cycle is in the path: unknown there, the path parameter is named.
    unknown(client.get("/v1/cycles/2026-q3/changes", headers=auditor), "cycle_id")


def test_evidence_refuses_a_person_who_owns_nothing(
    client: httpx.Client, reviewer: Headers, story: dict[str, Any]
) -> None:
    period = {"from": "2026-07-01", "to": "2026-09-30"}
    found = client.get("/v1/people/analyst/evidence", params=period, headers=reviewer)
    assert found.status_code == 200, found.text
    for person in ("Analyst", "nobody"):
        response = client.get(f"/v1/people/{person}/evidence", params=period, headers=reviewer)
        unknown(response, "person")
    # The engineer owns a KPI: his evidence is his KRA, with no OKRs.
    engineers = client.get("/v1/people/engineer/evidence", params=period, headers=reviewer)
    assert engineers.status_code == 200 and engineers.json()["objectives"] == []


def test_a_subscription_refuses_filters_that_would_deliver_nothing(
    client: httpx.Client, tokens: Tokens, story: dict[str, Any]
) -> None:
    hrms = tokens.headers("hrms", Role.SERVICE)

    def subscribe(**filters: str) -> httpx.Response:
        body = {"url": "https://hrms.example.com/hooks", **filters}
        return client.post("/v1/webhooks", json=body, headers=hrms)

    unknown(subscribe(owner="nobody"), "owner")
    found = unknown(subscribe(cycle_id="2026-q3"), "cycle_id")
    assert "did you mean 2026-Q3" in found["detail"]
    assert client.get("/v1/webhooks", headers=hrms).json()["webhooks"] == []
    assert subscribe(owner="analyst", cycle_id=QUARTER).status_code == 201


def test_an_owner_is_known_from_the_log_before_the_read_models_catch_up(
    client: httpx.Client, member: Headers, goals: Goals, story: dict[str, Any]
) -> None:
    # Dana's first objective is recorded; no worker has applied it yet.
    goals.objective("dana")
    # She is known at once (the log says what the audit trail has not applied yet) ...
    listed = client.get("/v1/objectives", params={"owner": "dana"}, headers=member)
    assert [o["owner"] for o in listed.json()["items"]] == ["dana"]
    scores = client.get("/v1/scores", params={"owner": "dana"}, headers=member)
    assert scores.status_code == 200 and scores.json()["objectives"] == []
    # ... and someone who owns nothing is still refused.
    unknown(client.get("/v1/scores", params={"owner": "erin"}, headers=member), "query.owner")


def test_a_parameter_no_route_takes_is_refused_not_ignored(
    client: httpx.Client, member: Headers, story: dict[str, Any]
) -> None:
    # `cycle` for `cycle_id`: ignored, it would answer every cycle; refused, it is named.
    found = problem(
        client.get("/v1/scores", params={"cycle": QUARTER}, headers=member), 422, "query.cycle"
    )
    assert "`cycle_id`" in found["detail"]
    problem(client.get("/v1/events", params={"from": "0"}, headers=member), 422, "query.from")
    # What a route's dependencies take counts as the route's own: `min_position`.
    read = client.get("/v1/scores", params={"cycle_id": QUARTER, "min_position": 1}, headers=member)
    assert read.status_code == 200, read.text
