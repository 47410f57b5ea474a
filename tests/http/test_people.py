"""People and teams over HTTP on PostgreSQL: a quarter in which an engineer moves to the
product team mid-quarter, a departure, an HRIS import, and an erasure the seal survives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner

from application.ledger import GoalLedger
from cli.people import people_app
from domain.access import Role
from domain.people import pseudonym
from projections.registry import worker_for
from tests.http.conftest import CYCLE, Goals, Headers, Tokens, created, ok, position, problem

pytestmark = pytest.mark.postgres

HEADER = "person_id,display_name,email,team,manager_id,effective_on\n"


def person(client: httpx.Client, admin: Headers, person_id: str, name: str) -> dict[str, Any]:
    body = {
        "id": person_id,
        "display_name": name,
        "email": f"{person_id}@example.com",
        "effective_on": "2026-07-01",
    }
    return created(client.post("/v1/people", json=body, headers=admin))


def team(client: httpx.Client, admin: Headers, team_id: str, name: str) -> None:
    created(client.post("/v1/teams", json={"id": team_id, "name": name}, headers=admin))


def move(
    client: httpx.Client, admin: Headers, person_id: str, team_id: str, action: str, day: str
) -> httpx.Response:
    body = {"team": team_id, "action": action, "effective_on": day}
    return client.post(f"/v1/people/{person_id}/memberships", json=body, headers=admin)


def test_a_person_moves_teams_mid_quarter_and_later_leaves(
    client: httpx.Client, admin: Headers, ledger: GoalLedger, tokens: Tokens
) -> None:
    # Two teams, an engineering lead, and an engineer reporting to them.
    team(client, admin, "eng-team", "Engineering")
    team(client, admin, "product-team", "Product")
    person(client, admin, "head-of-eng", "Eng Lead")
    person(client, admin, "eng-1", "Dev One")
    ok(move(client, admin, "eng-1", "eng-team", "join", "2026-07-01"))
    manager = {"manager_id": "head-of-eng", "effective_on": "2026-07-01"}
    ok(client.post("/v1/people/eng-1/manager", json=manager, headers=admin))

    # Mid-quarter the engineer moves to the product team: a leave and a join, one day.
    known_before_move = ledger.get_person("eng-1").modified_on
    ok(move(client, admin, "eng-1", "eng-team", "leave", "2026-08-15"))
    ok(move(client, admin, "eng-1", "product-team", "join", "2026-08-15"))

    # Read as of a day before and after the move.
    member = tokens.headers("eng-2", Role.MEMBER)
    early = ok(client.get("/v1/people/eng-1?as_of=2026-08-14", headers=member))
    assert (early["display_name"], early["teams"], early["manager_id"]) == (
        "Dev One",
        ["eng-team"],
        "head-of-eng",
    )
    late = ok(client.get("/v1/people/eng-1?as_of=2026-08-15", headers=member))
    assert late["teams"] == ["product-team"]

    # The teams' members as of the same days.
    eng_early = ok(client.get("/v1/teams/eng-team?as_of=2026-08-14", headers=member))
    assert eng_early["members"] == [{"id": "eng-1", "display_name": "Dev One"}]
    assert ok(client.get("/v1/teams/eng-team?as_of=2026-08-15", headers=member))["members"] == []
    product = ok(client.get("/v1/teams/product-team?as_of=2026-09-01", headers=member))
    assert [m["id"] for m in product["members"]] == ["eng-1"]

    # As known before the move was recorded, the engineer was still in engineering.
    known = client.get(
        "/v1/people/eng-1",
        params={"as_of": "2026-09-01", "known_at": known_before_move.isoformat()},
        headers=member,
    )
    assert ok(known)["teams"] == ["eng-team"]

    # A departure: from that day no team and no manager.
    gone = {"effective_on": "2026-09-20"}
    ok(client.post("/v1/people/eng-1/departure", json=gone, headers=admin))
    after = ok(client.get("/v1/people/eng-1?as_of=2026-09-20", headers=member))
    assert (after["teams"], after["manager_id"], after["departed_on"]) == (
        [],
        None,
        "2026-09-20",
    )
    assert (
        ok(client.get("/v1/teams/product-team?as_of=2026-09-20", headers=member))["members"] == []
    )
    # A fact after the departure is refused, and nothing is stored.
    last = position(ledger)
    problem(move(client, admin, "eng-1", "eng-team", "join", "2026-09-25"), 409)
    assert position(ledger) == last


def test_bad_people_input_names_the_field_and_stores_nothing(
    client: httpx.Client, admin: Headers, ledger: GoalLedger, tokens: Tokens
) -> None:
    person(client, admin, "eng-1", "Dev One")
    member = tokens.headers("eng-1", Role.MEMBER)
    last = position(ledger)
    bad = {"id": "eng-2", "display_name": "Dev Two", "email": "not-an-address"}
    problem(client.post("/v1/people", json=bad, headers=admin), 422, "email")
    problem(
        client.post("/v1/people", json={"id": "eng 2", "display_name": "x"}, headers=admin), 422
    )
    problem(move(client, admin, "eng-1", "no-such-team", "join", "2026-07-01"), 422, "team")
    self_manager = {"manager_id": "eng-1", "effective_on": "2026-07-01"}
    problem(client.post("/v1/people/eng-1/manager", json=self_manager, headers=admin), 422)
    problem(client.get("/v1/people/nobody", headers=admin), 404)
    # A member may read people but record nothing about them.
    problem(client.post("/v1/teams", json={"id": "t", "name": "T"}, headers=member), 403)
    assert position(ledger) == last


def test_the_hris_import_records_only_changes_and_an_invalid_file_nothing(
    client: httpx.Client, admin: Headers, ledger: GoalLedger, pg_url: str, tmp_path: Path
) -> None:
    # The command as `goalpost people import` mounts it.
    goalpost = typer.Typer()
    goalpost.add_typer(people_app, name="people")

    def run(text: str) -> tuple[int, str]:
        path = tmp_path / "hris.csv"
        path.write_text(HEADER + text, encoding="utf-8")
        result = CliRunner().invoke(
            goalpost,
            ["people", "import", str(path), "--actor", "hr-ops"],
            env={"GOALPOST_DATABASE_URL": pg_url},
        )
        return result.exit_code, result.output

    # The first export: a lead and an engineer in engineering.
    first = (
        "head-of-eng,Eng Lead,head-of-eng@example.com,eng-team,,2026-07-01\n"
        "eng-1,Dev One,eng-1@example.com,eng-team,head-of-eng,2026-07-01\n"
    )
    code, output = run(first)
    assert code == 0, output
    assert "people registered: 2" in output and "teams formed: 1" in output

    # The same file again records nothing.
    head = position(ledger)
    code, output = run(first)
    assert code == 0, output
    assert "recorded 0 events" in output
    assert position(ledger) == head

    # The next export moves the engineer to product: only that change is recorded.
    code, output = run(
        first + "eng-1,Dev One,eng-1@example.com,product-team,head-of-eng,2026-08-15\n"
    )
    assert code == 0, output
    assert "team joins: 1" in output and "team leaves: 1" in output
    assert "manager changes: 0" in output and "names changed: 0" in output
    moved = ok(client.get("/v1/people/eng-1?as_of=2026-08-15", headers=admin))
    assert moved["teams"] == ["product-team"]

    # A file with one bad line stores nothing and names the line.
    head = position(ledger)
    code, output = run(
        first + "eng-2,Dev Two,eng-2@example.com,eng-team,nobody-at-all,2026-07-01\n"
    )
    assert code == 2
    assert "line 4" in output and "manager_id" in output
    assert position(ledger) == head
    problem(client.get("/v1/people/eng-2", headers=admin), 404)


def test_erasure_shows_a_pseudonym_and_the_seal_still_verifies(
    client: httpx.Client, admin: Headers, ledger: GoalLedger, tokens: Tokens
) -> None:
    team(client, admin, "eng-team", "Engineering")
    person(client, admin, "eng-1", "Dev One")
    ok(move(client, admin, "eng-1", "eng-team", "join", "2026-07-01"))
    rename = {"display_name": "Dev Renamed", "effective_on": "2026-08-01"}
    ok(client.post("/v1/people/eng-1/name", json=rename, headers=admin))
    renamed = ok(client.get("/v1/people/eng-1?as_of=2026-08-01", headers=admin))
    assert renamed["display_name"] == "Dev Renamed"
    assert renamed["email"] is None

    # Only the admin erases.
    member = tokens.headers("eng-1", Role.MANAGER)
    problem(client.post("/v1/people/eng-1/erase", headers=member), 403)
    assert ok(client.get("/v1/people/eng-1", headers=admin))["display_name"] == "Dev Renamed"

    ok(client.post("/v1/people/eng-1/erase", headers=admin))
    erased = ok(client.get("/v1/people/eng-1?as_of=2026-07-15", headers=admin))
    assert (erased["display_name"], erased["email"], erased["erased"]) == (
        pseudonym("eng-1"),
        None,
        True,
    )
    listed = ok(client.get("/v1/teams/eng-team?as_of=2026-07-15", headers=admin))
    assert listed["members"] == [{"id": "eng-1", "display_name": pseudonym("eng-1")}]
    # No name is taken for an erased person again, and a second erasure is a conflict.
    problem(client.post("/v1/people/eng-1/name", json=rename, headers=admin), 409)
    problem(client.post("/v1/people/eng-1/erase", headers=admin), 409)

    # The seal over the whole log verifies: the erasure changed no event.
    worker_for(ledger).run_until_caught_up()
    verified = client.get("/v1/audit/verify", headers=admin)
    assert verified.status_code == 200, verified.text
    assert verified.json()["intact"] is True, verified.json()


def test_history_and_the_change_report_name_owners_as_of_the_day_they_describe(
    client: httpx.Client, admin: Headers, ledger: GoalLedger, goals: Goals, tokens: Tokens
) -> None:
    auditor = tokens.headers("audit-lead", Role.AUDITOR)
    # The analyst is a person (renamed from mid-August); the objective's owner is a team.
    person(client, admin, "analyst", "Support Analyst")
    rename = {"display_name": "Senior Support Analyst", "effective_on": "2026-08-15"}
    ok(client.post("/v1/people/analyst/name", json=rename, headers=admin))
    goals.open_cycle()
    objective = goals.objective("cs-team")
    key_result = goals.key_result(objective["id"], "analyst")
    goals.check_in(key_result["id"], value="40", effective_on="2026-08-01")
    goals.check_in(key_result["id"], value="41", effective_on="2026-09-01")
    # The change report lists changes of plan: a re-baseline.
    rebaseline = {
        "baseline": "30",
        "target": "45",
        "reason": "the survey changed",
        "reason_code": "wrong_metric",
        "effective_on": "2026-09-02",
    }
    ok(
        client.post(
            f"/v1/key-results/{key_result['id']}/rebaseline", json=rebaseline, headers=admin
        )
    )
    worker_for(ledger).run_until_caught_up()

    # The history names the owner as on each entry's day; the team has no name.
    history = client.get(f"/v1/key-results/{key_result['id']}/history", headers=admin).json()
    names = {(i["event"], i["effective_on"]): i["owner_name"] for i in history["items"]}
    assert names[("check_in_recorded", "2026-08-01")] == "Support Analyst"
    assert names[("check_in_recorded", "2026-09-01")] == "Senior Support Analyst"
    assert {i["actor_name"] for i in history["items"]} == {None}  # the admin is no person
    team_history = client.get(f"/v1/objectives/{objective['id']}/history", headers=admin).json()
    assert {i["owner_name"] for i in team_history["items"]} == {None}

    # The change report, for the auditor, likewise.
    report = client.get(f"/v1/cycles/{CYCLE['id']}/changes", headers=auditor).json()
    rebaselined = [row for row in report["items"] if row["event"] == "rebaselined"]
    assert [(row["owner"], row["owner_name"]) for row in rebaselined] == [
        ("analyst", "Senior Support Analyst")
    ]

    # Once erased, both show the pseudonym.
    ok(client.post("/v1/people/analyst/erase", headers=admin))
    worker_for(ledger).run_until_caught_up()
    history = client.get(f"/v1/key-results/{key_result['id']}/history", headers=admin).json()
    assert {i["owner_name"] for i in history["items"]} == {pseudonym("analyst")}
    report = client.get(f"/v1/cycles/{CYCLE['id']}/changes", headers=auditor).json()
    assert {row["owner_name"] for row in report["items"] if row["owner"] == "analyst"} == {
        pseudonym("analyst")
    }


def test_evidence_names_its_person_and_the_owners_beside_their_ids(
    client: httpx.Client, admin: Headers, ledger: GoalLedger, goals: Goals
) -> None:
    # The analyst, renamed in September, owns an objective and a key result with a check-in.
    person(client, admin, "analyst", "Support Analyst")
    rename = {"display_name": "Senior Support Analyst", "effective_on": "2026-09-01"}
    ok(client.post("/v1/people/analyst/name", json=rename, headers=admin))
    goals.open_cycle()
    objective = goals.objective("analyst")
    key_result = goals.key_result(objective["id"], "analyst")
    goals.check_in(key_result["id"], value="40", effective_on="2026-08-01")
    worker_for(ledger).run_until_caught_up()

    # Names as on the period's last day: August's review says the earlier name.
    def read(to: str, accept: str) -> httpx.Response:
        params = {"from": "2026-07-01", "to": to}
        headers = {**admin, "Accept": accept}
        response = client.get("/v1/people/analyst/evidence", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return response

    assert read("2026-08-31", "application/json").json()["names"] == {"analyst": "Support Analyst"}
    assert read("2026-09-30", "application/json").json()["names"] == {
        "analyst": "Senior Support Analyst"
    }
    page = read("2026-09-30", "text/html").text
    assert "Appraisal evidence: Senior Support Analyst (analyst)" in page
    assert "owned by Senior Support Analyst (analyst)" in page

    # Once erased, the pseudonym, and the name nowhere on the page.
    ok(client.post("/v1/people/analyst/erase", headers=admin))
    worker_for(ledger).run_until_caught_up()
    erased = read("2026-09-30", "application/json").json()
    assert erased["names"] == {"analyst": pseudonym("analyst")}
    page = read("2026-09-30", "text/html").text
    assert "Senior Support Analyst" not in page and "Support Analyst" not in page
    assert f"Appraisal evidence: {pseudonym('analyst')} (analyst)" in page


def test_people_writes_are_idempotent_and_version_checked(
    client: httpx.Client, admin: Headers, ledger: GoalLedger
) -> None:
    # A retried registration with its Idempotency-Key answers the first response.
    body = {"id": "eng-1", "display_name": "Dev One", "effective_on": "2026-07-01"}
    headers = {**admin, "Idempotency-Key": "register-eng-1"}
    first = created(client.post("/v1/people", json=body, headers=headers))
    last = position(ledger)
    retry = created(client.post("/v1/people", json=body, headers=headers))
    assert (retry["id"], retry["version"]) == (first["id"], first["version"])
    assert position(ledger) == last
    # Registering the id again without the key is a conflict naming it.
    problem(client.post("/v1/people", json=body, headers=admin), 409, "id")
    team(client, admin, "eng-team", "Engineering")

    # A change against a stale version is refused with the current one.
    stale = {**admin, "If-Match": '"0"'}
    join = {"team": "eng-team", "action": "join", "effective_on": "2026-07-01"}
    refused = problem(client.post("/v1/people/eng-1/memberships", json=join, headers=stale), 412)
    assert refused["current_version"] == first["version"]
    current = {**admin, "If-Match": f'"{first["version"]}"'}
    assert (
        ok(client.post("/v1/people/eng-1/memberships", json=join, headers=current))["version"]
        == first["version"] + 1
    )
