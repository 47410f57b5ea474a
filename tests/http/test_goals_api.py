"""Every resource under /v1 once, over real HTTP: statuses, Location, ETag, body shapes."""

from __future__ import annotations

import httpx
import pytest

from application.ledger import GoalLedger
from tests.http.conftest import (
    CYCLE,
    Goals,
    Headers,
    check_in_body,
    created,
    key_result_body,
    kpi_body,
    objective_body,
    ok,
    position,
)

pytestmark = pytest.mark.postgres


def test_a_quarter_of_okrs_over_http(
    client: httpx.Client, admin: Headers, ledger: GoalLedger
) -> None:
    # The admin opens 2026-Q3: 201, its key as id, Location and ETag "1".
    response = client.post("/v1/cycles", json=CYCLE, headers=admin)
    cycle = created(response)
    assert cycle["id"] == "2026-Q3" and cycle["version"] == 1
    assert response.headers["Location"] == "/v1/cycles/2026-Q3"

    # A company objective, then a team objective aligned under it from the start.
    company = created(
        client.post(
            "/v1/objectives", json=objective_body("ceo", kind="aspirational"), headers=admin
        )
    )
    response = client.post(
        "/v1/objectives",
        json=objective_body("analyst", title="Keep customers", parent_id=company["id"]),
        headers=admin,
    )
    team = created(response)
    assert response.headers["Location"] == f"/v1/objectives/{team['id']}"
    assert team["version"] == 1

    # Two key results under the team objective: NPS 32 -> 50 and churn 3.1 -> 2.0.
    response = client.post(
        "/v1/key-results", json=key_result_body(team["id"], "analyst"), headers=admin
    )
    nps = created(response)
    assert response.headers["Location"] == f"/v1/key-results/{nps['id']}"
    churn = created(
        client.post(
            "/v1/key-results",
            json=key_result_body(
                team["id"],
                "analyst",
                title="Gross revenue churn from 3.1% to 2.0% monthly",
                unit="% monthly",
                direction="decrease",
                baseline="3.1",
                target="2.0",
                measurement={"source": "billing", "query": "churned MRR / starting MRR"},
            ),
            headers=admin,
        )
    )

    # A check-in at 41: 201 with the check-in's id, which corrections reference.
    response = client.post(
        f"/v1/key-results/{nps['id']}/check-ins", json=check_in_body("41"), headers=admin
    )
    check_in = created(response)
    assert check_in["id"] == nps["id"] and check_in["version"] == 2
    assert check_in["check_in_id"]

    # Reading the key result: 0.5 exactly (the spec's NPS example), ETag "2"; red, as its
    # objective is committed (amber would be an aspirational one's light, ADR 33).
    response = client.get(f"/v1/key-results/{nps['id']}", headers=admin)
    read = ok(response)
    assert read["version"] == 2
    assert read["score"] == "0.5000" and read["traffic_light"] == "red"
    assert read["value"] == "41" and read["check_in_count"] == 1
    assert read["last_check_in"]["id"] == check_in["check_in_id"]
    assert read["last_check_in"]["actor"] == "root"

    # The value was mistyped: a correction referencing the check-in, 200 and ETag "3".
    corrected = ok(
        client.post(
            f"/v1/key-results/{nps['id']}/corrections",
            json={
                "check_in_id": check_in["check_in_id"],
                "value": "44",
                "reason": "typo in the survey export",
            },
            headers=admin,
        )
    )
    assert corrected["version"] == 3
    read = ok(client.get(f"/v1/key-results/{nps['id']}", headers=admin))
    assert read["value"] == "44" and read["last_check_in"]["original_value"] == "41"
    assert read["last_check_in"]["corrected"] is True

    # Churn at 2.4 mid-quarter scores 0.636..., rounded to four places.
    created(
        client.post(
            f"/v1/key-results/{churn['id']}/check-ins",
            json=check_in_body("2.4", confidence="at_risk"),
            headers=admin,
        )
    )
    read = ok(client.get(f"/v1/key-results/{churn['id']}", headers=admin))
    assert read["score"] == "0.6364" and read["traffic_light"] == "red"

    # The NPS target is re-baselined with a reason: both plans are scored.
    rebaselined = ok(
        client.post(
            f"/v1/key-results/{nps['id']}/rebaseline",
            json={
                "baseline": "32",
                "target": "44",
                "reason": "survey panel halved",
                "reason_code": "wrong_metric",
                "effective_on": "2026-08-20",
            },
            headers=admin,
        )
    )
    assert rebaselined["version"] == 4
    read = ok(client.get(f"/v1/key-results/{nps['id']}", headers=admin))
    assert read["rebaselined"] is True
    assert read["plan"]["target"] == "44" and read["original_plan"]["target"] == "50"
    assert read["score"] == "1.0000" and read["traffic_light"] == "green"
    assert read["score_against_original_plan"] == "0.6667"

    # Churn counts double in the objective's score now.
    assert (
        ok(
            client.post(
                f"/v1/key-results/{churn['id']}/reweight",
                json={"weight": "2", "reason": "board focus", "reason_code": "priorities_changed"},
                headers=admin,
            )
        )["version"]
        == 3
    )
    objective = ok(client.get(f"/v1/objectives/{team['id']}", headers=admin))
    assert [kr["id"] for kr in objective["key_results"]] == [nps["id"], churn["id"]]
    # (1 * 1 + 2 * 0.6364) / 3: amber by the committed bar.
    assert objective["score"] == "0.7576" and objective["traffic_light"] == "amber"
    assert objective["bar"] == {
        "kind": "committed",
        "green": "1",
        "amber": "0.7",
        "expected_at_end": "1",
    }
    assert [kr["traffic_light"] for kr in objective["key_results"]] == ["green", "red"]

    # The team objective is unaligned, with a reason.
    aligned = ok(
        client.post(
            f"/v1/objectives/{team['id']}/align",
            json={"parent_id": None, "reason": "company OKR dropped", "reason_code": "other"},
            headers=admin,
        )
    )
    assert ok(client.get(f"/v1/objectives/{team['id']}", headers=admin))["parent_id"] is None
    assert aligned["version"] == 4

    # Churn is retired with a reason; it stays in the report, with that reason.
    retired = ok(
        client.post(
            f"/v1/key-results/{churn['id']}/retire",
            json={"reason": "became a KPI", "reason_code": "graduated_to_kpi"},
            headers=admin,
        )
    )
    assert retired["version"] == 4
    objective = ok(client.get(f"/v1/objectives/{team['id']}", headers=admin))
    churn_line = objective["key_results"][1]
    assert churn_line["retired"]["reason_code"] == "graduated_to_kpi"
    assert objective["score"] == "1.0000"

    # The company objective is retired too.
    ok(
        client.post(
            f"/v1/objectives/{company['id']}/retire",
            json={"reason": "merged into the team's", "reason_code": "duplicate"},
            headers=admin,
        )
    )
    assert ok(client.get(f"/v1/objectives/{company['id']}", headers=admin))["retired"]

    # The cycle's scoreboard lists both objectives, with net confidence.
    board = ok(client.get("/v1/cycles/2026-Q3", headers=admin))
    assert [o["id"] for o in board["objectives"]] == [company["id"], team["id"]]
    assert board["closed_at"] is None and board["net_confidence"] is not None
    # Its score is its live objectives' mean: the retired company objective does not count.
    team_score = board["objectives"][1]["score"]
    assert board["score"] == team_score and board["traffic_light"] == "green"

    # Closing freezes the grades: 200, ETag; a later check-in is refused (409)...
    closed = client.post("/v1/cycles/2026-Q3/close", headers=admin)
    assert closed.status_code == 200 and closed.json()["id"] == "2026-Q3"
    assert closed.headers["ETag"] == f'"{closed.json()["version"]}"'
    before = position(ledger)
    refused = client.post(
        f"/v1/key-results/{nps['id']}/check-ins", json=check_in_body("45"), headers=admin
    )
    assert refused.status_code == 409
    assert position(ledger) == before
    # ...but a correction with a reason is still accepted.
    ok(
        client.post(
            f"/v1/key-results/{nps['id']}/corrections",
            json={
                "check_in_id": check_in["check_in_id"],
                "value": "43",
                "reason": "late survey responses",
            },
            headers=admin,
        )
    )
    assert ok(client.get("/v1/cycles/2026-Q3", headers=admin))["closed_at"] is not None


