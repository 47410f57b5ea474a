"""Plan-size guidance over HTTP on PostgreSQL (ADR 35): the write past a bound is
stored (201) and says so; retiring one brings the count back under."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from application.ledger import GoalLedger
from domain.access import Role
from projections.registry import worker_for
from tests.http.conftest import CYCLE, Goals, Headers, Tokens

pytestmark = pytest.mark.postgres

REASON = {"reason": "the plan changed", "reason_code": "priorities_changed"}


def codes(body: dict[str, Any]) -> list[str]:
    return [warning["code"] for warning in body["warnings"]]


def test_a_fourth_objective_is_stored_with_a_warning(
    client: httpx.Client, admin: Headers, goals: Goals
) -> None:
    goals.open_cycle()
    first = [goals.objective("analyst") for _ in range(3)]
    assert [codes(body) for body in first] == [[], [], []]
    goals.objective("engineer")  # another owner's objective counts for engineer alone
    fourth = goals.objective("analyst")
    assert codes(fourth) == ["too_many_objectives"]
    assert "analyst has 4 objectives" in fourth["warnings"][0]["message"]
    # Retired objectives do not count: with two retired, a fifth leaves three live.
    for retired in (first[0], fourth):
        response = client.post(f"/v1/objectives/{retired['id']}/retire", json=REASON, headers=admin)
        assert response.status_code == 200, response.text
    assert codes(goals.objective("analyst")) == []


def test_a_sixth_key_result_is_stored_with_a_warning(
    client: httpx.Client, admin: Headers, goals: Goals
) -> None:
    goals.open_cycle()
    objective = goals.objective("analyst")
    first = [goals.key_result(objective["id"]) for _ in range(5)]
    # The first key result leaves the objective with fewer than 2: no warning on a write.
    assert [codes(body) for body in first] == [[]] * 5
    sixth = goals.key_result(objective["id"])
    assert codes(sixth) == ["too_many_key_results"]
    # Retired key results do not count: with two retired, the next leaves five live.
    for retired in first[:2]:
        response = client.post(
            f"/v1/key-results/{retired['id']}/retire", json=REASON, headers=admin
        )
        assert response.status_code == 200, response.text
    assert codes(goals.key_result(objective["id"])) == []
    assert codes(goals.key_result(objective["id"])) == ["too_many_key_results"]


def test_scores_show_the_plan_size_now_and_replayed(
    client: httpx.Client, admin: Headers, goals: Goals, ledger: GoalLedger
) -> None:
    goals.open_cycle()
    small, large, *_ = [goals.objective("analyst") for _ in range(4)]
    goals.objective("engineer")
    goals.key_result(small["id"])
    for _ in range(6):
        goals.key_result(large["id"])
    worker = worker_for(ledger)
    worker.create_tables()
    worker.run_until_caught_up()
    now = client.get("/v1/scores", headers=admin)
    replayed = client.get(
        "/v1/scores", params={"cycle_id": CYCLE["id"], "as_of": CYCLE["ends_on"]}, headers=admin
    )
    for response in (now, replayed):
        assert response.status_code == 200, response.text
        board = response.json()
        objectives = {row["id"]: codes(row) for row in board["objectives"]}
        assert objectives[small["id"]] == ["too_few_key_results"]
        assert objectives[large["id"]] == ["too_many_key_results"]
        assert {row["owner"]: codes(row) for row in board["owners"]} == {
            "analyst": ["too_many_objectives"],
            "engineer": [],
        }


def test_the_change_report_flags_the_creation_past_a_bound(
    client: httpx.Client, goals: Goals, ledger: GoalLedger, tokens: Tokens
) -> None:
    goals.open_cycle()
    analyst = [goals.objective("analyst") for _ in range(4)]
    goals.objective("engineer")
    key_results = [goals.key_result(analyst[0]["id"]) for _ in range(6)]
    auditor = tokens.headers("auditor-b", Role.AUDITOR)  # issuing a token is a write too
    worker = worker_for(ledger)
    worker.create_tables()
    worker.run_until_caught_up()
    response = client.get(f"/v1/cycles/{CYCLE['id']}/changes", headers=auditor)
    assert response.status_code == 200, response.text
    rows = response.json()["items"]
    # Only the two creations that crossed a bound are reported, each flagged.
    assert [(row["goal_id"], row["flags"]) for row in rows] == [
        (analyst[3]["id"], ["plan_oversized"]),
        (key_results[5]["id"], ["plan_oversized"]),
    ]
    assert [row["goal_kind"] for row in rows] == ["objective", "key_result"]
    flagged = client.get(
        f"/v1/cycles/{CYCLE['id']}/changes",
        params={"flag": "plan_oversized"},
        headers=auditor,
    )
    assert [row["goal_id"] for row in flagged.json()["items"]] == [
        analyst[3]["id"],
        key_results[5]["id"],
    ]
