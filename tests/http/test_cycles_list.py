"""GET /v1/cycles over real HTTP on PostgreSQL: newest first, paged, each with its state
and score; scores from the read model now, replayed for another day or state of knowledge.

The live server runs no projection worker; each test projects the log itself before
reading, so what the read reflects is known exactly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from application.ledger import GoalLedger
from domain.access import Role
from projections.registry import worker_for
from tests.http.conftest import CYCLE, Goals, Headers, Tokens, position, problem

pytestmark = pytest.mark.postgres

TODAY = datetime.now(UTC).date()
# Opened in this order; listed newest first: NEXT, NOW, CYCLE (2026-Q3), SPRING.
NEXT = {
    "id": "next",
    "starts_on": str(TODAY + timedelta(days=60)),
    "ends_on": str(TODAY + timedelta(days=120)),
}
SPRING = {"id": "2026-Q2", "starts_on": "2026-04-01", "ends_on": "2026-06-30"}
NOW = {
    "id": "now",
    "starts_on": str(TODAY - timedelta(days=10)),
    "ends_on": str(TODAY + timedelta(days=30)),
}
NEWEST_FIRST = ["next", "now", CYCLE["id"], SPRING["id"]]


def project(ledger: GoalLedger) -> int:
    worker_for(ledger).run_until_caught_up()
    return position(ledger)


def body(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    assert response.headers["Goalpost-Position"] == str(result["position"])
    assert response.headers["Goalpost-Log-Head"] == str(result["log_head"])
    return result


def open_cycle(goals: Goals, cycle: dict[str, str]) -> None:
    goals.client.post("/v1/cycles", json=cycle, headers=goals.admin).raise_for_status()


@pytest.fixture
def member(tokens: Tokens) -> Headers:
    return tokens.headers("controller", Role.MEMBER)


@pytest.fixture
def story(goals: Goals, ledger: GoalLedger) -> dict[str, Any]:
    """2026-Q3 with the analyst's NPS at 41 (0.5, amber, on track), closed; the next cycle, not
    begun; 2026-Q2, over and not closed, with no goals; the current one, where the engineer's key
    result has no check-in (0, red). Opened out of order."""
    goals.open_cycle()
    analyst = goals.objective("analyst")
    nps = goals.key_result(analyst["id"], "analyst")
    goals.check_in(nps["id"], value="41")
    open_cycle(goals, NEXT)
    # What was known before the last two cycles were opened and 2026-Q3 was closed.
    before = datetime.now(UTC)
    open_cycle(goals, SPRING)
    open_cycle(goals, NOW)
    engineer = goals.objective("engineer", cycle_id="now")
    deals = goals.key_result(
        engineer["id"],
        "engineer",
        baseline="0",
        target="5",
        unit="deals",
        effective_on=NOW["starts_on"],
    )
    goals.client.post(f"/v1/cycles/{CYCLE['id']}/close", headers=goals.admin).raise_for_status()
    return {"before": before, "deals": deals, "position": project(ledger)}


def test_cycles_are_listed_newest_first_with_their_state_and_score(
    client: httpx.Client, member: Headers, story: dict[str, Any]
) -> None:
    found = body(client.get("/v1/cycles", headers=member))
    assert found["position"] == found["log_head"] == story["position"]
    assert found["as_of"] is None and found["known_at"] is None
    assert found["next_cursor"] is None
    cycles = found["items"]
    assert [c["id"] for c in cycles] == NEWEST_FIRST
    upcoming, current, closed, ended = cycles
    assert [c["state"] for c in cycles] == ["upcoming", "current", "closed", "ended"]
    assert (closed["starts_on"], closed["ends_on"]) == (CYCLE["starts_on"], CYCLE["ends_on"])
    assert closed["closed_at"] is not None and closed["version"] == 3
    assert (current["starts_on"], current["ends_on"]) == (NOW["starts_on"], NOW["ends_on"])
    assert [c["closed_at"] for c in (upcoming, current, ended)] == [None, None, None]
    # Judged today, or on the last day of a cycle that is over.
    assert [c["as_of"] for c in cycles] == [str(TODAY), str(TODAY), CYCLE["ends_on"], "2026-06-30"]
    scores = [
        (c["score"], c["score_against_original_plan"], c["traffic_light"], c["net_confidence"])
        for c in cycles
    ]
    assert scores == [
        (None, None, None, None),
        ("0.0000", "0.0000", "red", "0.0000"),
        ("0.5000", "0.5000", "amber", "1.0000"),
        (None, None, None, None),
    ]
    # The same score the cycle's own scoreboard replays.
    board = client.get(f"/v1/cycles/{CYCLE['id']}", headers=member).json()
    assert (board["score"], board["traffic_light"]) == (closed["score"], closed["traffic_light"])


def test_pages_of_one_walk_every_cycle_in_order(
    client: httpx.Client, member: Headers, story: dict[str, Any]
) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 1}
    while True:
        page = body(client.get("/v1/cycles", params=params, headers=member))
        assert len(page["items"]) == 1
        seen.append(page["items"][0]["id"])
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == NEWEST_FIRST
    two = body(client.get("/v1/cycles", params={"limit": 2}, headers=member))
    assert [c["id"] for c in two["items"]] == NEWEST_FIRST[:2]
    rest = body(client.get("/v1/cycles", params={"cursor": two["next_cursor"]}, headers=member))
    assert [c["id"] for c in rest["items"]] == NEWEST_FIRST[2:]
    for cursor in ("nope", "00000000-0000-0000-0000-000000000000"):
        problem(client.get("/v1/cycles", params={"cursor": cursor}, headers=member), 400, "cursor")
    problem(client.get("/v1/cycles", params={"limit": 0}, headers=member), 422, "query.limit")


def test_scores_now_come_from_the_read_model(
    client: httpx.Client, member: Headers, goals: Goals, ledger: GoalLedger, story: dict[str, Any]
) -> None:
    # The engineer checks in at 5 of 5; until the read model applies it, the list says so by
    # its position and shows the score as it was.
    written = goals.check_in(story["deals"]["id"], value="5", effective_on=str(TODAY))
    behind = body(client.get("/v1/cycles", headers=member))
    assert behind["position"] == story["position"] < written["position"] <= behind["log_head"]
    assert behind["items"][1]["score"] == "0.0000"
    head = project(ledger)
    caught_up = body(
        client.get("/v1/cycles", params={"min_position": written["position"]}, headers=member)
    )
    assert caught_up["position"] == head
    assert (caught_up["items"][1]["score"], caught_up["items"][1]["traffic_light"]) == (
        "1.0000",
        "green",
    )


def test_as_of_and_known_at_replay_the_goals(
    client: httpx.Client, member: Headers, ledger: GoalLedger, story: dict[str, Any]
) -> None:
    # On 2026-08-01 the analyst had not checked in (NPS at its baseline) and 2026-Q3 was running.
    then = body(client.get("/v1/cycles", params={"as_of": "2026-08-01"}, headers=member))
    assert then["as_of"] == "2026-08-01" and then["position"] == position(ledger)
    assert [c["id"] for c in then["items"]] == NEWEST_FIRST
    assert [c["state"] for c in then["items"]] == ["upcoming", "upcoming", "current", "ended"]
    q3 = then["items"][2]
    assert (q3["as_of"], q3["score"], q3["traffic_light"]) == ("2026-08-01", "0.0000", "red")
    assert q3["closed_at"] is not None

    # Before 2026-Q2 and the current cycle were opened and 2026-Q3 was closed.
    known = story["before"].isoformat()
    earlier = body(client.get("/v1/cycles", params={"known_at": known}, headers=member))
    assert earlier["known_at"] is not None
    assert [c["id"] for c in earlier["items"]] == ["next", CYCLE["id"]]
    q3 = earlier["items"][1]
    assert (q3["state"], q3["closed_at"], q3["version"]) == ("ended", None, 2)
    assert (q3["score"], q3["traffic_light"]) == ("0.5000", "amber")


def test_every_role_may_list_cycles_and_no_one_anonymous(
    client: httpx.Client, tokens: Tokens, story: dict[str, Any]
) -> None:
    for role in Role:
        listed = client.get("/v1/cycles", headers=tokens.headers(f"someone-{role}", role))
        assert [c["id"] for c in body(listed)["items"]] == NEWEST_FIRST, role
    problem(client.get("/v1/cycles"), 401)
    # The list takes no filter: one given is refused, not ignored.
    admin = tokens.headers("root", Role.ADMIN)
    problem(
        client.get("/v1/cycles", params={"state": "current"}, headers=admin), 422, "query.state"
    )
