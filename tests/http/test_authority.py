"""Every row of the authority table (domain/authority.py, ADR 23), over HTTP.

Each row makes its command's real request with a token of the row's role, for a goal
whose owner stands in the row's relation to that token, and expects 2xx where the row
allows it, and 403 with nothing stored where it does not. The rows are the table's own,
so a row added to the table is a request made here; a command without a request below
fails its rows.

The rows share one server and one token per role, so the few hundred requests cost a
schema and a server once. A row that is allowed changes what it acts on, so it arranges
goals of its own; a refused row changes nothing (it checks that), so the refused rows of
a command and relation share the goals arranged for the first of them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from application.ledger import GoalLedger
from domain.access import Role
from domain.authority import AUTHORITY, Command, Relation, Rule
from projections.registry import worker_for
from tests.http.conftest import (
    CYCLE,
    Goals,
    Headers,
    LiveServer,
    Tokens,
    check_in_body,
    created,
    initialised_ledger,
    kpi_body,
    position,
    problem,
    serve,
)
from tests.http.reviews import assign

pytestmark = pytest.mark.postgres

REASON = {"reason": "the plan changed", "reason_code": "priorities_changed"}
Act = Callable[[Headers], httpx.Response]


@pytest.fixture(scope="module")
def live(module_pg_url: str) -> Iterator[LiveServer]:
    with serve(initialised_ledger(module_pg_url)) as server:
        yield server


@pytest.fixture(scope="module")
def admin(live: LiveServer) -> Headers:
    return Tokens(live.ledger).headers("root", Role.ADMIN)


@pytest.fixture(scope="module")
def client(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=10.0) as http:
        yield http


# Who the tokens speak for, and the owners standing in each relation to them.
SUBJECT, TEAM, REPORT, STRANGER = "staffer", "support", "reportee", "outsider"
OWNERS = {
    Relation.OWN: SUBJECT,
    Relation.TEAM: TEAM,
    Relation.REPORT: REPORT,
    Relation.OTHER: STRANGER,
    Relation.UNSCOPED: SUBJECT,
}


@pytest.fixture(scope="module")
def role_headers(live: LiveServer) -> dict[Role, Headers]:
    """One token per role, each for the staffer, on the support team, managing the reportee."""
    tokens = Tokens(live.ledger)
    return {role: tokens.headers(SUBJECT, role, team=TEAM, reports=[REPORT]) for role in Role}


@pytest.fixture(scope="module")
def world(live: LiveServer, client: httpx.Client, admin: Headers) -> Arrange:
    """2026-Q3 open, and the admin's means to arrange goals in it."""
    Goals(client, admin).open_cycle()
    return Arrange(client, live.ledger, admin)


class Arrange:
    """One row's world: goals the admin makes for an owner, and the request the row makes."""

    def __init__(self, client: httpx.Client, ledger: GoalLedger, admin: Headers) -> None:
        self.client = client
        self.ledger = ledger
        self.goals = Goals(client, admin)
        self.admin = admin
        self.for_refusals: dict[tuple[Command, str], Act] = {}

    def request(self, command: Command, owner: str, *, fresh: bool) -> Act:
        if fresh:
            return REQUESTS[command](self, owner)
        key = (command, owner)
        if key not in self.for_refusals:
            self.for_refusals[key] = REQUESTS[command](self, owner)
        return self.for_refusals[key]

    def caught_up(self) -> None:
        """Read models past every event so far, for the routes that read them."""
        worker_for(self.ledger).run_until_caught_up()

    def key_result(self, owner: str) -> str:
        objective = self.goals.objective(owner)
        return str(self.goals.key_result(objective["id"], owner)["id"])

    def post(self, path: str, body: dict[str, Any] | None = None) -> Act:
        return lambda headers: self.client.post(path, json=body, headers=headers)

    def get(self, *paths: str) -> Act:
        """Every path, with the same token; the answer of the first that is not 2xx, or the last."""

        def act(headers: Headers) -> httpx.Response:
            for path in paths:
                response = self.client.get(path, headers=headers)
                if not response.is_success:
                    return response
            return response

        return act


def _open_cycle(world: Arrange, owner: str) -> Act:
    key = f"c-{secrets.token_hex(4)}"
    return world.post("/v1/cycles", {**CYCLE, "id": key})


def _close_cycle(world: Arrange, owner: str) -> Act:
    key = f"c-{secrets.token_hex(4)}"
    created(world.client.post("/v1/cycles", json={**CYCLE, "id": key}, headers=world.admin))
    return world.post(f"/v1/cycles/{key}/close")


