"""History, the auditors' change report and KPI health over real HTTP, on PostgreSQL.

2026-Q3 lies wholly in the past, so every check-in in it is recorded more than seven
days after the day it is about, and every change of plan falls after the midpoint and,
dated by default on the quarter's last day, is backdated too.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import httpx
import pytest

import api.routes.changes as change_routes
from application.ledger import GoalLedger
from application.stores import open_ledger
from domain.access import Role
from domain.values import utc_today
from projections.registry import worker_for
from tests.http.conftest import (
    CHANGE_REPORT_COLUMNS,
    CYCLE,
    Goals,
    Headers,
    Tokens,
    check_in_body,
    position,
    problem,
    serve,
)

pytestmark = pytest.mark.postgres

BACKDATED = "backdated_more_than_7_days"
LOWERED = "target_lowered"
AFTER_HALF = "rebaselined_after_half_the_cycle"
RED = "retired_while_red"
AFTER_CLOSE = "changed_after_close"


def ago(days: int) -> str:
    return (utc_today() - timedelta(days=days)).isoformat()


def project(ledger: GoalLedger) -> int:
    """Bring every read model up to the log's head, here and now (no background worker)."""
    worker = worker_for(ledger)
    worker.create_tables()
    worker.run_until_caught_up()
    return position(ledger)


