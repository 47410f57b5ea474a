"""Stretch vs committed over HTTP on PostgreSQL: the same score judged by each kind's bar.

The live server runs no projection worker; each test projects the log itself first.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from application.ledger import GoalLedger
from domain.access import Role
from projections.registry import worker_for
from tests.http.conftest import CYCLE, Goals, Headers, Tokens, ok, position

pytestmark = pytest.mark.postgres

ASPIRATIONAL = {"kind": "aspirational", "green": "0.7", "amber": "0.4", "expected_at_end": "0.7"}
COMMITTED = {"kind": "committed", "green": "1", "amber": "0.7", "expected_at_end": "1"}


def project(ledger: GoalLedger) -> int:
    worker = worker_for(ledger)
    worker.create_tables()
    worker.run_until_caught_up()
    return position(ledger)


def read(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


@pytest.fixture
def member(tokens: Tokens) -> Headers:
    return tokens.headers("controller", Role.MEMBER)


@pytest.fixture
def twins(goals: Goals, ledger: GoalLedger) -> dict[str, Any]:
    """Two objectives, one of each kind, each with an NPS key result at 44.6: 0.7."""
    goals.open_cycle()
    found: dict[str, Any] = {}
    for kind in ("aspirational", "committed"):
        objective = goals.objective("analyst", kind=kind, title=f"A {kind} objective")
        key_result = goals.key_result(objective["id"], "analyst")
        goals.check_in(key_result["id"], value="44.6")
        found[kind] = {"objective": objective, "key_result": key_result}
    found["position"] = project(ledger)
    return found


def test_scores_judge_the_same_score_by_each_kind_and_say_which_bar(
    client: httpx.Client, member: Headers, twins: dict[str, Any]
) -> None:
    scores = read(client.get("/v1/scores", headers=member))
    rows = {row["id"]: row for row in scores["key_results"]}
    stretch = rows[twins["aspirational"]["key_result"]["id"]]
    promise = rows[twins["committed"]["key_result"]["id"]]
    assert stretch["score"] == promise["score"] == "0.7000"
    # Read as of the cycle's end: 0.7 is an aspirational success, a committed miss.
    assert (stretch["traffic_light"], stretch["pace"], stretch["bar"]) == (
        "green",
        "on_pace",
        ASPIRATIONAL,
    )
    assert (promise["traffic_light"], promise["pace"], promise["bar"]) == (
        "amber",
        "behind",
        COMMITTED,
    )
    objectives = {row["id"]: row for row in scores["objectives"]}
    assert objectives[twins["aspirational"]["objective"]["id"]]["traffic_light"] == "green"
    assert objectives[twins["aspirational"]["objective"]["id"]]["bar"] == ASPIRATIONAL
    assert objectives[twins["committed"]["objective"]["id"]]["traffic_light"] == "amber"
    assert objectives[twins["committed"]["objective"]["id"]]["bar"] == COMMITTED
    (cycle,) = scores["cycles"]
    assert (cycle["green"], cycle["amber"], cycle["red"], cycle["behind"]) == (1, 1, 0, 1)

    # A replayed day judges the same way: mid-August, about half the cycle gone.
    replay = read(
        client.get(
            "/v1/scores", params={"cycle_id": CYCLE["id"], "as_of": "2026-08-15"}, headers=member
        )
    )
    replayed = {row["id"]: row for row in replay["key_results"]}
    assert replayed[twins["aspirational"]["key_result"]["id"]]["bar"] == ASPIRATIONAL
    assert replayed[twins["committed"]["key_result"]["id"]]["traffic_light"] == "amber"


def test_objective_cycle_and_key_result_reads_follow_the_kind(
    client: httpx.Client, member: Headers, twins: dict[str, Any]
) -> None:
    for kind, light, bar in (
        ("aspirational", "green", ASPIRATIONAL),
        ("committed", "amber", COMMITTED),
    ):
        objective = ok(
            client.get(f"/v1/objectives/{twins[kind]['objective']['id']}", headers=member)
        )
        assert (objective["traffic_light"], objective["bar"]) == (light, bar)
        (line,) = objective["key_results"]
        assert (line["traffic_light"], line["bar"]) == (light, bar)
        key_result = ok(
            client.get(f"/v1/key-results/{twins[kind]['key_result']['id']}", headers=member)
        )
        assert key_result["traffic_light"] == light
    board = read(client.get(f"/v1/cycles/{CYCLE['id']}", headers=member))
    assert {o["bar"]["kind"]: o["traffic_light"] for o in board["objectives"]} == {
        "aspirational": "green",
        "committed": "amber",
    }


def test_calibration_per_owner_over_closed_cycles(
    client: httpx.Client, goals: Goals, ledger: GoalLedger, tokens: Tokens, member: Headers
) -> None:
    goals.open_cycle()
    stretch = goals.objective("analyst", kind="aspirational", title="Delight every customer")
    promise = goals.objective("analyst", kind="committed", title="Keep what we sold")
    engineers = goals.objective("engineer", kind="committed", title="Ship the platform")
    # NPS from 32 to 50: 50 is 1.0, 37 is 5/18 (at most 0.3), 44.6 is 0.7, 47 is 0.8333.
    for objective, owner, value in (
        (stretch, "analyst", "50"),
        (stretch, "analyst", "37"),
        (stretch, "analyst", "44.6"),
        (promise, "analyst", "47"),
        (promise, "analyst", "50"),
        (engineers, "engineer", "50"),
    ):
        key_result = goals.key_result(objective["id"], owner, title=f"NPS to {value}")
        goals.check_in(key_result["id"], value=value)
    auditor = tokens.headers("auditor-b", Role.AUDITOR)
    reviewer = tokens.headers("researcher", Role.REVIEWER)
    project(ledger)
    # Not closed yet: no score is final, so no calibration.
    assert read(client.get("/v1/calibration", headers=auditor))["owners"] == []

    closed = client.post(f"/v1/cycles/{CYCLE['id']}/close", headers=goals.admin)
    assert closed.status_code == 200, closed.text
    at = project(ledger)
    found = read(client.get("/v1/calibration", headers=auditor))
    assert found["position"] == at
    analyst = {
        "owner": "analyst",
        "cycles": 1,
        "aspirational": 3,
        "aspirational_at_one": 1,
        "aspirational_at_one_share": "0.3333",
        "aspirational_at_most_fantasy": 1,
        "aspirational_at_most_fantasy_share": "0.3333",
        "committed": 2,
        "committed_below_one": 1,
        "committed_below_one_share": "0.5000",
    }
    engineer = {
        "owner": "engineer",
        "cycles": 1,
        "aspirational": 0,
        "aspirational_at_one": 0,
        "aspirational_at_one_share": None,
        "aspirational_at_most_fantasy": 0,
        "aspirational_at_most_fantasy_share": None,
        "committed": 1,
        "committed_below_one": 0,
        "committed_below_one_share": "0.0000",
    }
    assert found["owners"] == [analyst, engineer]
    by_reviewer = client.get(
        "/v1/calibration", params={"owner": "analyst", "cycle_id": CYCLE["id"]}, headers=reviewer
    )
    assert read(by_reviewer)["owners"] == [analyst]
    # Members do not read it; an owner or cycle that does not exist is a 404 naming it.
    assert client.get("/v1/calibration", headers=member).status_code == 403
    missing = client.get("/v1/calibration", params={"owner": "nobody"}, headers=auditor)
    assert missing.status_code == 404
    assert missing.json()["field"] == "query.owner"
    missing = client.get("/v1/calibration", params={"cycle_id": "2027-Q1"}, headers=auditor)
    assert missing.status_code == 404
    assert missing.json()["field"] == "query.cycle_id"