def _create_objective(world: Arrange, owner: str) -> Act:
    return world.post(
        "/v1/objectives",
        {"cycle_id": CYCLE["id"], "title": "Grow", "owner": owner, "kind": "committed"},
    )


def _align_objective(world: Arrange, owner: str) -> Act:
    parent = world.goals.objective(f"ceo-{secrets.token_hex(4)}")
    objective = world.goals.objective(owner)
    return world.post(
        f"/v1/objectives/{objective['id']}/align", {"parent_id": parent["id"], **REASON}
    )


def _retire_objective(world: Arrange, owner: str) -> Act:
    objective = world.goals.objective(owner)
    return world.post(f"/v1/objectives/{objective['id']}/retire", REASON)


def _create_key_result(world: Arrange, owner: str) -> Act:
    objective = world.goals.objective(owner)
    body = {
        "objective_id": objective["id"],
        "title": "NPS from 32 to 50",
        "owner": owner,
        "unit": "points",
        "direction": "increase",
        "baseline": "32",
        "target": "50",
        "measurement": {"source": "survey", "query": "promoters - detractors"},
        "effective_on": "2026-07-01",
    }
    return world.post("/v1/key-results", body)


def _record_check_in(world: Arrange, owner: str) -> Act:
    return world.post(f"/v1/key-results/{world.key_result(owner)}/check-ins", check_in_body())


def _correct_check_in(world: Arrange, owner: str) -> Act:
    key_result = world.key_result(owner)
    check_in = world.goals.check_in(key_result)
    return world.post(
        f"/v1/key-results/{key_result}/corrections",
        {"check_in_id": check_in["check_in_id"], "value": "40", "reason": "typo"},
    )


def _rebaseline(world: Arrange, owner: str) -> Act:
    return world.post(
        f"/v1/key-results/{world.key_result(owner)}/rebaseline",
        {"baseline": "30", "target": "45", "effective_on": "2026-08-01", **REASON},
    )


def _reweight(world: Arrange, owner: str) -> Act:
    return world.post(
        f"/v1/key-results/{world.key_result(owner)}/reweight",
        {"weight": "2", "effective_on": "2026-08-01", **REASON},
    )


def _retire_key_result(world: Arrange, owner: str) -> Act:
    return world.post(f"/v1/key-results/{world.key_result(owner)}/retire", REASON)


def _graduate_key_result(world: Arrange, owner: str) -> Act:
    body = {k: v for k, v in kpi_body(owner).items() if k not in ("owner", "target_set_on")}
    return world.post(
        f"/v1/key-results/{world.key_result(owner)}/graduate",
        {**body, "reason": "the level is the norm now"},
    )


def _carry_forward_key_result(world: Arrange, owner: str) -> Act:
    # A later cycle of its own, begun: the key result and the objective created for it
    # there are both the owner's.
    key = f"2026-Q4-{secrets.token_hex(4)}"
    later = {"id": key, "starts_on": "2026-10-01", "ends_on": "2027-03-31"}
    created(world.client.post("/v1/cycles", json=later, headers=world.admin))
    return world.post(
        f"/v1/key-results/{world.key_result(owner)}/carry-forward",
        {"cycle_id": key, "reason": "not done yet: it goes on next quarter"},
    )


def _add_kpi_key_result(world: Arrange, owner: str) -> Act:
    kpi = _kpi(world, owner)
    reading = {"value": "1.5", "effective_on": "2026-07-02"}
    created(world.client.post(f"/v1/kpis/{kpi}/readings", json=reading, headers=world.admin))
    objective = world.goals.objective(owner)
    body = {"objective_id": objective["id"], "title": "First reply within the hour", "target": "1"}
    return world.post(f"/v1/kpis/{kpi}/key-results", body)


def _self_assess(world: Arrange, owner: str) -> Act:
    # 2026-Q3 ended over two weeks ago and is not closed: the window is open.
    return world.post(
        f"/v1/key-results/{world.key_result(owner)}/self-assessment",
        {"grade": "0.7", "reflection": "most of it landed"},
    )


def _define_kpi(world: Arrange, owner: str) -> Act:
    return world.post("/v1/kpis", kpi_body(owner))


def _kpi(world: Arrange, owner: str) -> str:
    return str(world.goals.kpi(owner)["id"])


