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
    analyst = tokens.headers("analyst", Role.MEMBER)
    # The analyst creates her own objective and key result: the events record her, not the admin.
    objective = goals.objective("analyst", headers=analyst)
    key_result = goals.key_result(objective["id"], "analyst", headers=analyst)
    # She checks in on it.
    goals.check_in(key_result["id"], headers=analyst)
    assert actors(ledger, key_result["id"]) == ["analyst", "analyst"]
    assert actors(ledger, objective["id"]) == ["analyst", "analyst"]

    # She may not create a goal for the buyer, nor touch the buyer's key result: 403, and
    # nothing stored.
    buyers = goals.key_result(goals.objective("buyer")["id"], "buyer")
    before = position(ledger)
    problem(
        client.post("/v1/objectives", json=objective_body("buyer"), headers=analyst),
        403,
    )
    problem(check_in(client, buyers["id"], analyst), 403)
    problem(
        client.post(
            f"/v1/key-results/{buyers['id']}/retire",
            json={"reason": "not mine", "reason_code": "other"},
            headers=analyst,
        ),
        403,
    )
    # A member does not open or close cycles either.
    problem(client.post("/v1/cycles/2026-Q3/close", headers=analyst), 403)
    assert position(ledger) == before

    # Reading is open to any valid token.
    assert client.get(f"/v1/key-results/{buyers['id']}", headers=analyst).status_code == 200


def test_a_member_writes_its_teams_goals_only_when_the_token_names_the_team(
    client: httpx.Client, goals: Goals, tokens: Tokens, ledger: GoalLedger
) -> None:
    goals.open_cycle()
    team_objective = goals.objective("support")
    # Without the team on her token, the analyst may not write the support team's goals.
    plain = tokens.headers("analyst", Role.MEMBER)
    problem(
        client.post(
            "/v1/key-results", json=key_result_body(team_objective["id"], "support"), headers=plain
        ),
        403,
    )
    # With it, she may: and the event still records the analyst, not the team.
    on_team = tokens.headers("analyst", Role.MEMBER, team="support")
    key_result = goals.key_result(team_objective["id"], "support", headers=on_team)
    goals.check_in(key_result["id"], headers=on_team)
    assert actors(ledger, key_result["id"]) == ["analyst", "analyst"]
    # Another team's goals stay out of reach.
    sales = goals.objective("sales")
    problem(
        client.post("/v1/key-results", json=key_result_body(sales["id"], "sales"), headers=on_team),
        403,
    )


def test_a_manager_writes_its_reports_goals_as_the_token_grants(
    client: httpx.Client, goals: Goals, tokens: Tokens, ledger: GoalLedger
) -> None:
    supervisor = tokens.headers("supervisor", Role.MANAGER, reports=["analyst"])
    # A manager does not open the quarter: cycles are the company's calendar, the admin's.
    problem(client.post("/v1/cycles", json=CYCLE, headers=supervisor), 403)
    goals.open_cycle()
    # She sets an objective for the analyst, her report, and re-baselines the analyst's key result.
    objective = goals.objective("analyst", headers=supervisor)
    key_result = goals.key_result(objective["id"], "analyst", headers=supervisor)
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
            headers=supervisor,
        )
    )
    assert actors(ledger, key_result["id"]) == ["supervisor", "supervisor"]
    # Her own goals too.
    goals.objective("supervisor", headers=supervisor)
    # The outsider is not her report: 403.
    outsiders = goals.key_result(goals.objective("outsider")["id"], "outsider")
    problem(check_in(client, outsiders["id"], supervisor), 403)
    problem(client.post("/v1/objectives", json=objective_body("outsider"), headers=supervisor), 403)


def score_of(client: httpx.Client, objective_id: str, headers: Headers) -> str:
    response = client.get(f"/v1/objectives/{objective_id}", headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["score"])