def body(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    result: dict[str, Any] = response.json()
    return result


def post(client: httpx.Client, path: str, json: dict[str, Any], headers: Headers) -> Any:
    response = client.post(path, json=json, headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture
def auditor(tokens: Tokens) -> Headers:
    return tokens.headers("auditor-b", Role.AUDITOR)


@pytest.fixture
def analyst(tokens: Tokens) -> Headers:
    return tokens.headers("analyst", Role.MEMBER)


@pytest.fixture
def changed_quarter(
    client: httpx.Client, goals: Goals, quarter: dict[str, Any], admin: Headers, analyst: Headers
) -> dict[str, Any]:
    """The analyst's NPS checked in late, its target lowered, a second KR retired red;
    closed, corrected."""
    kr = quarter["key_result"]["id"]
    nps = f"/v1/key-results/{kr}"
    # The analyst checks in 41 for 15 August, recorded in November.
    check_in = post(client, f"{nps}/check-ins", check_in_body("41"), analyst)
    # She lowers the target from 50 to 45; the reason would be a formula in a spreadsheet.
    post(
        client,
        f"{nps}/rebaseline",
        {
            "baseline": "32",
            "target": "45",
            "reason": "=survey vendor changed",
            "reason_code": "wrong_metric",
        },
        analyst,
    )
    # The planner's tickets KR, never checked in, is retired while it scores red.
    tickets = goals.key_result(
        quarter["objective"]["id"], "planner", title="Tickets solved", baseline="0", target="500"
    )
    post(
        client,
        f"/v1/key-results/{tickets['id']}/retire",
        {"reason": "rewards closing over solving", "reason_code": "wrong_metric"},
        admin,
    )
    # The quarter is closed; then 41 is corrected to 44.
    post(client, f"/v1/cycles/{CYCLE['id']}/close", {}, admin)
    post(
        client,
        f"{nps}/corrections",
        {"check_in_id": check_in["check_in_id"], "value": "44", "reason": "export bug"},
        analyst,
    )
    return {**quarter, "tickets": tickets, "check_in_id": check_in["check_in_id"]}


def test_a_key_results_history_in_order_with_values_before_and_after(
    client: httpx.Client, live: Any, changed_quarter: dict[str, Any], analyst: Headers
) -> None:
    kr = changed_quarter["key_result"]["id"]
    head = project(live.ledger)

    # The analyst, a member, reads her key result's whole history.
    response = client.get(f"/v1/key-results/{kr}/history", headers=analyst)
    history = body(response)
    assert response.headers["Goalpost-Position"] == str(head)
    assert history["goal_kind"] == "key_result" and history["goal_id"] == kr
    assert history["position"] == head and history["next_cursor"] is None
    items = history["items"]
    assert [i["event"] for i in items] == [
        "created",
        "check_in_recorded",
        "rebaselined",
        "check_in_corrected",
    ]
    created, check_in, rebaselined, corrected = items
    assert created["after"]["target"] == "50" and created["flags"] == []
    assert created["actor"] == "root" and created["effective_on"] == "2026-07-01"
    assert check_in["before"] == {"value": "32"}
    assert check_in["after"] == {
        "value": "41",
        "confidence": "on_track",
        "note": "playbook rolled out",
    }
    assert check_in["effective_on"] == "2026-08-15" and check_in["flags"] == [BACKDATED]
    assert check_in["subject_id"] == changed_quarter["check_in_id"]
    assert rebaselined["before"] == {"baseline": "32", "target": "50"}
    assert rebaselined["after"] == {"baseline": "32", "target": "45"}
    assert (rebaselined["actor"], rebaselined["reason_code"]) == ("analyst", "wrong_metric")
    assert rebaselined["reason"] == "=survey vendor changed"
    assert set(rebaselined["flags"]) == {LOWERED, AFTER_HALF, BACKDATED}
    assert corrected["before"] == {"value": "41"} and corrected["after"] == {"value": "44"}
    assert corrected["flags"] == [AFTER_CLOSE]
    assert [i["version"] for i in items] == [1, 2, 3, 4]
    assert all(i["recorded_at"].endswith(("Z", "+00:00")) for i in items)

    # Two at a time: the cursor is the last position of the page before.
    first = body(client.get(f"/v1/key-results/{kr}/history?limit=2", headers=analyst))
    assert first["next_cursor"] == str(items[1]["position"])
    rest = body(
        client.get(
            f"/v1/key-results/{kr}/history",
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=analyst,
        )
    )
    assert first["items"] + rest["items"] == items and rest["next_cursor"] is None

    # As of 20 August: the creation and the check-in had taken effect, and the correction
    # is about the check-in's day; the re-baseline took effect on 30 September.
    then = body(client.get(f"/v1/key-results/{kr}/history?as_of=2026-08-20", headers=analyst))
    assert [i["event"] for i in then["items"]] == [
        "created",
        "check_in_recorded",
        "check_in_corrected",
    ]
    # Known just before the correction was recorded: not the correction.
    known = body(
        client.get(
            f"/v1/key-results/{kr}/history",
            params={"known_at": rebaselined["recorded_at"]},
            headers=analyst,
        )
    )
    assert known["items"] == items[:3]


def test_objective_and_kpi_histories_and_their_problems(
    client: httpx.Client,
    live: Any,
    goals: Goals,
    changed_quarter: dict[str, Any],
    analyst: Headers,
    admin: Headers,
) -> None:
    objective = changed_quarter["objective"]["id"]
    kpi = goals.kpi("analyst")
    post(client, f"/v1/kpis/{kpi['id']}/readings", {"value": "3", "effective_on": ago(3)}, analyst)
    project(live.ledger)

    # The objective: created, then its two key results added.
    history = body(client.get(f"/v1/objectives/{objective}/history", headers=analyst))
    assert [i["event"] for i in history["items"]] == [
        "created",
        "key_result_added",
        "key_result_added",
    ]
    assert history["items"][1]["subject_id"] == changed_quarter["key_result"]["id"]
    # The KPI: defined, then a reading for three days back: unhealthy, not backdated.
    history = body(client.get(f"/v1/kpis/{kpi['id']}/history", headers=analyst))
    defined, reading = history["items"]
    assert defined["event"] == "defined" and defined["after"]["target"] == "2"
    assert reading["after"] == {"value": "3", "healthy": False, "note": ""}
    assert reading["flags"] == []

    # A goal is found only as its own kind; an unknown one is a 404 problem.
    problem(client.get(f"/v1/kpis/{objective}/history", headers=analyst), 404)
    problem(client.get(f"/v1/objectives/{kpi['id']}/history", headers=analyst), 404)
    missing = "00000000-0000-4000-8000-000000000000"
    problem(client.get(f"/v1/key-results/{missing}/history", headers=analyst), 404)
    problem(client.get("/v1/key-results/not-a-uuid/history", headers=analyst), 422)
    # Bad paging, and no token at all.
    problem(
        client.get(f"/v1/objectives/{objective}/history?cursor=abc", headers=analyst), 400, "cursor"
    )
    problem(
        client.get(f"/v1/objectives/{objective}/history?limit=0", headers=analyst),
        422,
        "query.limit",
    )
    problem(client.get(f"/v1/objectives/{objective}/history"), 401)

    # A goal the worker has not reached yet has an empty history, not a 404.
    fresh = goals.kpi("analyst", headers=admin)
    pending = body(client.get(f"/v1/kpis/{fresh['id']}/history", headers=analyst))
    assert pending["items"] == [] and pending["position"] < position(live.ledger)


def test_the_change_report_for_auditors_in_json_and_csv(
    client: httpx.Client,
    live: Any,
    changed_quarter: dict[str, Any],
    auditor: Headers,
    admin: Headers,
    analyst: Headers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    head = project(live.ledger)
    changes = f"/v1/cycles/{CYCLE['id']}/changes"
    nps, tickets = changed_quarter["key_result"]["id"], changed_quarter["tickets"]["id"]

    # The auditor reads the quarter's changes, flagged.
    report = body(client.get(changes, headers=auditor))
    assert report["cycle_id"] == "2026-Q3" and report["position"] == head
    assert report["closed_at"] is not None and report["known_at"] is None
    rows = report["items"]
    assert [(r["goal_id"], r["event"], r["title"], r["owner"]) for r in rows] == [
        (nps, "check_in_recorded", "NPS from 32 to 50", "analyst"),
        (nps, "rebaselined", "NPS from 32 to 50", "analyst"),
        (tickets, "retired", "Tickets solved", "planner"),
        (nps, "check_in_corrected", "NPS from 32 to 50", "analyst"),
    ]
    assert [set(r["flags"]) for r in rows] == [
        {BACKDATED},
        {LOWERED, AFTER_HALF, BACKDATED},
        {RED, BACKDATED},
        {AFTER_CLOSE},
    ]
    assert rows[2]["before"] == {"status": "active", "score": "0.0000", "traffic_light": "red"}
    assert rows[2]["effective_on"] == "2026-09-30"
    assert (rows[3]["before"], rows[3]["after"]) == ({"value": "41"}, {"value": "44"})
    assert report["next_cursor"] is None

    # Pages: the same rows, in order, two at a time.
    first = body(client.get(changes, params={"limit": 2}, headers=auditor))
    assert first["items"] == rows[:2] and first["next_cursor"] == str(rows[1]["position"])
    second = body(
        client.get(changes, params={"limit": 2, "cursor": first["next_cursor"]}, headers=auditor)
    )
    assert second["items"] == rows[2:] and second["next_cursor"] is None
    problem(client.get(changes, params={"cursor": "nope"}, headers=auditor), 400, "cursor")

    # An admin may read it too; a member may not.
    assert body(client.get(changes, headers=admin)) == report
    problem(client.get(changes, headers=analyst), 403)
    problem(client.get(changes), 401)

    # Filters: owner, a repeated flag, the day the change was recorded.
    def events(**params: Any) -> list[str]:
        found = body(client.get(changes, params=params, headers=auditor))
        return [r["event"] for r in found["items"]]

    assert events(owner="planner") == ["retired"]
    assert events(flag=[RED, AFTER_CLOSE]) == ["retired", "check_in_corrected"]
    assert events(flag=LOWERED, owner="analyst") == ["rebaselined"]
    today = rows[0]["recorded_at"][:10]
    assert len(events(**{"from": today, "to": today})) == 4
    assert events(**{"to": "2026-09-30"}) == []
    assert events(known_at=rows[2]["recorded_at"]) == [
        "check_in_recorded",
        "rebaselined",
        "retired",
    ]

    # CSV, asked for by Accept or by ?format=csv: a header row, then the same rows.
    as_csv = client.get(changes, headers={**auditor, "Accept": "text/csv"})
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "changes-2026-Q3.csv" in as_csv.headers["content-disposition"]
    assert as_csv.headers["Goalpost-Position"] == str(head)
    assert client.get(changes, params={"format": "csv"}, headers=auditor).text == as_csv.text
    # Streamed a page at a time, it is the same file.
    monkeypatch.setattr(change_routes, "CSV_PAGE", 1)
    assert client.get(changes, params={"format": "csv"}, headers=auditor).text == as_csv.text
    table = list(csv.reader(io.StringIO(as_csv.text)))
    assert table[0] == CHANGE_REPORT_COLUMNS
    lines = [dict(zip(table[0], line, strict=True)) for line in table[1:]]
    assert [line["position"] for line in lines] == [str(r["position"]) for r in rows]
    rebaselined = lines[1]
    assert rebaselined["event"] == "rebaselined" and rebaselined["owner"] == "analyst"
    assert rebaselined["before"] == '{"baseline":"32","target":"50"}'
    assert rebaselined["after"] == '{"baseline":"32","target":"45"}'
    assert (rebaselined["target_before"], rebaselined["target_after"]) == ("50", "45")
    assert set(rebaselined["flags"].split(";")) == {LOWERED, AFTER_HALF, BACKDATED}
    # The reason that starts like a formula is neutralised for spreadsheets.
    assert rebaselined["reason"] == "'=survey vendor changed"
    assert lines[0]["effective_on"] == "2026-08-15" and lines[0]["subject_id"]
    # JSON stays the default, and wins when the client prefers it.
    prefers_json = {**auditor, "Accept": "application/json, text/csv;q=0.5"}
    assert body(client.get(changes, headers=prefers_json)) == report
    filtered = client.get(changes, params={"format": "csv", "owner": "planner"}, headers=auditor)
    assert len(list(csv.reader(io.StringIO(filtered.text)))) == 2

    # Problems: an unknown cycle, an unknown flag, dates the wrong way round.
    problem(client.get("/v1/cycles/2031-Q1/changes", headers=auditor), 404)
    problem(client.get(changes, params={"flag": "moved_goalposts"}, headers=auditor), 422)
    problem(
        client.get(changes, params={"from": "2026-09-01", "to": "2026-08-01"}, headers=auditor),
        422,
        "to",
    )
    problem(client.get(changes, params={"format": "xml"}, headers=auditor), 422)


def test_kpis_out_of_range_twice_running_are_listed_as_okr_candidates(
    client: httpx.Client, live: Any, goals: Goals, analyst: Headers
) -> None:
    # First-response time (healthy 0-2 h): 1.5, then 2.5 and 3 hours.
    slow = goals.kpi("analyst")
    for value, day in (("1.5", ago(21)), ("2.5", ago(14)), ("3", ago(7))):
        post(
            client,
            f"/v1/kpis/{slow['id']}/readings",
            {"value": value, "effective_on": day},
            analyst,
        )
    # Another team's KPI: out of range once, then back in.
    quick = goals.kpi("planner")
    for value, day in (("4", ago(14)), ("1", ago(7))):
        post(
            client,
            f"/v1/kpis/{quick['id']}/readings",
            {"value": value, "effective_on": day},
            goals.admin,
        )
    head = project(live.ledger)

    # Any authenticated role reads KPI health; the candidates are listed.
    response = client.get("/v1/kpis/health", headers=analyst)
    health = body(response)
    assert health["position"] == head and health["next_cursor"] is None
    assert response.headers["Goalpost-Position"] == str(head)
    assert [k["id"] for k in health["items"]] == [slow["id"]]
    candidate = health["items"][0]
    assert candidate["okr_candidate"] is True and candidate["healthy"] is False
    assert (candidate["area"], candidate["name"], candidate["owner"]) == (
        "Customer support",
        "First-response time",
        "analyst",
    )
    assert (candidate["target"], candidate["healthy_low"], candidate["healthy_high"]) == (
        "2",
        "0",
        "2",
    )
    assert candidate["last_reading"] == {"effective_on": ago(7), "value": "3", "healthy": False}
    assert candidate["previous_reading"] == {
        "effective_on": ago(14),
        "value": "2.5",
        "healthy": False,
    }

    # All KPIs, one a page, and by owner.
    page = body(client.get("/v1/kpis/health?include=all&limit=1", headers=analyst))
    assert [k["id"] for k in page["items"]] == [slow["id"]] and page["next_cursor"]
    page = body(
        client.get(
            "/v1/kpis/health",
            params={"include": "all", "limit": 1, "cursor": page["next_cursor"]},
            headers=analyst,
        )
    )
    assert [k["id"] for k in page["items"]] == [quick["id"]] and page["next_cursor"] is None
    assert page["items"][0]["healthy"] is True and page["items"][0]["okr_candidate"] is False
    assert body(client.get("/v1/kpis/health?owner=planner", headers=analyst))["items"] == []

    # As of ten days back, replayed: one bad reading only, so no candidate yet.
    then = body(client.get("/v1/kpis/health", params={"as_of": ago(10)}, headers=analyst))
    assert then["items"] == [] and then["as_of"] == ago(10)
    # Replayed for today, the same as the view.
    today = body(client.get("/v1/kpis/health", params={"as_of": ago(0)}, headers=analyst))
    assert today["items"] == health["items"]

    # /v1/kpis/health is not a KPI id; problems as everywhere.
    problem(client.get("/v1/kpis/health"), 401)
    problem(client.get("/v1/kpis/health?include=some", headers=analyst), 422)
    for cursor in ("-1", "²", "9" * 40):
        problem(
            client.get("/v1/kpis/health", params={"cursor": cursor}, headers=analyst), 400, "cursor"
        )


def test_a_store_without_read_models_answers_503_not_500(pg_url: str) -> None:
    # The API opened on a store whose read models `goalpost db init` never created.
    with (
        serve(open_ledger(pg_url, create_tables=True)) as server,
        httpx.Client(base_url=server.url, timeout=10.0) as http,
    ):
        auditor = Tokens(server.ledger).headers("auditor-b", Role.AUDITOR)
        http.post("/v1/cycles", json=CYCLE, headers=Tokens(server.ledger).headers("root", "admin"))
        for path in (f"/v1/cycles/{CYCLE['id']}/changes", "/v1/kpis/health"):
            found = problem(http.get(path, headers=auditor), 503)
            assert found["type"] == "/problems/read-model-unavailable"