def _record_kpi_reading(world: Arrange, owner: str) -> Act:
    return world.post(f"/v1/kpis/{_kpi(world, owner)}/readings", {"value": "1.5"})


def _correct_kpi_reading(world: Arrange, owner: str) -> Act:
    kpi = _kpi(world, owner)
    reading = created(
        world.client.post(f"/v1/kpis/{kpi}/readings", json={"value": "1.5"}, headers=world.admin)
    )
    return world.post(
        f"/v1/kpis/{kpi}/readings/corrections",
        {"reading_id": reading["reading_id"], "value": "1.4", "reason": "typo"},
    )


def _change_kpi_target(world: Arrange, owner: str) -> Act:
    return world.post(
        f"/v1/kpis/{_kpi(world, owner)}/target",
        {"target": "3", "healthy_low": "0", "healthy_high": "3", **REASON},
    )


def _retire_kpi(world: Arrange, owner: str) -> Act:
    return world.post(f"/v1/kpis/{_kpi(world, owner)}/retire", REASON)


def _read_goals(world: Arrange, owner: str) -> Act:
    objective = world.goals.objective(owner)
    key_result = world.goals.key_result(objective["id"], owner)["id"]
    kpi = _kpi(world, owner)
    world.caught_up()
    return world.get(
        f"/v1/cycles/{CYCLE['id']}",
        f"/v1/objectives/{objective['id']}",
        "/v1/objectives?limit=1",
        f"/v1/key-results/{key_result}",
        f"/v1/kpis/{kpi}",
        "/v1/kpis?limit=1",
        f"/v1/key-results/{key_result}/history",
        f"/v1/objectives/{objective['id']}/history",
        f"/v1/kpis/{kpi}/history",
        "/v1/kpis/health",
        f"/v1/scores?cycle_id={CYCLE['id']}",
        "/v1/cycles?limit=1",
    )


def _read_change_report(world: Arrange, owner: str) -> Act:
    world.caught_up()
    return world.get(f"/v1/cycles/{CYCLE['id']}/changes")


def _verify_seal(world: Arrange, owner: str) -> Act:
    world.caught_up()
    return world.get("/v1/audit/verify")


def _read_evidence(world: Arrange, owner: str) -> Act:
    # A reviewer reads the evidence of a reviewee assigned to it (ADR 42), not its own.
    world.key_result(STRANGER)
    assign(world.ledger, SUBJECT, STRANGER)
    world.caught_up()
    return world.get(f"/v1/people/{STRANGER}/evidence?from=2026-07-01&to=2026-09-30")


def _transfer_goal(world: Arrange, owner: str) -> Act:
    # To an owner every goal-writing role reaches (its own goals or its team's), so the
    # row is decided by the relation to the goal's current owner.
    to = TEAM if owner == SUBJECT else SUBJECT
    return world.post(
        f"/v1/key-results/{world.key_result(owner)}/transfer",
        {"owner": to, "reason": "reorganised", "effective_on": "2026-08-15"},
    )


def _manage_contributors(world: Arrange, owner: str) -> Act:
    return world.post(
        f"/v1/key-results/{world.key_result(owner)}/contributors",
        {"contributor": f"eng-{secrets.token_hex(4)}"},
    )


REVIEW_CYCLE = {"starts_on": "2026-07-01", "ends_on": "2026-12-31"}


def _open_review_cycle(world: Arrange, owner: str) -> Act:
    return world.post("/v1/review-cycles", {**REVIEW_CYCLE, "id": f"r-{secrets.token_hex(4)}"})


def _assign_reviewer(world: Arrange, owner: str) -> Act:
    key = f"r-{secrets.token_hex(4)}"
    created(
        world.client.post(
            "/v1/review-cycles", json={**REVIEW_CYCLE, "id": key}, headers=world.admin
        )
    )
    return world.post(
        f"/v1/review-cycles/{key}/assignments", {"reviewer": owner, "reviewee": STRANGER}
    )


def _read_evidence_reads(world: Arrange, owner: str) -> Act:
    key = assign(world.ledger, SUBJECT, STRANGER)
    return world.get(
        f"/v1/review-cycles/{key}",
        f"/v1/review-cycles/{key}/evidence-reads",
        f"/v1/people/{STRANGER}/evidence-reads",
    )


def _read_calibration(world: Arrange, owner: str) -> Act:
    world.caught_up()
    return world.get("/v1/calibration")