def test_a_member_cannot_sink_anothers_objective_with_a_heavy_key_result(
    client: httpx.Client, goals: Goals, tokens: Tokens, ledger: GoalLedger, admin: Headers
) -> None:
    goals.open_cycle()
    # The buyer's objective scores 0.81: one key result of weight 3, 81 of the way from 0 to 100.
    buyers = goals.objective("buyer")
    key_result = goals.key_result(buyers["id"], "buyer", baseline="0", target="100", weight="3")
    goals.check_in(key_result["id"], value="81")
    assert score_of(client, buyers["id"], admin) == "0.8100"

    # The analyst adds a key result of her own, weighing 1000, under the buyer's objective: refused,
    # since the objective's score is the buyer's (it would have fallen to 0.0024).
    analyst = tokens.headers("analyst", Role.MEMBER)
    before = position(ledger)
    heavy = key_result_body(buyers["id"], "analyst", weight="1000")
    problem(client.post("/v1/key-results", json=heavy, headers=analyst), 403)
    assert position(ledger) == before
    assert score_of(client, buyers["id"], admin) == "0.8100"

    # Nor may she put a key result in the buyer's name under an objective of her own.
    hers = goals.objective("analyst", headers=analyst)
    problem(
        client.post("/v1/key-results", json=key_result_body(hers["id"], "buyer"), headers=analyst),
        403,
    )
    # The buyer's manager may add to the buyer's objective, and the score moves as the weights say.
    supervisor = tokens.headers("supervisor", Role.MANAGER, reports=["buyer"])
    goals.key_result(buyers["id"], "buyer", headers=supervisor, weight="1")
    assert score_of(client, buyers["id"], admin) == "0.6075"