def test_a_kpi_over_http(client: httpx.Client, admin: Headers) -> None:
    # Support defines first-response time, healthy at or below 2 hours.
    response = client.post("/v1/kpis", json=kpi_body("analyst"), headers=admin)
    kpi = created(response)
    assert response.headers["Location"] == f"/v1/kpis/{kpi['id']}"

    # Two readings out of range: 201 each with a reading id; it becomes an OKR candidate.
    first = created(
        client.post(
            f"/v1/kpis/{kpi['id']}/readings",
            json={"value": "3.5", "effective_on": "2026-08-03", "note": "holiday backlog"},
            headers=admin,
        )
    )
    assert first["reading_id"] and first["version"] == 2
    created(
        client.post(
            f"/v1/kpis/{kpi['id']}/readings",
            json={"value": "3.1", "effective_on": "2026-08-10"},
            headers=admin,
        )
    )
    read = ok(client.get(f"/v1/kpis/{kpi['id']}", headers=admin))
    assert read["healthy"] is False and read["okr_candidate"] is True
    assert read["definition"]["cadence"] == "weekly"

    # The first reading was wrong: corrected with a reason; it stays a correction.
    ok(
        client.post(
            f"/v1/kpis/{kpi['id']}/readings/corrections",
            json={"reading_id": first["reading_id"], "value": "1.5", "reason": "timezone bug"},
            headers=admin,
        )
    )
    # As of the first reading's day, the corrected value is the healthy one.
    read = ok(client.get(f"/v1/kpis/{kpi['id']}", params={"as_of": "2026-08-05"}, headers=admin))
    assert read["last_reading"]["value"] == "1.5" and read["last_reading"]["corrected"] is True
    assert read["healthy"] is True

    # The target is relaxed with a reason, effective from a given day.
    target = ok(
        client.post(
            f"/v1/kpis/{kpi['id']}/target",
            json={
                "target": "4",
                "healthy_low": "0",
                "healthy_high": "4",
                "reason": "new ticket categories",
                "reason_code": "priorities_changed",
                "effective_on": "2026-08-09",
            },
            headers=admin,
        )
    )
    assert target["version"] == 5
    read = ok(client.get(f"/v1/kpis/{kpi['id']}", headers=admin))
    assert read["target"] == "4" and read["target_set_on"] == "2026-08-09"
    assert read["healthy"] is True

    # Retired with a reason: 200, ETag, and the KPI reads as retired.
    ok(
        client.post(
            f"/v1/kpis/{kpi['id']}/retire",
            json={"reason": "replaced by resolution time", "reason_code": "wrong_metric"},
            headers=admin,
        )
    )
    assert ok(client.get(f"/v1/kpis/{kpi['id']}", headers=admin))["retired"]["actor"] == "root"


