"""POST /v1/key-results/{id}/carry-forward over real HTTP on PostgreSQL (ADR 37): the key
result closed as carried forward and its successor created in the later cycle in one save,
both sides keeping the link in reads, histories, scores and both cycles' change reports;
KPI target and healthy-range changes in the change report of the cycle they fall in."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from application.ledger import GoalLedger
from domain.values import utc_today
from projections.registry import worker_for
from tests.http.conftest import (
    Goals,
    Headers,
    created,
    events_since,
    kpi_body,
    ok,
    position,
    problem,
    same_write,
)

pytestmark = pytest.mark.postgres

# The fixed quarter of the suite (2026-Q3) is over; the next one runs from its end on.
NEXT = {"id": "2026-Q4", "starts_on": "2026-10-01", "ends_on": "2027-03-31"}
REASON = "the survey vendor moved: the work goes on next quarter"


def project(ledger: GoalLedger) -> int:
    worker = worker_for(ledger)
    worker.create_tables()
    worker.run_until_caught_up()
    return position(ledger)


def carry(
    client: httpx.Client, headers: Headers, key_result_id: str, **body: Any
) -> httpx.Response:
    return client.post(
        f"/v1/key-results/{key_result_id}/carry-forward",
        json={"cycle_id": NEXT["id"], "reason": REASON, **body},
        headers=headers,
    )


@pytest.fixture
def ended(
    client: httpx.Client, admin: Headers, goals: Goals, quarter: dict[str, Any]
) -> dict[str, Any]:
    """Q3 closed with the NPS key result half way (41 of 32 to 50: 0.5) and a second one
    that never moved (red), both the cs-lead's; Q4 open."""
    nps = quarter["key_result"]["id"]
    goals.check_in(nps, value="41")
    stuck = goals.key_result(quarter["objective"]["id"], "analyst", title="Refunds answered")
    created(client.post("/v1/cycles", json=NEXT, headers=admin))
    ok(client.post(f"/v1/cycles/{quarter['cycle']['id']}/close", headers=admin))
    return {**quarter, "nps": nps, "stuck": stuck["id"]}


def read(client: httpx.Client, admin: Headers, path: str) -> dict[str, Any]:
    return ok(client.get(path, headers=admin))


def history(client: httpx.Client, admin: Headers, path: str) -> list[dict[str, Any]]:
    response = client.get(path, headers=admin)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def report(client: httpx.Client, admin: Headers, cycle_id: str, **params: Any) -> list[Any]:
    response = client.get(f"/v1/cycles/{cycle_id}/changes", params=params, headers=admin)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_a_carry_with_defaults_links_both_sides_and_freezes_the_old_grade(
    client: httpx.Client, admin: Headers, ledger: GoalLedger, ended: dict[str, Any]
) -> None:
    old_objective = ended["objective"]["id"]
    score_before = read(client, admin, f"/v1/objectives/{old_objective}")["score"]
    response = carry(client, admin, ended["nps"])
    written = created(response)
    assert response.headers["Location"] == f"/v1/key-results/{written['id']}"

    successor = read(client, admin, f"/v1/key-results/{written['id']}")
    assert successor["carried_from"] == ended["nps"] and successor["cycle_id"] == "2026-Q4"
    assert successor["plan"]["baseline"] == "41"  # the last value
    assert successor["plan"]["target"] == "50"  # the current target
    assert successor["title"] == "NPS from 32 to 50" and successor["owner"] == "analyst"
    assert successor["retired"] is None and successor["carried_to"] is None
    # A new objective in Q4 carries on the old one, the successor under it.
    new_objective = read(client, admin, f"/v1/objectives/{successor['objective_id']}")
    assert new_objective["cycle_id"] == "2026-Q4" and new_objective["owner"] == "analyst"
    assert new_objective["title"] == "Stop the leaky bucket"
    assert new_objective["carried_from"] == old_objective
    assert read(client, admin, f"/v1/objectives/{old_objective}")["carried_from"] is None
    assert [k["id"] for k in new_objective["key_results"]] == [written["id"]]

    old = read(client, admin, f"/v1/key-results/{ended['nps']}")
    assert old["carried_to"] == written["id"] and old["carried_from"] is None
    assert old["retired"]["reason_code"] == "carried_forward"
    assert old["retired"]["carried_to"] == written["id"]
    assert old["retired"]["effective_on"] == "2026-09-30" and old["score"] == "0.5000"
    # Counted at its final score: the closed quarter's objective keeps its grade.
    assert read(client, admin, f"/v1/objectives/{old_objective}")["score"] == score_before

    # Both histories show the link.
    project(ledger)
    old_history = history(client, admin, f"/v1/key-results/{ended['nps']}/history")
    assert old_history[-1]["event"] == "carried_forward"
    assert old_history[-1]["after"] == {
        "status": "carried_forward",
        "carried_to": written["id"],
        "to_cycle_id": "2026-Q4",
    }
    new_history = history(client, admin, f"/v1/key-results/{written['id']}/history")
    assert new_history[0]["event"] == "created"
    assert new_history[0]["after"]["carried_from"] == ended["nps"]
    objective_history = history(
        client, admin, f"/v1/objectives/{successor['objective_id']}/history"
    )
    assert [i["event"] for i in objective_history][:2] == ["created", "carried_from"]
    assert objective_history[1]["after"] == {"carried_from": old_objective}

    # The scores read model shows it closed as carried forward, still in its objective.
    scores = read_scores(client, admin, "2026-Q3")
    row = next(k for k in scores["key_results"] if k["id"] == ended["nps"])
    assert row["closed_as"] == "carried_forward" and row["retired_reason_code"] == "carried_forward"
    objective_row = next(o for o in scores["objectives"] if o["id"] == old_objective)
    assert objective_row["score"] == score_before


