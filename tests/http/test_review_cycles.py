"""Review cycles over HTTP on PostgreSQL (ADR 42): a reviewer reads only its reviewees'
evidence, for its review cycle's period; every read is recorded for auditors; an admin
reads anyone's."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from application.ledger import GoalLedger
from domain.access import Role
from projections.registry import worker_for
from tests.http.conftest import Goals, Headers, Tokens, created, ok, position, problem

pytestmark = pytest.mark.postgres

H2 = {"id": "2026-H2", "starts_on": "2026-07-01", "ends_on": "2026-12-31"}
Q3 = {"from": "2026-07-01", "to": "2026-09-30"}


def caught_up(ledger: GoalLedger) -> None:
    worker = worker_for(ledger)
    worker.create_tables()
    worker.run_until_caught_up()


def evidence(client: httpx.Client, person: str, headers: Headers, **period: str) -> httpx.Response:
    return client.get(f"/v1/people/{person}/evidence", params=period or Q3, headers=headers)


def reads(client: httpx.Client, path: str, headers: Headers) -> list[dict[str, Any]]:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["reads"]
    return found


def test_a_reviewer_reads_its_reviewees_and_every_read_is_recorded(
    client: httpx.Client, ledger: GoalLedger, goals: Goals, admin: Headers, tokens: Tokens
) -> None:
    # Two people own goals in Q3.
    goals.open_cycle()
    for person in ("head-of-cs", "vp-sales"):
        goals.key_result(goals.objective(person)["id"], person)
    reviewer = tokens.headers("cs-lead", Role.REVIEWER)
    auditor = tokens.headers("internal-audit", Role.AUDITOR)

    # HR opens the second half's review cycle and assigns the CS lead to the head of CS.
    cycle = created(client.post("/v1/review-cycles", json=H2, headers=admin))
    assert cycle["id"] == "2026-H2"
    created(
        client.post(
            "/v1/review-cycles/2026-H2/assignments",
            json={"reviewer": "cs-lead", "reviewee": "head-of-cs"},
            headers=admin,
        )
    )
    shown = ok(client.get("/v1/review-cycles/2026-H2", headers=auditor))
    assert [(a["reviewer"], a["reviewee"]) for a in shown["assignments"]] == [
        ("cs-lead", "head-of-cs")
    ]
    caught_up(ledger)

    # The reviewer reads its reviewee's Q3 evidence.
    read = evidence(client, "head-of-cs", reviewer)
    assert read.status_code == 200, read.text
    caught_up(ledger)

    # Anyone else's, or a period reaching outside the cycle's, is refused, and not recorded.
    before = position(ledger)
    problem(evidence(client, "vp-sales", reviewer), 403)
    problem(
        evidence(client, "head-of-cs", reviewer, **{"from": "2026-06-01", "to": "2026-09-30"}), 403
    )
    assert position(ledger) == before

    # An admin reads anyone's, with no cycle.
    assert evidence(client, "vp-sales", admin).status_code == 200
    caught_up(ledger)

    # Auditors see who read whose evidence, when, under which cycle and for what period.
    under_cycle = reads(client, "/v1/review-cycles/2026-H2/evidence-reads", auditor)
    assert [
        (r["reader"], r["person"], r["review_cycle"], r["from"], r["to"]) for r in under_cycle
    ] == [("cs-lead", "head-of-cs", "2026-H2", "2026-07-01", "2026-09-30")]
    assert under_cycle[0]["roles"] == ["reviewer"]
    of_sales = reads(client, "/v1/people/vp-sales/evidence-reads", auditor)
    assert [(r["reader"], r["review_cycle"]) for r in of_sales] == [("root", None)]
    # The reads are events: in the log the seal covers.
    verified = client.get("/v1/audit/verify", headers=auditor).json()
    assert verified["intact"] is True

    # Neither a reviewer nor a member sees the record of reads.
    problem(client.get("/v1/people/vp-sales/evidence-reads", headers=reviewer), 403)


def test_review_cycle_input_and_rights(
    client: httpx.Client, ledger: GoalLedger, admin: Headers, tokens: Tokens
) -> None:
    manager = tokens.headers("vp-cs", Role.MANAGER, reports=["head-of-cs"])
    created(client.post("/v1/review-cycles", json=H2, headers=admin))
    before = position(ledger)
    # Only an admin opens one or assigns in it.
    problem(client.post("/v1/review-cycles", json={**H2, "id": "2027-H1"}, headers=manager), 403)
    assignment = {"reviewer": "vp-cs", "reviewee": "head-of-cs"}
    problem(
        client.post("/v1/review-cycles/2026-H2/assignments", json=assignment, headers=manager), 403
    )
    # Bad input names its field.
    problem(client.post("/v1/review-cycles", json=H2, headers=admin), 409)
    backwards = {**H2, "id": "x", "starts_on": "2026-12-31", "ends_on": "2026-07-01"}
    problem(client.post("/v1/review-cycles", json=backwards, headers=admin), 422, "ends_on")
    problem(
        client.post(
            "/v1/review-cycles/2026-H2/assignments",
            json={"reviewer": "vp-cs", "reviewee": "vp-cs"},
            headers=admin,
        ),
        422,
        "reviewee",
    )
    problem(client.post("/v1/review-cycles/nope/assignments", json=assignment, headers=admin), 404)
    assert position(ledger) == before