def _follow_events(world: Arrange, owner: str) -> Act:
    return world.get("/v1/events?limit=5")


def _manage_webhooks(world: Arrange, owner: str) -> Act:
    return world.get("/v1/webhooks")


# Each command's real request, after arranging what it needs (as an admin).
def _manage_people(world: Arrange, owner: str) -> Act:
    return world.post("/v1/teams", {"id": f"t-{secrets.token_hex(4)}", "name": "Support"})


def _person(world: Arrange) -> str:
    person_id = f"p-{secrets.token_hex(4)}"
    body = {"id": person_id, "display_name": "Support Lead", "effective_on": "2026-07-01"}
    created(world.client.post("/v1/people", json=body, headers=world.admin))
    return person_id


def _erase_person(world: Arrange, owner: str) -> Act:
    return world.post(f"/v1/people/{_person(world)}/erase")


def _read_people(world: Arrange, owner: str) -> Act:
    return world.get(f"/v1/people/{_person(world)}")


REQUESTS: dict[Command, Callable[[Arrange, str], Act]] = {
    Command.OPEN_CYCLE: _open_cycle,
    Command.CLOSE_CYCLE: _close_cycle,
    Command.CREATE_OBJECTIVE: _create_objective,
    Command.ALIGN_OBJECTIVE: _align_objective,
    Command.RETIRE_OBJECTIVE: _retire_objective,
    Command.CREATE_KEY_RESULT: _create_key_result,
    Command.RECORD_CHECK_IN: _record_check_in,
    Command.CORRECT_CHECK_IN: _correct_check_in,
    Command.REBASELINE_KEY_RESULT: _rebaseline,
    Command.REWEIGHT_KEY_RESULT: _reweight,
    Command.RETIRE_KEY_RESULT: _retire_key_result,
    Command.GRADUATE_KEY_RESULT: _graduate_key_result,
    Command.ADD_KPI_KEY_RESULT: _add_kpi_key_result,
    Command.CARRY_FORWARD_KEY_RESULT: _carry_forward_key_result,
    Command.SELF_ASSESS: _self_assess,
    Command.DEFINE_KPI: _define_kpi,
    Command.RECORD_KPI_READING: _record_kpi_reading,
    Command.CORRECT_KPI_READING: _correct_kpi_reading,
    Command.CHANGE_KPI_TARGET: _change_kpi_target,
    Command.RETIRE_KPI: _retire_kpi,
    Command.TRANSFER_GOAL: _transfer_goal,
    Command.MANAGE_CONTRIBUTORS: _manage_contributors,
    Command.OPEN_REVIEW_CYCLE: _open_review_cycle,
    Command.ASSIGN_REVIEWER: _assign_reviewer,
    Command.READ_GOALS: _read_goals,
    Command.READ_CHANGE_REPORT: _read_change_report,
    Command.VERIFY_SEAL: _verify_seal,
    Command.READ_EVIDENCE: _read_evidence,
    Command.READ_CALIBRATION: _read_calibration,
    Command.READ_EVIDENCE_READS: _read_evidence_reads,
    Command.FOLLOW_EVENTS: _follow_events,
    Command.MANAGE_WEBHOOKS: _manage_webhooks,
    Command.MANAGE_PEOPLE: _manage_people,
    Command.ERASE_PERSON: _erase_person,
    Command.READ_PEOPLE: _read_people,
}


def row_id(rule: Rule) -> str:
    verdict = "allowed" if rule.allowed else "refused"
    return f"{rule.command.value}-{rule.role.value}-{rule.relation.value}-{verdict}"


@pytest.mark.parametrize("rule", AUTHORITY, ids=row_id)
def test_every_row_of_the_authority_table_holds_over_http(
    rule: Rule, world: Arrange, role_headers: dict[Role, Headers]
) -> None:
    # The goals the command acts on belong to the owner the row's relation names.
    act = world.request(rule.command, OWNERS[rule.relation], fresh=rule.allowed)
    before = position(world.ledger)

    # The request, with the token of the row's role.
    response = act(role_headers[rule.role])

    # Allowed: done. Refused: 403, and nothing stored.
    if rule.allowed:
        assert response.is_success, (response.status_code, response.text)
    else:
        problem(response, 403)
        assert position(world.ledger) == before


def test_every_command_has_rows_for_every_role() -> None:
    """The table is complete: no command or role was left to a default."""
    for command in Command:
        assert {rule.role for rule in AUTHORITY if rule.command == command} == set(Role)