def read_scores(client: httpx.Client, admin: Headers, cycle_id: str) -> dict[str, Any]:
    response = client.get("/v1/scores", params={"cycle_id": cycle_id}, headers=admin)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def test_a_second_carry_joins_the_objective_the_first_created(
    client: httpx.Client, admin: Headers, ended: dict[str, Any]
) -> None:
    first = created(carry(client, admin, ended["nps"]))
    second = created(carry(client, admin, ended["stuck"], target="60"))
    first_read = read(client, admin, f"/v1/key-results/{first['id']}")
    second_read = read(client, admin, f"/v1/key-results/{second['id']}")
    assert first_read["objective_id"] == second_read["objective_id"]
    # The baseline of one that never moved is its baseline; the target given is kept.
    assert second_read["plan"]["baseline"] == "32" and second_read["plan"]["target"] == "60"


def test_a_carry_with_explicit_values_under_an_objective_given(
    client: httpx.Client, admin: Headers, goals: Goals, ended: dict[str, Any]
) -> None:
    there = goals.objective("analyst", cycle_id="2026-Q4", title="Customers who stay")
    written = created(
        carry(client, admin, ended["nps"], baseline="40", target="55", objective_id=there["id"])
    )
    successor = read(client, admin, f"/v1/key-results/{written['id']}")
    assert successor["objective_id"] == there["id"]
    assert (successor["plan"]["baseline"], successor["plan"]["target"]) == ("40", "55")


def test_a_retried_carry_replays_its_first_result(
    client: httpx.Client, admin: Headers, ledger: GoalLedger, ended: dict[str, Any]
) -> None:
    headers = {**admin, "Idempotency-Key": "carry-nps-once"}
    first = created(carry(client, headers, ended["nps"]))
    before = position(ledger)
    retry = created(carry(client, headers, ended["nps"]))
    assert same_write(first, retry) and events_since(ledger, before) == 0


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"cycle_id": "2026-Q3"}, 422, "cycle_id"),  # not a later cycle
        ({"cycle_id": "2026-Q9"}, 422, "cycle_id"),  # no such cycle
        ({"baseline": "lots"}, 422, "baseline"),
        ({"target": "30"}, 422, "target"),  # below the baseline of an increase
        ({"reason": ""}, 422, "reason"),
        ({"objective_id": "not-a-uuid"}, 422, "objective_id"),
        ({"colour": "red"}, 422, "colour"),
    ],
)
def test_bad_input_stores_nothing(
    client: httpx.Client,
    admin: Headers,
    ledger: GoalLedger,
    ended: dict[str, Any],
    body: dict[str, Any],
    status: int,
    field: str,
) -> None:
    before = position(ledger)
    found = problem(carry(client, admin, ended["nps"], **body), status)
    assert found.get("field", "").endswith(field), found
    assert events_since(ledger, before) == 0
    assert read(client, admin, f"/v1/key-results/{ended['nps']}")["retired"] is None


