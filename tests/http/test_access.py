"""Who may write what: bearer tokens, roles, and the actor every event records."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest

from application.ledger import GoalLedger
from domain.access import Role
from tests.http.conftest import (
    CYCLE,
    Goals,
    Headers,
    Tokens,
    bearer,
    check_in_body,
    created,
    key_result_body,
    kpi_body,
    objective_body,
    ok,
    position,
    problem,
)

pytestmark = pytest.mark.postgres


def actors(ledger: GoalLedger, goal_id: str) -> list[str]:
    """Who each event of a goal was recorded for, oldest first."""
    return [event.actor for event in ledger.events.get(UUID(goal_id))]  # type: ignore[attr-defined]


def check_in(client: httpx.Client, key_result_id: str, headers: Headers) -> httpx.Response:
    return client.post(
        f"/v1/key-results/{key_result_id}/check-ins", json=check_in_body(), headers=headers
    )


def test_a_member_writes_only_its_own_goals(
    client: httpx.Client, goals: Goals, tokens: Tokens, ledger: GoalLedger
) -> None:
    goals.open_cycle()
    ana = tokens.headers("ana", Role.MEMBER)
    # Ana creates her own objective and key result: the events record her, not the admin.
    objective = goals.objective("ana", headers=ana)
    key_result = goals.key_result(objective["id"], "ana", headers=ana)
    # She checks in on it.
    goals.check_in(key_result["id"], headers=ana)
    assert actors(ledger, key_result["id"]) == ["ana", "ana"]
    assert actors(ledger, objective["id"]) == ["ana", "ana"]

    # She may not create a goal for Bob, nor touch Bob's key result: 403, nothing stored.
    bobs = goals.key_result(goals.objective("bob")["id"], "bob")
    before = position(ledger)
    problem(
        client.post("/v1/objectives", json=objective_body("bob"), headers=ana),
        403,
    )
    problem(check_in(client, bobs["id"], ana), 403)
    problem(
        client.post(
            f"/v1/key-results/{bobs['id']}/retire",
            json={"reason": "not mine", "reason_code": "other"},
            headers=ana,
        ),
        403,
    )
    # A member does not open or close cycles either.
    problem(client.post("/v1/cycles/2026-Q3/close", headers=ana), 403)
    assert position(ledger) == before

    # Reading is open to any valid token.
    assert client.get(f"/v1/key-results/{bobs['id']}", headers=ana).status_code == 200


def test_a_member_writes_its_teams_goals_only_when_the_token_names_the_team(
    client: httpx.Client, goals: Goals, tokens: Tokens, ledger: GoalLedger
) -> None:
    goals.open_cycle()
    team_objective = goals.objective("support")
    # Without the team on her token, Ana may not write the support team's goals.
    plain = tokens.headers("ana", Role.MEMBER)
    problem(
        client.post(
            "/v1/key-results", json=key_result_body(team_objective["id"], "support"), headers=plain
        ),
        403,
    )
    # With it, she may: and the event still records Ana, not the team.
    on_team = tokens.headers("ana", Role.MEMBER, team="support")
    key_result = goals.key_result(team_objective["id"], "support", headers=on_team)
    goals.check_in(key_result["id"], headers=on_team)
    assert actors(ledger, key_result["id"]) == ["ana", "ana"]
    # Another team's goals stay out of reach.
    sales = goals.objective("sales")
    problem(
        client.post("/v1/key-results", json=key_result_body(sales["id"], "sales"), headers=on_team),
        403,
    )


def test_a_manager_writes_its_reports_goals_as_the_token_grants(
    client: httpx.Client, goals: Goals, tokens: Tokens, ledger: GoalLedger
) -> None:
    mia = tokens.headers("mia", Role.MANAGER, reports=["ana"])
    # A manager does not open the quarter: cycles are the company's calendar, the admin's.
    problem(client.post("/v1/cycles", json=CYCLE, headers=mia), 403)
    goals.open_cycle()
    # She sets an objective for Ana, her report, and re-baselines Ana's key result.
    objective = goals.objective("ana", headers=mia)
    key_result = goals.key_result(objective["id"], "ana", headers=mia)
    ok(
        client.post(
            f"/v1/key-results/{key_result['id']}/rebaseline",
            json={
                "baseline": "32",
                "target": "45",
                "reason": "panel halved",
                "reason_code": "wrong_metric",
                "effective_on": "2026-08-01",
            },
            headers=mia,
        )
    )
    assert actors(ledger, key_result["id"]) == ["mia", "mia"]
    # Her own goals too.
    goals.objective("mia", headers=mia)
    # Zed is not her report: 403.
    zeds = goals.key_result(goals.objective("zed")["id"], "zed")
    problem(check_in(client, zeds["id"], mia), 403)
    problem(client.post("/v1/objectives", json=objective_body("zed"), headers=mia), 403)


def score_of(client: httpx.Client, objective_id: str, headers: Headers) -> str:
    response = client.get(f"/v1/objectives/{objective_id}", headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["score"])


def test_a_member_cannot_sink_anothers_objective_with_a_heavy_key_result(
    client: httpx.Client, goals: Goals, tokens: Tokens, ledger: GoalLedger, admin: Headers
) -> None:
    goals.open_cycle()
    # Bob's objective scores 0.81: one key result of weight 3, 81 of the way from 0 to 100.
    bobs = goals.objective("bob")
    key_result = goals.key_result(bobs["id"], "bob", baseline="0", target="100", weight="3")
    goals.check_in(key_result["id"], value="81")
    assert score_of(client, bobs["id"], admin) == "0.8100"

    # Ana adds a key result of her own, weighing 1000, under Bob's objective: refused,
    # since the objective's score is Bob's (it would have fallen to 0.0024).
    ana = tokens.headers("ana", Role.MEMBER)
    before = position(ledger)
    heavy = key_result_body(bobs["id"], "ana", weight="1000")
    problem(client.post("/v1/key-results", json=heavy, headers=ana), 403)
    assert position(ledger) == before
    assert score_of(client, bobs["id"], admin) == "0.8100"

    # Nor may she put a key result in Bob's name under an objective of her own.
    hers = goals.objective("ana", headers=ana)
    problem(
        client.post("/v1/key-results", json=key_result_body(hers["id"], "bob"), headers=ana), 403
    )
    # Bob's manager may add to Bob's objective, and the score moves as the weights say.
    mia = tokens.headers("mia", Role.MANAGER, reports=["bob"])
    goals.key_result(bobs["id"], "bob", headers=mia, weight="1")
    assert score_of(client, bobs["id"], admin) == "0.6075"


def test_a_refusal_names_the_goal_owner_out_of_reach_and_how_the_caller_stands(
    client: httpx.Client, goals: Goals, tokens: Tokens
) -> None:
    goals.open_cycle()
    bobs_objective = goals.objective("bob")
    bobs = goals.key_result(bobs_objective["id"], "bob")
    ana = tokens.headers("ana", Role.MEMBER, team="support", reports=["rio"])

    def refused(path: str, body: dict[str, Any] | None, detail: str) -> None:
        response = client.post(path, json=body, headers=ana)
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json() == {
            "type": "/problems/forbidden",
            "title": "Not allowed",
            "status": 403,
            "detail": detail,
            "instance": path,
        }

    # A goal of someone else's: its owner is named, and how he stands to her (other).
    refused(
        f"/v1/key-results/{bobs['id']}/check-ins",
        check_in_body(),
        "ana may not record_check_in on goals owned by bob (other)",
    )
    # Two owners asked about (the objective's, hers): the one out of reach is named.
    refused(
        "/v1/key-results",
        key_result_body(bobs_objective["id"], "ana"),
        "ana may not create_key_result on goals owned by bob (other)",
    )
    # A report is a manager's to write, not a member's.
    refused(
        "/v1/objectives",
        objective_body("rio"),
        "ana may not create_objective on goals owned by rio (report)",
    )
    # A command of no one owner: the role it needs, and the roles the token has.
    refused(
        f"/v1/cycles/{CYCLE['id']}/close",
        None,
        "close_cycle needs the admin role; this token has member",
    )


def test_reweighting_needs_rights_on_the_key_result_and_on_its_objective(
    client: httpx.Client, goals: Goals, tokens: Tokens, ledger: GoalLedger
) -> None:
    goals.open_cycle()
    # Ana contributes a key result of her own to Bob's objective.
    bobs = goals.objective("bob")
    anas = goals.key_result(bobs["id"], "ana")
    ana = tokens.headers("ana", Role.MEMBER)
    bob = tokens.headers("bob", Role.MEMBER)
    reweight = {"weight": "1000", "reason": "matters most", "reason_code": "priorities_changed"}
    path = f"/v1/key-results/{anas['id']}/reweight"
    # She checks in on it: the key result is hers.
    goals.check_in(anas["id"], headers=ana)
    before = position(ledger)
    # She may not re-weight it: its weight is its share of Bob's objective's score.
    problem(client.post(path, json=reweight, headers=ana), 403)
    # Bob may not either: the key result is Ana's.
    problem(client.post(path, json=reweight, headers=bob), 403)
    assert position(ledger) == before
    # Their manager, with both as reports, may.
    mia = tokens.headers("mia", Role.MANAGER, reports=["ana", "bob"])
    ok(client.post(path, json=reweight, headers=mia))


def test_aligning_needs_rights_on_the_objective_not_on_its_parent(
    client: httpx.Client, goals: Goals, tokens: Tokens
) -> None:
    goals.open_cycle()
    company = goals.objective("ceo")
    ana = tokens.headers("ana", Role.MEMBER)
    hers = goals.objective("ana", headers=ana)
    align = {"reason": "ladders up", "reason_code": "priorities_changed"}
    # Ana aligns her objective up to the CEO's: the parent is named, not changed.
    ok(
        client.post(
            f"/v1/objectives/{hers['id']}/align",
            json={"parent_id": company["id"], **align},
            headers=ana,
        )
    )
    # She may not align the CEO's objective (under hers, or anywhere).
    problem(
        client.post(
            f"/v1/objectives/{company['id']}/align",
            json={"parent_id": None, **align},
            headers=ana,
        ),
        403,
    )


def test_only_an_admin_opens_or_closes_a_cycle(
    client: httpx.Client, tokens: Tokens, admin: Headers, ledger: GoalLedger
) -> None:
    # The quarter just over, and next year's first, not started yet, opened by an admin.
    created(client.post("/v1/cycles", json=CYCLE, headers=admin))
    next_year = {"id": "2027-Q1", "starts_on": "2027-01-01", "ends_on": "2027-03-31"}
    created(client.post("/v1/cycles", json=next_year, headers=admin))
    # A manager may close neither, nor open another: the calendar is the company's.
    mia = tokens.headers("mia", Role.MANAGER, reports=["ana"])
    before = position(ledger)
    for key in ("2026-Q3", "2027-Q1"):
        problem(client.post(f"/v1/cycles/{key}/close", headers=mia), 403)
    problem(client.post("/v1/cycles", json={**next_year, "id": "2027-Q2"}, headers=mia), 403)
    assert position(ledger) == before
    # The admin closes the quarter that is over.
    ok(client.post("/v1/cycles/2026-Q3/close", headers=admin))


def test_readers_cannot_write_even_their_own_goals(
    client: httpx.Client,
    goals: Goals,
    tokens: Tokens,
    ledger: GoalLedger,
    subtests: pytest.Subtests,
) -> None:
    # Ana's key result exists.
    goals.open_cycle()
    objective = goals.objective("ana")
    key_result = goals.key_result(objective["id"], "ana")
    kr = f"/v1/key-results/{key_result['id']}"
    writes: list[tuple[str, dict[str, Any] | None]] = [
        ("/v1/cycles", {**CYCLE, "id": "2026-Q4"}),
        ("/v1/cycles/2026-Q3/close", None),
        ("/v1/objectives", objective_body("ana")),
        (
            f"/v1/objectives/{objective['id']}/retire",
            {"reason": "r", "reason_code": "other"},
        ),
        ("/v1/key-results", key_result_body(objective["id"], "ana")),
        (f"{kr}/check-ins", check_in_body()),
        (f"{kr}/reweight", {"weight": "3", "reason": "r", "reason_code": "other"}),
        ("/v1/kpis", kpi_body("ana")),
    ]
    for role in (Role.REVIEWER, Role.AUDITOR, Role.SERVICE):
        with subtests.test(role=role.value):
            # A token for "ana" herself, carrying only a reading role...
            reader = tokens.headers("ana", role)
            before = position(ledger)
            # ...is refused every write with 403, and nothing is stored.
            for path, body in writes:
                problem(client.post(path, json=body, headers=reader), 403)
            assert position(ledger) == before
            # It reads everything.
            assert client.get(kr, headers=reader).status_code == 200
            assert client.get("/v1/cycles/2026-Q3", headers=reader).status_code == 200
            assert client.get("/v1/objectives", headers=reader).status_code == 200


def test_an_admin_may_do_everything_and_is_recorded_as_itself(
    client: httpx.Client, goals: Goals, tokens: Tokens, ledger: GoalLedger
) -> None:
    boss = tokens.headers("boss", Role.ADMIN)
    created(client.post("/v1/cycles", json=CYCLE, headers=boss))
    # Anyone's goals: Zed's objective, key result, check-in, KPI.
    objective = goals.objective("zed", headers=boss)
    key_result = goals.key_result(objective["id"], "zed", headers=boss)
    goals.check_in(key_result["id"], headers=boss)
    kpi = goals.kpi("zed", headers=boss)
    ok(client.post("/v1/cycles/2026-Q3/close", headers=boss))
    # Each event records the token's subject, never an owner or a name from the body.
    assert actors(ledger, key_result["id"]) == ["boss", "boss"]
    assert actors(ledger, kpi["id"]) == ["boss"]
    assert set(actors(ledger, objective["id"])) == {"boss"}


def test_the_actor_comes_from_the_token_never_from_the_body(
    client: httpx.Client, goals: Goals, tokens: Tokens, ledger: GoalLedger
) -> None:
    goals.open_cycle()
    ana = tokens.headers("ana", Role.MEMBER)
    key_result = goals.key_result(goals.objective("ana", headers=ana)["id"], "ana", headers=ana)
    before = position(ledger)
    # Ana tries to record a check-in as the CEO: the body field is refused outright.
    response = client.post(
        f"/v1/key-results/{key_result['id']}/check-ins",
        json=check_in_body(actor="ceo"),
        headers=ana,
    )
    problem(response, 422, field="actor")
    assert position(ledger) == before
    assert actors(ledger, key_result["id"]) == ["ana"]


def test_without_bearer_credentials_the_challenge_names_no_error(
    client: httpx.Client, quarter: dict[str, Any], tokens: Tokens, ledger: GoalLedger
) -> None:
    kr = f"/v1/key-results/{quarter['key_result']['id']}"
    # (Issuing a token is an event too, so the log is measured after it.)
    token = tokens.issue("ana", Role.MEMBER)
    before = position(ledger)
    for headers in (
        {},  # no header at all
        {"Authorization": "Bearer"},  # a scheme without a token
        {"Authorization": f"Basic {token}"},  # the right token under the wrong scheme
        {"Authorization": token},  # no scheme
    ):
        # Every read and every write answers 401 with a bare Bearer challenge: no bearer
        # credentials were sent, so there is no error to name (RFC 6750, 3.1).
        for response in (
            client.get(kr, headers=headers),
            client.post(f"{kr}/check-ins", json=check_in_body(), headers=headers),
        ):
            body = problem(response, 401, field="Authorization")
            assert body["type"] == "/problems/unauthenticated"
            assert response.headers["WWW-Authenticate"] == "Bearer"
    assert position(ledger) == before


def test_a_refused_token_is_told_whether_it_is_unknown_expired_or_revoked(
    client: httpx.Client, quarter: dict[str, Any], tokens: Tokens, ledger: GoalLedger
) -> None:
    kr = f"/v1/key-results/{quarter['key_result']['id']}"
    # A token that lived a microsecond: it has expired by the time it is sent.
    expired, _ = ledger.issue_token(
        actor="root", subject="ana", roles=[Role.MEMBER], expires_in=timedelta(microseconds=1)
    )
    # A token works until it is revoked...
    revoked = tokens.issue("ana", Role.MEMBER)
    assert client.get(kr, headers=bearer(revoked)).status_code == 200
    ledger.revoke_token(actor="root", token=revoked, reason="left the company")
    before = position(ledger)

    for token, description in [
        ("gp_not-a-real-token", "the token is unknown"),
        ("not-even-goalpost-shaped", "the token is unknown"),
        (expired, "the token has expired"),
        (revoked, "the token was revoked"),
    ]:
        # ...and from then on every read and write says why, in the challenge and the body.
        for response in (
            client.get(kr, headers=bearer(token)),
            client.post(f"{kr}/check-ins", json=check_in_body(), headers=bearer(token)),
        ):
            body = problem(response, 401, field="Authorization")
            assert response.headers["WWW-Authenticate"] == (
                f'Bearer error="invalid_token", error_description="{description}"'
            )
            assert body["type"] == "/problems/invalid-token"
            assert body["detail"] == description
            # Nothing else: not whose token it was, not when it expired or why it went.
            assert set(body) == {"type", "title", "status", "detail", "instance", "field"}
            assert "ana" not in response.text
            assert "left the company" not in response.text
    assert position(ledger) == before