def test_a_refusal_names_the_goal_owner_out_of_reach_and_how_the_caller_stands(
    client: httpx.Client, goals: Goals, tokens: Tokens
) -> None:
    goals.open_cycle()
    buyers_objective = goals.objective("buyer")
    buyers = goals.key_result(buyers_objective["id"], "buyer")
    analyst = tokens.headers("analyst", Role.MEMBER, team="support", reports=["reportee"])

    def refused(path: str, body: dict[str, Any] | None, detail: str) -> None:
        response = client.post(path, json=body, headers=analyst)
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
        f"/v1/key-results/{buyers['id']}/check-ins",
        check_in_body(),
        "analyst may not record_check_in on goals owned by buyer (other)",
    )
    # Two owners asked about (the objective's, hers): the one out of reach is named.
    refused(
        "/v1/key-results",
        key_result_body(buyers_objective["id"], "analyst"),
        "analyst may not create_key_result on goals owned by buyer (other)",
    )
    # A report is a manager's to write, not a member's.
    refused(
        "/v1/objectives",
        objective_body("reportee"),
        "analyst may not create_objective on goals owned by reportee (report)",
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
    # The analyst contributes a key result of her own to the buyer's objective.
    buyers = goals.objective("buyer")
    analysts = goals.key_result(buyers["id"], "analyst")
    analyst = tokens.headers("analyst", Role.MEMBER)
    buyer = tokens.headers("buyer", Role.MEMBER)
    reweight = {"weight": "1000", "reason": "matters most", "reason_code": "priorities_changed"}
    path = f"/v1/key-results/{analysts['id']}/reweight"
    # She checks in on it: the key result is hers.
    goals.check_in(analysts["id"], headers=analyst)
    before = position(ledger)
    # She may not re-weight it: its weight is its share of the buyer's objective's score.
    problem(client.post(path, json=reweight, headers=analyst), 403)
    # The buyer may not either: the key result is the analyst's.
    problem(client.post(path, json=reweight, headers=buyer), 403)
    assert position(ledger) == before
    # Their manager, with both as reports, may.
    supervisor = tokens.headers("supervisor", Role.MANAGER, reports=["analyst", "buyer"])
    ok(client.post(path, json=reweight, headers=supervisor))


def test_aligning_needs_rights_on_the_objective_not_on_its_parent(
    client: httpx.Client, goals: Goals, tokens: Tokens
) -> None:
    goals.open_cycle()
    company = goals.objective("ceo")
    analyst = tokens.headers("analyst", Role.MEMBER)
    hers = goals.objective("analyst", headers=analyst)
    align = {"reason": "ladders up", "reason_code": "priorities_changed"}
    # The analyst aligns her objective up to the CEO's: the parent is named, not changed.
    ok(
        client.post(
            f"/v1/objectives/{hers['id']}/align",
            json={"parent_id": company["id"], **align},
            headers=analyst,
        )
    )
    # She may not align the CEO's objective (under hers, or anywhere).
    problem(
        client.post(
            f"/v1/objectives/{company['id']}/align",
            json={"parent_id": None, **align},
            headers=analyst,
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
    supervisor = tokens.headers("supervisor", Role.MANAGER, reports=["analyst"])
    before = position(ledger)
    for key in ("2026-Q3", "2027-Q1"):
        problem(client.post(f"/v1/cycles/{key}/close", headers=supervisor), 403)
    problem(client.post("/v1/cycles", json={**next_year, "id": "2027-Q2"}, headers=supervisor), 403)
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
    # The analyst's key result exists.
    goals.open_cycle()
    objective = goals.objective("analyst")
    key_result = goals.key_result(objective["id"], "analyst")
    kr = f"/v1/key-results/{key_result['id']}"
    writes: list[tuple[str, dict[str, Any] | None]] = [
        ("/v1/cycles", {**CYCLE, "id": "2026-Q4"}),
        ("/v1/cycles/2026-Q3/close", None),
        ("/v1/objectives", objective_body("analyst")),
        (
            f"/v1/objectives/{objective['id']}/retire",
            {"reason": "r", "reason_code": "other"},
        ),
        ("/v1/key-results", key_result_body(objective["id"], "analyst")),
        (f"{kr}/check-ins", check_in_body()),
        (f"{kr}/reweight", {"weight": "3", "reason": "r", "reason_code": "other"}),
        ("/v1/kpis", kpi_body("analyst")),
    ]
    for role in (Role.REVIEWER, Role.AUDITOR, Role.SERVICE):
        with subtests.test(role=role.value):
            # A token for "analyst" herself, carrying only a reading role...
            reader = tokens.headers("analyst", role)
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
    # Anyone's goals: the outsider's objective, key result, check-in, KPI.
    objective = goals.objective("outsider", headers=boss)
    key_result = goals.key_result(objective["id"], "outsider", headers=boss)
    goals.check_in(key_result["id"], headers=boss)
    kpi = goals.kpi("outsider", headers=boss)
    ok(client.post("/v1/cycles/2026-Q3/close", headers=boss))
    # Each event records the token's subject, never an owner or a name from the body.
    assert actors(ledger, key_result["id"]) == ["boss", "boss"]
    assert actors(ledger, kpi["id"]) == ["boss"]
    assert set(actors(ledger, objective["id"])) == {"boss"}


def test_the_actor_comes_from_the_token_never_from_the_body(
    client: httpx.Client, goals: Goals, tokens: Tokens, ledger: GoalLedger
) -> None:
    goals.open_cycle()
    analyst = tokens.headers("analyst", Role.MEMBER)
    key_result = goals.key_result(
        goals.objective("analyst", headers=analyst)["id"], "analyst", headers=analyst
    )
    before = position(ledger)
    # The analyst tries to record a check-in as the CEO: the body field is refused outright.
    response = client.post(
        f"/v1/key-results/{key_result['id']}/check-ins",
        json=check_in_body(actor="ceo"),
        headers=analyst,
    )
    problem(response, 422, field="actor")
    assert position(ledger) == before
    assert actors(ledger, key_result["id"]) == ["analyst"]


def test_without_bearer_credentials_the_challenge_names_no_error(
    client: httpx.Client, quarter: dict[str, Any], tokens: Tokens, ledger: GoalLedger
) -> None:
    kr = f"/v1/key-results/{quarter['key_result']['id']}"
    # (Issuing a token is an event too, so the log is measured after it.)
    token = tokens.issue("analyst", Role.MEMBER)
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
        actor="root", subject="analyst", roles=[Role.MEMBER], expires_in=timedelta(microseconds=1)
    )
    # A token works until it is revoked...
    revoked = tokens.issue("analyst", Role.MEMBER)
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
            assert "analyst" not in response.text
            assert "left the company" not in response.text
    assert position(ledger) == before