def test_refusals_of_state_store_nothing(
    client: httpx.Client, admin: Headers, ledger: GoalLedger, goals: Goals, ended: dict[str, Any]
) -> None:
    # An objective of the old cycle is not one to carry into.
    before = position(ledger)
    problem(carry(client, admin, ended["nps"], objective_id=ended["objective"]["id"]), 422,
            "objective_id")  # fmt: skip
    # A key result is carried once.
    created(carry(client, admin, ended["nps"]))
    before = position(ledger)
    problem(carry(client, admin, ended["nps"]), 409)
    assert events_since(ledger, before) == 0
    # Nor into a closed cycle.
    ok(client.post(f"/v1/cycles/{NEXT['id']}/close", headers=admin))
    before = position(ledger)
    problem(carry(client, admin, ended["stuck"]), 409)
    assert events_since(ledger, before) == 0


def test_a_cycle_not_yet_begun_is_refused(
    client: httpx.Client, admin: Headers, ledger: GoalLedger, ended: dict[str, Any]
) -> None:
    start = utc_today() + timedelta(days=400)
    later = {"id": "far-later", "starts_on": str(start), "ends_on": str(start + timedelta(90))}
    created(client.post("/v1/cycles", json=later, headers=admin))
    before = position(ledger)
    problem(carry(client, admin, ended["nps"], cycle_id="far-later"), 422, "cycle_id")
    assert events_since(ledger, before) == 0


def test_both_change_reports_list_the_carry_and_never_as_retired_while_red(
    client: httpx.Client, admin: Headers, ledger: GoalLedger, ended: dict[str, Any]
) -> None:
    written = created(carry(client, admin, ended["stuck"], target="60"))
    project(ledger)
    [out] = [r for r in report(client, admin, "2026-Q3") if r["event"] == "carried_forward"]
    assert out["goal_id"] == ended["stuck"] and out["subject_id"] == written["id"]
    assert out["before"]["traffic_light"] == "red" and out["before"]["score"] == "0.0000"
    assert out["after"]["carried_to"] == written["id"] and out["reason"] == REASON
    assert out["reason_code"] == "carried_forward" and out["effective_on"] == "2026-09-30"
    # Red when carried, and recorded after its cycle's close: neither is flagged.
    assert out["flags"] == []
    into = report(client, admin, "2026-Q4")
    carried_in = [r for r in into if r["event"] == "created"]
    assert [r["goal_id"] for r in carried_in] == [written["id"]]
    assert carried_in[0]["after"]["carried_from"] == ended["stuck"]
    [objective_row] = [r for r in into if r["event"] == "carried_from"]
    assert objective_row["after"] == {"carried_from": ended["objective"]["id"]}


def test_kpi_target_and_range_changes_reach_the_change_report_of_their_cycle(
    client: httpx.Client, admin: Headers, ledger: GoalLedger, ended: dict[str, Any]
) -> None:
    kpi = created(client.post("/v1/kpis", json=kpi_body("analyst"), headers=admin))
    path = f"/v1/kpis/{kpi['id']}/target"
    change = {"reason": "the new helpdesk is faster", "reason_code": "priorities_changed"}
    # Backdated into Q4 by weeks, and a lower bar (higher hours for a stay_below KPI).
    ok(client.post(path, json={**change, "target": "3", "healthy_high": "3",
                               "effective_on": "2026-10-05"}, headers=admin))  # fmt: skip
    # Effective in Q3 (a claim about the closed quarter), recorded in Q4.
    ok(client.post(path, json={**change, "target": "2.5", "effective_on": "2026-08-01"},
                   headers=admin))  # fmt: skip
    project(ledger)

    rows = [r for r in report(client, admin, "2026-Q4") if r["goal_kind"] == "kpi"]
    assert [r["after"]["target"] for r in rows] == ["3", "2.5"]
    backdated, into_q3 = rows
    assert backdated["goal_id"] == kpi["id"] and backdated["title"] == "First-response time"
    assert backdated["before"] == {"target": "2", "healthy_low": "0", "healthy_high": "2"}
    assert backdated["after"]["healthy_high"] == "3"
    assert sorted(backdated["flags"]) == [
        "backdated_more_than_7_days",
        "changed_mid_cycle",
        "target_lowered",
    ]
    # Recorded within Q4, so in its report, mid-cycle; effective in Q3, so in Q3's too.
    assert "changed_mid_cycle" in into_q3["flags"]
    q3 = [r for r in report(client, admin, "2026-Q3") if r["goal_kind"] == "kpi"]
    assert [r["position"] for r in q3] == [into_q3["position"]]
    assert "changed_mid_cycle" in q3[0]["flags"]
    # The flag filters, in SQL as in the rows.
    flagged = report(client, admin, "2026-Q4", flag="changed_mid_cycle")
    assert [r["position"] for r in flagged] == [r["position"] for r in rows]
    csv = client.get("/v1/cycles/2026-Q4/changes", params={"format": "csv"}, headers=admin)
    assert csv.status_code == 200 and "changed_mid_cycle" in csv.text


