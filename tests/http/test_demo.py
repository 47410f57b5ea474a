"""The demo over HTTP on PostgreSQL: told as it happened, in a store that says it is a demo."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import pytest

from application.ledger import GoalLedger
from cli.demo import DemoStoreError, load_demo
from cli.demo_current import CARRIED_CHURN_WEEKS
from cli.demo_quarter import COVERAGE
from domain.access import Role
from processes.signals import SignalProcess
from projections.registry import worker_for
from tests.demo_day import CYCLE, DEMO, DEMO_DAY, WEEKS
from tests.http.conftest import Headers, Tokens

pytestmark = pytest.mark.postgres


@pytest.fixture
def demo(ledger: GoalLedger, tokens: Tokens) -> Headers:
    """The demo told into the live server's empty store, its read models and signals caught
    up as of the demo's day, and an admin's token."""
    load_demo(ledger, today=DEMO_DAY)
    headers = tokens.headers("demo-admin", Role.ADMIN)
    worker = worker_for(ledger)
    worker.run_until_caught_up()
    noon = datetime.combine(DEMO_DAY, time(12), tzinfo=UTC)
    SignalProcess(ledger, clock=lambda: noon).run_once()
    worker.run_until_caught_up()
    return headers


def _read(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _key_result(client: httpx.Client, headers: Headers, cycle: str, title: str) -> dict[str, Any]:
    board = _read(client.get(f"/v1/cycles/{cycle}", headers=headers))
    return next(kr for o in board["objectives"] for kr in o["key_results"] if kr["title"] == title)


def test_a_demo_store_says_so_on_every_response_and_in_readyz(
    client: httpx.Client, demo: Headers
) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["demo_store"] is True
    for response in (
        ready,
        client.get("/healthz"),
        client.get(f"/v1/cycles/{CYCLE}", headers=demo),
        client.get("/v1/cycles/no-such-cycle", headers=demo),
    ):
        assert response.headers["goalpost-demo-store"] == "true"


def test_a_store_that_is_not_a_demo_store_never_says_it_is(
    client: httpx.Client, ledger: GoalLedger, admin: Headers
) -> None:
    # The store holds history (the admin's token): it can no longer become a demo store.
    assert "goalpost-demo-store" not in client.get("/v1/cycles", headers=admin).headers
    assert "demo_store" not in client.get("/readyz").json()
    with pytest.raises(DemoStoreError, match="empty store"):
        load_demo(ledger, today=DEMO_DAY)
    assert "goalpost-demo-store" not in client.get("/healthz").headers


def test_known_at_in_week_six_shows_week_six(client: httpx.Client, demo: Headers) -> None:
    coverage = _key_result(client, demo, CYCLE, COVERAGE.title)
    sixth_friday_evening = datetime.combine(WEEKS[5], time(17), tzinfo=UTC)
    read = _read(
        client.get(
            f"/v1/key-results/{coverage['id']}",
            params={"known_at": sixth_friday_evening.isoformat(), "as_of": WEEKS[5].isoformat()},
            headers=demo,
        )
    )
    assert read["check_in_count"] == 6
    assert read["value"] == COVERAGE.weeks[5][0]
    assert read["last_check_in"]["effective_on"] == WEEKS[5].isoformat()


def test_the_closed_quarters_change_report_holds_only_the_storys_own_changes(
    client: httpx.Client, demo: Headers
) -> None:
    report = _read(client.get(f"/v1/cycles/{CYCLE}/changes", headers=demo))
    rows = report["items"]
    assert [row["event"] for row in rows] == [
        "check_in_corrected",
        "rebaselined",
        "target_changed",
        "graduated",
        "carried_forward",
        "self_assessed",
        "self_assessed",
    ]
    assert not any("backdated" in row["flags"] for row in rows)


def test_the_current_quarter_takes_todays_check_in_and_shows_the_loop(
    client: httpx.Client, demo: Headers
) -> None:
    current = _read(client.get(f"/v1/cycles/{DEMO.current.key}", headers=demo))
    assert current["closed_at"] is None
    carried_id = current["objectives"][0]["key_results"][0]["id"]
    carried = _read(client.get(f"/v1/key-results/{carried_id}", headers=demo))
    assert carried["carried_from"] is not None
    assert carried["check_in_count"] == len(DEMO.fridays_so_far())
    assert carried["value"] == CARRIED_CHURN_WEEKS[len(DEMO.fridays_so_far()) - 1][0]
    reads = [
        _read(client.get(f"/v1/key-results/{kr['id']}", headers=demo))
        for o in current["objectives"]
        for kr in o["key_results"]
    ]
    (measured,) = [kr for kr in reads if kr["kpi_id"] is not None]
    # October's reading, taken by the KPI process as a check-in at the reading's moment.
    assert measured["check_in_count"] == len(DEMO.month_ends_so_far())
    # The README's example: a check-in on today's date in this quarter.
    written = client.post(
        f"/v1/key-results/{carried['id']}/check-ins",
        json={
            "value": "2.1",
            "confidence": "at_risk",
            "effective_on": DEMO_DAY.isoformat(),
            "note": "two renewals slipped",
        },
        headers=demo,
    )
    assert written.status_code == 201, written.text


def test_one_signal_of_each_kind_is_in_the_feed(client: httpx.Client, demo: Headers) -> None:
    for kind in (
        "key_result_became_stale",
        "kpi_reading_overdue",
        "kpi_became_okr_candidate",
        "cycle_ends_in_seven_days",
    ):
        page = _read(
            client.get("/v1/events", params={"type": f"goalpost.signal.{kind}.v1"}, headers=demo)
        )
        assert page["events"], kind
    ending = _read(
        client.get(
            "/v1/events",
            params={"type": "goalpost.signal.cycle_ends_in_seven_days.v1"},
            headers=demo,
        )
    )["events"]
    assert [e["data"]["cycle_id"] for e in ending] == [DEMO.pilot_key]
    assert DEMO.pilot_ends_on - DEMO_DAY < timedelta(days=7)


def test_the_demos_people_move_teams_mid_quarter_and_report_along_lines(
    client: httpx.Client, demo: Headers
) -> None:
    before, after = WEEKS[5], WEEKS[7]
    analyst = [
        _read(client.get("/v1/people/cs-analyst", params={"as_of": day.isoformat()}, headers=demo))
        for day in (before, after)
    ]
    assert [(a["teams"], a["manager_id"]) for a in analyst] == [
        (["team-cs"], "head-of-cs"),
        (["team-product"], "head-of-product"),
    ]
    assert analyst[0]["display_name"] == "Customer Success Analyst"
    product = _read(
        client.get("/v1/teams/team-product", params={"as_of": after.isoformat()}, headers=demo)
    )
    assert {m["id"] for m in product["members"]} == {"cs-analyst", "head-of-product"}
