"""POST /v1/key-results/{id}/graduate over real HTTP on PostgreSQL (ADR 36): the key result
retired into a new KPI in one save, both sides keeping the link, the objective's score
keeping the success."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from application.ledger import GoalLedger
from projections.registry import worker_for
from tests.http.conftest import Goals, Headers, created, events_since, ok, position, problem

pytestmark = pytest.mark.postgres


def graduation(**overrides: Any) -> dict[str, Any]:
    """NPS graduates to a KPI that is to stay at 50 or above."""
    return {
        "area": "Customer loyalty",
        "name": "NPS",
        "definition": {
            "formula": "promoters - detractors",
            "data_source": "survey",
            "cadence": "monthly",
        },
        "target": "50",
        "healthy_low": "45",
        "reason": "50 is the norm now: keep it there",
        **overrides,
    }


def project(ledger: GoalLedger) -> int:
    worker = worker_for(ledger)
    worker.create_tables()
    worker.run_until_caught_up()
    return position(ledger)


@pytest.fixture
def done(goals: Goals, quarter: dict[str, Any]) -> dict[str, Any]:
    """The analyst's NPS reached its target (1.0); her second key result is half way (0.5)."""
    nps = quarter["key_result"]["id"]
    goals.check_in(nps, value="50")
    second = goals.key_result(quarter["objective"]["id"], "analyst", title="Churn 10 to 5")
    goals.check_in(second["id"], value="41")
    return {**quarter, "nps": nps, "second": second["id"]}


def score(client: httpx.Client, admin: Headers, objective_id: str) -> Decimal:
    return Decimal(ok(client.get(f"/v1/objectives/{objective_id}", headers=admin))["score"])


def test_graduation_defines_the_kpi_and_retires_the_key_result_linked_both_ways(
    client: httpx.Client, admin: Headers, ledger: GoalLedger, done: dict[str, Any]
) -> None:
    objective = done["objective"]["id"]
    assert score(client, admin, objective) == Decimal("0.75")
    written = created(
        client.post(f"/v1/key-results/{done['nps']}/graduate", json=graduation(), headers=admin)
    )
    kpi = ok(client.get(f"/v1/kpis/{written['id']}", headers=admin))
    assert kpi["graduated_from"] == done["nps"] and kpi["owner"] == "analyst"
    assert kpi["name"] == "NPS" and kpi["unit"] == "points"
    assert kpi["direction"] == "stay_above" and kpi["healthy_low"] == "45"
    assert kpi["definition"]["cadence"] == "monthly" and kpi["retired"] is None
    key_result = ok(client.get(f"/v1/key-results/{done['nps']}", headers=admin))
    retired = key_result["retired"]
    assert retired["reason_code"] == "graduated_to_kpi"
    assert retired["graduated_to_kpi"] == written["id"]

    # The success it graduated on still counts: the mean stays (1.0 + 0.5) / 2.
    assert score(client, admin, objective) == Decimal("0.75")
    project(ledger)
    scores = ok_scores(client, admin)
    row = next(o for o in scores["objectives"] if o["id"] == objective)
    assert Decimal(row["score"]) == Decimal("0.75")

    # Both histories show the link.
    kr_history = ok_history(client, admin, f"/v1/key-results/{done['nps']}/history")
    assert kr_history[-1]["event"] == "graduated"
    assert kr_history[-1]["after"] == {"status": "retired", "graduated_to_kpi": written["id"]}
    kpi_history = ok_history(client, admin, f"/v1/kpis/{written['id']}/history")
    assert [i["event"] for i in kpi_history] == ["defined", "graduated_from"]
    assert kpi_history[-1]["after"] == {"graduated_from": done["nps"]}


def ok_scores(client: httpx.Client, admin: Headers) -> dict[str, Any]:
    response = client.get("/v1/scores", headers=admin)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def ok_history(client: httpx.Client, admin: Headers, path: str) -> list[dict[str, Any]]:
    response = client.get(path, headers=admin)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_a_key_result_graduates_once(
    client: httpx.Client, admin: Headers, ledger: GoalLedger, done: dict[str, Any]
) -> None:
    path = f"/v1/key-results/{done['nps']}/graduate"
    created(client.post(path, json=graduation(), headers=admin))
    before = position(ledger)
    problem(client.post(path, json=graduation(name="NPS again"), headers=admin), 409)
    assert events_since(ledger, before) == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"healthy_low": "60", "healthy_high": "40"}, "healthy_low"),
        ({"definition": {"formula": "x", "data_source": "survey", "cadence": "hourly"}}, None),
        ({"name": "   "}, "name"),
        ({"reason": ""}, "reason"),
    ],
)
def test_a_bad_kpi_definition_stores_nothing(
    client: httpx.Client,
    admin: Headers,
    ledger: GoalLedger,
    done: dict[str, Any],
    overrides: dict[str, Any],
    field: str | None,
) -> None:
    before = position(ledger)
    response = client.post(
        f"/v1/key-results/{done['nps']}/graduate", json=graduation(**overrides), headers=admin
    )
    found = problem(response, 422, field)
    if field is None:
        assert found["field"].endswith("cadence")
    assert events_since(ledger, before) == 0
    key_result = ok(client.get(f"/v1/key-results/{done['nps']}", headers=admin))
    assert key_result["retired"] is None


def test_a_milestone_graduates_only_with_its_direction(
    client: httpx.Client, admin: Headers, ledger: GoalLedger, goals: Goals, quarter: dict[str, Any]
) -> None:
    milestone = goals.key_result(
        quarter["objective"]["id"], "analyst", direction="milestone", baseline="0", target="1"
    )
    path = f"/v1/key-results/{milestone['id']}/graduate"
    before = position(ledger)
    problem(client.post(path, json=graduation(), headers=admin), 422, "direction")
    assert events_since(ledger, before) == 0
    created(client.post(path, json=graduation(direction="stay_above"), headers=admin))


def report(client: httpx.Client, admin: Headers, cycle_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/cycles/{cycle_id}/changes", headers=admin)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_the_change_report_lists_a_graduation_at_its_final_score(
    client: httpx.Client, admin: Headers, ledger: GoalLedger, done: dict[str, Any]
) -> None:
    written = created(
        client.post(f"/v1/key-results/{done['nps']}/graduate", json=graduation(), headers=admin)
    )
    project(ledger)
    [row] = [r for r in report(client, admin, done["cycle"]["id"]) if r["event"] == "graduated"]
    assert row["goal_id"] == done["nps"] and row["goal_kind"] == "key_result"
    assert row["before"]["status"] == "active" and row["before"]["traffic_light"] == "green"
    assert Decimal(row["before"]["score"]) == 1
    assert row["after"] == {"status": "retired", "graduated_to_kpi": written["id"]}
    assert row["flags"] == []


def test_a_graduation_while_red_is_flagged_in_the_change_report(
    client: httpx.Client, admin: Headers, ledger: GoalLedger, done: dict[str, Any]
) -> None:
    # A third key result never moved from its baseline: red when it graduates.
    third = Goals(client, admin).key_result(done["objective"]["id"], "analyst", title="Refunds")
    created(
        client.post(
            f"/v1/key-results/{third['id']}/graduate",
            json=graduation(name="Refunds"),
            headers=admin,
        )
    )
    project(ledger)
    [row] = [r for r in report(client, admin, done["cycle"]["id"]) if r["event"] == "graduated"]
    assert row["goal_id"] == third["id"] and row["before"]["traffic_light"] == "red"
    assert row["flags"] == ["retired_while_red"]