def test_evidence_follows_a_carried_key_result_across_cycles_as_one_line(
    client: httpx.Client, admin: Headers, ledger: GoalLedger, ended: dict[str, Any]
) -> None:
    written = created(carry(client, admin, ended["nps"]))
    project(ledger)
    response = client.get(
        "/v1/people/analyst/evidence",
        params={"from": "2026-07-01", "to": str(utc_today())},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    evidence = response.json()
    key_results = {
        kr["key_result_id"]: kr for o in evidence["objectives"] for kr in o["key_results"]
    }
    old, new = key_results[ended["nps"]], key_results[written["id"]]
    # Each cites the other: the old one its carry, naming the successor; the new one its
    # predecessor, in its creation.
    assert old["carried_to"]["key_result_id"] == written["id"]
    assert old["carried_to"]["cycle_id"] == "2026-Q4"
    assert old["carried_to"]["cite"]["event"] == "carried_forward"
    assert old["carried_to"]["score_then"] == "0.5" and old["retired"] is None
    assert old["carried_from"] is None and new["carried_to"] is None
    assert new["carried_from"] == ended["nps"] and new["created"]["event"] == "created"
    # One line of work across the two quarters.
    assert evidence["lines"] == [
        {
            "title": "NPS from 32 to 50",
            "key_result_ids": [ended["nps"], written["id"]],
            "cycle_ids": ["2026-Q3", "2026-Q4"],
        }
    ]
    # The page a reviewer reads says so on both cards.
    page = client.get(
        "/v1/people/analyst/evidence",
        params={"from": "2026-07-01", "to": str(utc_today())},
        headers={**admin, "Accept": "text/html"},
    )
    assert page.status_code == 200, page.text
    assert f"Carried forward</b> to 2026-Q4 as key result {written['id']}" in page.text
    assert f"Carried forward from key result {ended['nps']}." in page.text


def test_a_carried_key_result_still_takes_a_correction_flagged_after_the_close(
    client: httpx.Client, admin: Headers, ledger: GoalLedger, ended: dict[str, Any]
) -> None:
    last = read(client, admin, f"/v1/key-results/{ended['nps']}")["last_check_in"]
    written = created(carry(client, admin, ended["nps"]))
    corrected = client.post(
        f"/v1/key-results/{ended['nps']}/corrections",
        json={"check_in_id": last["id"], "value": "44", "reason": "survey re-weighted"},
        headers=admin,
    )
    assert corrected.status_code == 200, corrected.text
    old = read(client, admin, f"/v1/key-results/{ended['nps']}")
    assert old["value"] == "44" and old["carried_to"] == written["id"]
    # The successor keeps the baseline it started from; nothing else reaches the old one.
    assert read(client, admin, f"/v1/key-results/{written['id']}")["plan"]["baseline"] == "41"
    problem(
        client.post(
            f"/v1/key-results/{ended['nps']}/check-ins",
            json={"value": "45", "confidence": "on_track", "effective_on": "2026-09-30"},
            headers=admin,
        ),
        409,
    )
    project(ledger)
    [row] = [r for r in report(client, admin, "2026-Q3") if r["event"] == "check_in_corrected"]
    assert row["goal_id"] == ended["nps"] and row["flags"] == ["changed_after_close"]
