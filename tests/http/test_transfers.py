"""Transfers over HTTP on PostgreSQL (ADR 42): a key result changes hands mid-quarter, and
its history, ownership read, change report and both owners' evidence say who owned it when."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from application.ledger import GoalLedger
from domain.access import Role
from projections.registry import worker_for
from tests.http.conftest import (
    CYCLE,
    Goals,
    Headers,
    Tokens,
    created,
    ok,
    position,
    problem,
)

pytestmark = pytest.mark.postgres

PERIOD = {"from": "2026-07-01", "to": "2026-09-30"}


def caught_up(ledger: GoalLedger) -> None:
    worker = worker_for(ledger)
    worker.create_tables()
    worker.run_until_caught_up()


def transfer(
    client: httpx.Client, path: str, headers: Headers, owner: str, **extra: Any
) -> httpx.Response:
    body = {"owner": owner, "reason": "the product lead moved to the platform team", **extra}
    return client.post(f"{path}/transfer", json=body, headers=headers)


def evidence_of(client: httpx.Client, person: str, admin: Headers) -> dict[str, Any]:
    response = client.get(f"/v1/people/{person}/evidence", params=PERIOD, headers=admin)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_key_result_transferred_mid_quarter_shows_who_owned_it_when(
    client: httpx.Client, ledger: GoalLedger, goals: Goals, admin: Headers, tokens: Tokens
) -> None:
    # The product lead owns activation from the quarter's first day and checks in in July.
    goals.open_cycle()
    objective = goals.objective("product-lead")
    key_result = goals.key_result(objective["id"], "product-lead")
    kr_path = f"/v1/key-results/{key_result['id']}"
    goals.check_in(key_result["id"], value="36", effective_on="2026-07-20")

    # Their manager hands it to the platform lead from 15 August.
    manager = tokens.headers("vp-product", Role.MANAGER, reports=["product-lead", "platform-lead"])
    written = created(
        transfer(client, kr_path, manager, "platform-lead", effective_on="2026-08-15")
    )
    assert written["version"] == key_result["version"] + 2  # the July check-in came between

    # The new owner checks in in September, as owner now.
    platform = tokens.headers("platform-lead", Role.MEMBER)
    goals.check_in(key_result["id"], headers=platform, value="44", effective_on="2026-09-10")
    # The old owner's token no longer reaches it.
    product = tokens.headers("product-lead", Role.MEMBER)
    before = position(ledger)
    problem(
        client.post(f"{kr_path}/check-ins", json={"value": "45", "confidence": "on_track",
                                                "effective_on": "2026-09-12"}, headers=product),
        403,
    )  # fmt: skip
    assert position(ledger) == before

    # The ownership read answers for any day.
    july = ok(client.get(f"{kr_path}/ownership", params={"as_of": "2026-07-31"}, headers=admin))
    assert july["owner"] == "product-lead"
    september = ok(
        client.get(f"{kr_path}/ownership", params={"as_of": "2026-09-01"}, headers=admin)
    )
    assert september["owner"] == "platform-lead"
    assert [(o["owner"], o["effective_on"], o["previous_owner"]) for o in july["owners"]] == [
        ("product-lead", "2026-07-01", None),
        ("platform-lead", "2026-08-15", "product-lead"),
    ]
    assert july["owners"][1]["actor"] == "vp-product"
    # The goal read names its current owner, and who owned it on the day it is read as of.
    read = ok(client.get(kr_path, params={"as_of": "2026-08-01"}, headers=admin))
    assert (read["owner"], read["owner_as_of"]) == ("platform-lead", "product-lead")

    # The history shows the transfer: who, from whom, to whom, from when, why.
    auditor = tokens.headers("internal-audit", Role.AUDITOR)
    caught_up(ledger)
    history = client.get(f"{kr_path}/history", headers=admin).json()
    [row] = [e for e in history["items"] if e["event"] == "transferred"]
    assert row["actor"] == "vp-product" and row["effective_on"] == "2026-08-15"
    assert row["before"] == {"owner": "product-lead"} and row["after"] == {"owner": "platform-lead"}

    # The change report lists it for auditors, flagged as backdated (recorded months later).
    report = client.get(f"/v1/cycles/{CYCLE['id']}/changes", headers=auditor).json()
    [change] = [r for r in report["items"] if r["event"] == "transferred"]
    assert "backdated_more_than_7_days" in change["flags"]
    assert change["before"] == {"owner": "product-lead"}

    # Each owner's evidence holds the key result for their own months, citing the events.
    old = evidence_of(client, "product-lead", admin)
    caught_up(ledger)
    new = evidence_of(client, "platform-lead", admin)
    [old_relation] = [r for r in old["relations"] if r["goal_id"] == key_result["id"]]
    [new_relation] = [r for r in new["relations"] if r["goal_id"] == key_result["id"]]
    assert (old_relation["relation"], old_relation["months"]) == ("owner", ["2026-07", "2026-08"])
    assert (old_relation["starts_on"], old_relation["ends_on"]) == ("2026-07-01", "2026-08-14")
    assert [c["event"] for c in old_relation["cites"]] == ["created", "transferred"]
    assert (new_relation["relation"], new_relation["months"]) == ("owner", ["2026-08", "2026-09"])
    assert new_relation["ends_on"] == "2026-09-30"  # the cycle's last day
    assert [c["event"] for c in new_relation["cites"]] == ["transferred"]

    def active_months(data: dict[str, Any]) -> list[str]:
        [kr] = [
            kr
            for o in data["objectives"]
            for kr in o["key_results"]
            if kr["key_result_id"] == key_result["id"]
        ]
        return [m["month"] for m in kr["months"] if m["active"]]

    assert active_months(old) == ["2026-07", "2026-08"]
    assert active_months(new) == ["2026-08", "2026-09"]
    # The objective stays the product lead's own; the platform lead serves it.
    [objective_seen] = [o for o in new["objectives"] if o["objective_id"] == objective["id"]]
    assert objective_seen["owned_by_person"] is False


def test_objectives_and_kpis_are_transferred_too(
    client: httpx.Client, ledger: GoalLedger, goals: Goals, admin: Headers
) -> None:
    goals.open_cycle()
    objective = goals.objective("product-lead")
    kpi = goals.kpi("support-lead")
    created(transfer(client, f"/v1/objectives/{objective['id']}", admin, "eng-team",
                     effective_on="2026-09-01"))  # fmt: skip
    created(transfer(client, f"/v1/kpis/{kpi['id']}", admin, "cs-team"))
    seen = ok(client.get(f"/v1/objectives/{objective['id']}/ownership", headers=admin))
    assert seen["owner"] == "eng-team"  # as of the cycle's last day
    early = client.get(
        f"/v1/objectives/{objective['id']}/ownership", params={"as_of": "2026-08-31"}, headers=admin
    ).json()
    assert early["owner"] == "product-lead"
    assert ok(client.get(f"/v1/kpis/{kpi['id']}", headers=admin))["owner"] == "cs-team"

    # A new owner is an owner at once, before any read model has caught up: a filter
    # naming them is no unknown owner.
    at_once = client.get(
        "/v1/scores", params={"cycle_id": CYCLE["id"], "owner": "eng-team"}, headers=admin
    )
    assert at_once.status_code == 200, at_once.text

    # The read models follow: scores and KPI health list the goals under their new owners.
    caught_up(ledger)
    health = client.get(
        "/v1/kpis/health", params={"owner": "cs-team", "include": "all"}, headers=admin
    )
    assert [k["id"] for k in health.json()["items"]] == [kpi["id"]], health.text
    scores = client.get(
        "/v1/scores", params={"cycle_id": CYCLE["id"], "owner": "eng-team"}, headers=admin
    )
    assert [o["id"] for o in scores.json()["objectives"]] == [objective["id"]], scores.text


def test_a_bad_transfer_is_refused_with_its_field_and_stores_nothing(
    client: httpx.Client, ledger: GoalLedger, goals: Goals, admin: Headers, tokens: Tokens
) -> None:
    goals.open_cycle()
    objective = goals.objective("product-lead")
    kr_path = f"/v1/key-results/{goals.key_result(objective['id'], 'product-lead')['id']}"
    created(transfer(client, kr_path, admin, "platform-lead", effective_on="2026-08-15"))
    member = tokens.headers("platform-lead", Role.MEMBER)
    before = position(ledger)
    # To its owner already, to no valid id, before the last transfer, outside the cycle.
    problem(transfer(client, kr_path, admin, "platform-lead"), 422, "owner")
    problem(transfer(client, kr_path, admin, "no one"), 422, "owner")
    problem(transfer(client, kr_path, admin, "ops", effective_on="2026-08-01"), 422, "effective_on")
    problem(transfer(client, kr_path, admin, "ops", effective_on="2026-10-02"), 422, "effective_on")
    problem(client.post(f"{kr_path}/transfer", json={"owner": "ops"}, headers=admin), 422,
            "reason")  # fmt: skip
    # A member may not give their goal to someone outside their reach.
    problem(transfer(client, kr_path, member, "ops"), 403)
    assert position(ledger) == before


def test_a_person_who_moves_teams_mid_quarter_shows_each_teams_goals_for_their_months(
    client: httpx.Client, ledger: GoalLedger, goals: Goals, admin: Headers
) -> None:
    # Two teams each own a key result for the quarter.
    goals.open_cycle()
    objective = goals.objective("eng-lead")
    web = goals.key_result(objective["id"], "web-team", title="Page weight under 1 MB")
    app = goals.key_result(objective["id"], "app-team", title="Crash-free sessions")
    for team in ("web-team", "app-team"):
        created(client.post("/v1/teams", json={"id": team, "name": team}, headers=admin))

    # A developer is on the web team from July and moves to the app team on 16 August.
    person = {"id": "dev-one", "display_name": "Developer One", "effective_on": "2026-07-01"}
    assert client.post("/v1/people", json=person, headers=admin).status_code == 201
    for team, action, day in (
        ("web-team", "join", "2026-07-01"),
        ("web-team", "leave", "2026-08-16"),
        ("app-team", "join", "2026-08-16"),
    ):
        body = {"team": team, "action": action, "effective_on": day}
        moved = client.post("/v1/people/dev-one/memberships", json=body, headers=admin)
        assert moved.status_code in (200, 201), moved.text

    # Their evidence holds each team's key result for their own months, as a team member.
    caught_up(ledger)
    found = evidence_of(client, "dev-one", admin)
    relations = {(r["goal_id"], r["relation"], r["team"]): r["months"] for r in found["relations"]}
    assert relations == {
        (web["id"], "team_member", "web-team"): ["2026-07", "2026-08"],
        (app["id"], "team_member", "app-team"): ["2026-08", "2026-09"],
    }
    # Each cites the key result's creation and the developer's joining and leaving its team.
    cited = {r["team"]: [c["event"] for c in r["cites"]] for r in found["relations"]}
    assert cited == {
        "web-team": ["created", "joined_team", "left_team"],
        "app-team": ["created", "joined_team"],
    }
    titles = {kr["title"] for o in found["objectives"] for kr in o["key_results"]}
    assert titles == {"Page weight under 1 MB", "Crash-free sessions"}

    # The printable page says the same, right after the JSON read (whose own record the
    # evidence does not wait for).
    page = client.get(
        "/v1/people/dev-one/evidence", params=PERIOD, headers={**admin, "Accept": "text/html"}
    )
    assert page.status_code == 200, page.text
    assert "Why these goals" in page.text
    assert "team member (through web-team)</td><td>2026-07-01 to 2026-09-30" in page.text
    assert "<td>2026-08, 2026-09</td>" in page.text