def test_lists_filter_and_page(client: httpx.Client, admin: Headers, goals: Goals) -> None:
    # Three objectives in Q3 (two the analyst's, one the buyer's) and one in Q4.
    goals.open_cycle()
    ids = [goals.objective(owner)["id"] for owner in ("analyst", "buyer", "analyst")]
    created(
        client.post(
            "/v1/cycles",
            json={"id": "2026-Q4", "starts_on": "2026-10-01", "ends_on": "2026-12-31"},
            headers=admin,
        )
    )
    other = goals.objective("analyst", cycle_id="2026-Q4")["id"]

    # One page at a time: the cursor leads to the next page, null on the last.
    page = client.get("/v1/objectives", params={"cycle_id": "2026-Q3", "limit": 2}, headers=admin)
    assert page.status_code == 200
    first = page.json()
    assert [o["id"] for o in first["items"]] == ids[:2] and first["next_cursor"]
    second = client.get(
        "/v1/objectives",
        params={"cycle_id": "2026-Q3", "limit": 2, "cursor": first["next_cursor"]},
        headers=admin,
    ).json()
    assert [o["id"] for o in second["items"]] == ids[2:] and second["next_cursor"] is None

    # Filtered by owner, across cycles when none is named.
    mine = client.get("/v1/objectives", params={"owner": "analyst"}, headers=admin).json()
    assert [o["id"] for o in mine["items"]] == [ids[0], ids[2], other]
    theirs = client.get(
        "/v1/objectives", params={"cycle_id": "2026-Q3", "owner": "buyer"}, headers=admin
    ).json()
    assert [o["id"] for o in theirs["items"]] == [ids[1]]

    # KPIs by area and owner, paged the same way.
    support = [goals.kpi("analyst")["id"], goals.kpi("buyer")["id"]]
    sales = created(client.post("/v1/kpis", json=kpi_body("analyst", area="Sales"), headers=admin))[
        "id"
    ]
    page = client.get("/v1/kpis", params={"limit": 2}, headers=admin).json()
    assert [k["id"] for k in page["items"]] == support and page["next_cursor"]
    rest = client.get(
        "/v1/kpis", params={"limit": 2, "cursor": page["next_cursor"]}, headers=admin
    ).json()
    assert [k["id"] for k in rest["items"]] == [sales] and rest["next_cursor"] is None
    by_area = client.get(
        "/v1/kpis", params={"area": "Customer support", "owner": "analyst"}, headers=admin
    ).json()
    assert [k["id"] for k in by_area["items"]] == [support[0]]
