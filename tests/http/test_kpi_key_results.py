"""POST /v1/kpis/{id}/key-results over real HTTP on PostgreSQL (ADR 38): a key result
measured by the KPI, starting from its latest reading, fed by its later readings."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from application.ledger import GoalLedger
from processes.kpi_check_ins import KpiCheckInProcess
from projections.registry import worker_for
from tests.http.conftest import Goals, Headers, created, ok, position, problem, same_write
from tests.http.test_graduation import ok_history

pytestmark = pytest.mark.postgres


@pytest.fixture
def measured(goals: Goals, quarter: dict[str, Any]) -> dict[str, Any]:
    """The analyst's objective, and the support team's first-response time (to stay below
    2 hours)."""
    kpi = goals.kpi("support-team")
    return {**quarter, "kpi": kpi["id"]}


def read(client: httpx.Client, admin: Headers, kpi: str, value: str, day: str) -> dict[str, Any]:
    body = {"value": value, "effective_on": day}
    return created(client.post(f"/v1/kpis/{kpi}/readings", json=body, headers=admin))


def body(objective: str, **overrides: Any) -> dict[str, Any]:
    return {"objective_id": objective, "title": "First reply within the hour", **overrides}


def test_a_key_result_measured_by_a_kpi_starts_from_its_latest_reading_and_takes_the_next(
    client: httpx.Client, admin: Headers, ledger: GoalLedger, measured: dict[str, Any]
) -> None:
    kpi, objective = measured["kpi"], measured["objective"]["id"]
    # Two readings: the later one is the baseline.
    read(client, admin, kpi, "3.5", "2026-07-02")
    read(client, admin, kpi, "3", "2026-07-09")
    response = client.post(
        f"/v1/kpis/{kpi}/key-results", json=body(objective, target="1", weight="2"), headers=admin
    )
    written = created(response)
    assert response.headers["Location"] == f"/v1/key-results/{written['id']}"
    key_result = ok(client.get(f"/v1/key-results/{written['id']}", headers=admin))
    # Its terms come from the KPI; its owner is the objective's.
    assert key_result["kpi_id"] == kpi and key_result["owner"] == "analyst"
    assert key_result["direction"] == "decrease" and key_result["unit"] == "hours"
    assert key_result["plan"]["baseline"] == "3" and key_result["plan"]["target"] == "1"
    assert key_result["plan"]["weight"] == "2"
    assert key_result["measurement"] == {
        "source": "helpdesk",
        "query": "median(first_reply_at - opened_at)",
    }
    assert key_result["check_in_count"] == 0

    # A new reading, and the process: the key result checks in at the reading's value.
    reading = read(client, admin, kpi, "2", "2026-08-03")
    process = KpiCheckInProcess(ledger)
    process.create_tables()
    process.run_until_caught_up()
    key_result = ok(client.get(f"/v1/key-results/{written['id']}", headers=admin))
    assert key_result["check_in_count"] == 1
    last = key_result["last_check_in"]
    assert last["value"] == "2" and last["effective_on"] == "2026-08-03"
    assert key_result["score"] == "0.5000"
    # The KPI lists the key results it measures, once the process has met them.
    assert ok(client.get(f"/v1/kpis/{kpi}", headers=admin))["measured_by"] == [written["id"]]

    # The reading is corrected: so is the check-in, once the process has run.
    correction = {"reading_id": reading["reading_id"], "value": "1.5", "reason": "clock skew"}
    ok(client.post(f"/v1/kpis/{kpi}/readings/corrections", json=correction, headers=admin))
    process.run_until_caught_up()
    key_result = ok(client.get(f"/v1/key-results/{written['id']}", headers=admin))
    assert key_result["last_check_in"]["value"] == "1.5"
    assert key_result["score"] == "0.7500"
    # The history shows both, by the process's actor, citing the reading.
    worker_for(ledger).run_until_caught_up()
    history = ok_history(client, admin, f"/v1/key-results/{written['id']}/history")
    assert [(i["event"], i["actor"]) for i in history[-2:]] == [
        ("check_in_from_reading", "kpi-process"),
        ("check_in_corrected_from_reading", "kpi-process"),
    ]
    assert history[-1]["before"] == {"value": "2"} and history[-1]["after"] == {"value": "1.5"}


def test_a_kpi_without_a_reading_measures_nothing_yet(
    client: httpx.Client, admin: Headers, ledger: GoalLedger, measured: dict[str, Any]
) -> None:
    before = position(ledger)
    response = client.post(
        f"/v1/kpis/{measured['kpi']}/key-results",
        json=body(measured["objective"]["id"], target="1"),
        headers=admin,
    )
    found = problem(response, 409, "baseline")
    assert "no reading" in found["detail"]
    assert position(ledger) == before


@pytest.mark.parametrize(
    ("overrides", "status", "field"),
    [
        # A decreasing key result's target must be below its baseline (3).
        ({"target": "4"}, 422, "target"),
        ({"target": "1", "weight": "0"}, 422, "weight"),
        ({"target": "1", "title": ""}, 422, "title"),
        ({"target": "1", "owner": "Not An Id!"}, 422, "owner"),
        ({"target": "1", "objective_id": "00000000-0000-4000-8000-000000000000"}, 422, None),
        ({"target": "1", "effective_on": "2026-06-30"}, 422, "effective_on"),
        ({"target": "1", "unit": "hours"}, 422, "unit"),
    ],
)
def test_bad_input_is_refused_naming_its_field_and_stores_nothing(
    client: httpx.Client,
    admin: Headers,
    ledger: GoalLedger,
    measured: dict[str, Any],
    overrides: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    read(client, admin, measured["kpi"], "3", "2026-07-02")
    before = position(ledger)
    response = client.post(
        f"/v1/kpis/{measured['kpi']}/key-results",
        json=body(measured["objective"]["id"], **overrides),
        headers=admin,
    )
    found = problem(response, status, field)
    if field is None:
        assert found["field"] == "objective_id"
    assert position(ledger) == before


def test_an_unknown_kpi_is_not_found(
    client: httpx.Client, admin: Headers, measured: dict[str, Any]
) -> None:
    response = client.post(
        "/v1/kpis/00000000-0000-4000-8000-000000000000/key-results",
        json=body(measured["objective"]["id"], target="1"),
        headers=admin,
    )
    problem(response, 404)


def test_a_retried_request_adds_the_key_result_once(
    client: httpx.Client, admin: Headers, ledger: GoalLedger, measured: dict[str, Any]
) -> None:
    kpi = measured["kpi"]
    read(client, admin, kpi, "3", "2026-07-02")
    path = f"/v1/kpis/{kpi}/key-results"
    headers = {**admin, "Idempotency-Key": "kpi-kr-1"}
    first = created(
        client.post(path, json=body(measured["objective"]["id"], target="1"), headers=headers)
    )
    before = position(ledger)
    retry = created(
        client.post(path, json=body(measured["objective"]["id"], target="1"), headers=headers)
    )
    assert same_write(first, retry)
    assert position(ledger) == before
    objective = ok(client.get(f"/v1/objectives/{measured['objective']['id']}", headers=admin))
    assert [kr["id"] for kr in objective["key_results"]].count(first["id"]) == 1
