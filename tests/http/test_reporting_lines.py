"""A manager's write rights from the reporting lines of the people graph, as of today
(ADR 42), over HTTP on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from application.ledger import GoalLedger
from domain.access import Role
from domain.values import utc_today
from tests.http.conftest import Goals, Headers, Tokens, check_in_body, created, position, problem

pytestmark = pytest.mark.postgres


def person(client: httpx.Client, admin: Headers, slug: str) -> None:
    body = {
        "id": slug,
        "display_name": slug.replace("-", " ").title(),
        "effective_on": "2026-07-01",
    }
    created_or_ok = client.post("/v1/people", json=body, headers=admin)
    assert created_or_ok.status_code == 201, created_or_ok.text


def reports_to(
    client: httpx.Client, admin: Headers, slug: str, manager: str | None, day: str
) -> None:
    body = {"manager_id": manager, "effective_on": day}
    changed = client.post(f"/v1/people/{slug}/manager", json=body, headers=admin)
    assert changed.status_code in (200, 201), changed.text


def test_a_manager_writes_for_whoever_reports_to_them_today(
    client: httpx.Client, ledger: GoalLedger, goals: Goals, admin: Headers, tokens: Tokens
) -> None:
    # The head of CS reports to the VP of CS; the VP's token names no reports.
    for slug in ("vp-cs", "vp-sales", "head-of-cs"):
        person(client, admin, slug)
    reports_to(client, admin, "head-of-cs", "vp-cs", "2026-07-01")
    goals.open_cycle()
    objective = goals.objective("head-of-cs")
    key_result = goals.key_result(objective["id"], "head-of-cs")
    path = f"/v1/key-results/{key_result['id']}/check-ins"
    vp_cs = tokens.headers("vp-cs", Role.MANAGER)
    vp_sales = tokens.headers("vp-sales", Role.MANAGER)
    member = tokens.headers("vp-cs", Role.MEMBER)

    # The VP of CS checks in for their report; the VP of sales may not, nor may the VP's
    # token without the manager role.
    created(client.post(path, json=check_in_body("40"), headers=vp_cs))
    before = position(ledger)
    problem(client.post(path, json=check_in_body("41"), headers=vp_sales), 403)
    problem(client.post(path, json=check_in_body("41"), headers=member), 403)
    assert position(ledger) == before

    # From today the head of CS reports to the VP of sales: the rights follow, with the
    # same tokens.
    today = utc_today().isoformat()
    reports_to(client, admin, "head-of-cs", "vp-sales", today)
    created(client.post(path, json=check_in_body("42"), headers=vp_sales))
    problem(client.post(path, json=check_in_body("43"), headers=vp_cs), 403)

    # A change taking effect tomorrow changes nothing today.
    tomorrow = (utc_today() + timedelta(days=1)).isoformat()
    reports_to(client, admin, "head-of-cs", "vp-cs", tomorrow)
    problem(client.post(path, json=check_in_body("44"), headers=vp_cs), 403)


def membership(
    client: httpx.Client, admin: Headers, slug: str, team: str, action: str, day: str
) -> None:
    body = {"team": team, "action": action, "effective_on": day}
    changed = client.post(f"/v1/people/{slug}/memberships", json=body, headers=admin)
    assert changed.status_code in (200, 201), changed.text


def test_a_members_team_rights_follow_its_memberships_of_today(
    client: httpx.Client, ledger: GoalLedger, goals: Goals, admin: Headers, tokens: Tokens
) -> None:
    # The analyst's member token names no team: its team rights come from the people graph.
    person(client, admin, "cs-analyst")
    for team in ("team-cs", "team-product"):
        formed = client.post("/v1/teams", json={"id": team, "name": team}, headers=admin)
        assert formed.status_code == 201, formed.text
    membership(client, admin, "cs-analyst", "team-cs", "join", "2026-07-01")
    goals.open_cycle()
    objective = goals.objective("team-cs")
    key_result = goals.key_result(objective["id"], "team-cs")
    path = f"/v1/key-results/{key_result['id']}/check-ins"
    analyst = tokens.headers("cs-analyst", Role.MEMBER)
    outsider = tokens.headers("head-of-sales", Role.MEMBER)

    # A member of the team that owns the key result checks in; someone in no team may not.
    created(client.post(path, json=check_in_body("40"), headers=analyst))
    before = position(ledger)
    problem(client.post(path, json=check_in_body("41"), headers=outsider), 403)
    assert position(ledger) == before

    # From today the analyst is in Product: Customer Success's goals are out of reach,
    # with the same token; a move taking effect tomorrow would change nothing today.
    today = utc_today().isoformat()
    membership(client, admin, "cs-analyst", "team-cs", "leave", today)
    membership(client, admin, "cs-analyst", "team-product", "join", today)
    problem(client.post(path, json=check_in_body("42"), headers=analyst), 403)
    product = goals.key_result(goals.objective("team-product")["id"], "team-product")
    created(
        client.post(
            f"/v1/key-results/{product['id']}/check-ins", json=check_in_body("7"), headers=analyst
        )
    )
