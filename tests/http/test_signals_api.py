"""Signals as a service sees them over HTTP on PostgreSQL: in the feed under their own
types, filtered by type, and delivered to a webhook subscribed by type, owner or cycle."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from application.ledger import GoalLedger
from application.stores import open_ledger
from delivery.dispatcher import DispatchSettings, WebhookDispatcher
from domain.access import Role
from domain.values import utc_today
from processes.signals import SignalProcess
from projections.registry import worker_for
from tests.http.conftest import Goals, Headers, Tokens, problem
from tests.webhook_receiver import Receiver, receiving

pytestmark = pytest.mark.postgres

STALE = "goalpost.signal.key_result_became_stale.v1"
OVERDUE = "goalpost.signal.kpi_reading_overdue.v1"
CANDIDATE = "goalpost.signal.kpi_became_okr_candidate.v1"
ENDING = "goalpost.signal.cycle_ends_in_seven_days.v1"


@pytest.fixture
def hrms(tokens: Tokens) -> Headers:
    return tokens.headers("hrms", Role.SERVICE)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as listening:
        yield listening


def signals_on(pg_url: str, day: date) -> int:
    """`goalpost worker` then `goalpost signals run --once`, on the clock's `day`."""
    ledger = open_ledger(pg_url)
    try:
        worker_for(ledger).run_until_caught_up()
        noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        return len(SignalProcess(ledger, clock=lambda: noon).run_once().recorded)
    finally:
        ledger.close()


def feed(client: httpx.Client, headers: Headers, *types: str) -> list[dict[str, Any]]:
    response = client.get("/v1/events", params={"type": list(types), "limit": 500}, headers=headers)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def test_signals_reach_the_feed_and_webhooks_by_type_owner_and_cycle(
    client: httpx.Client,
    hrms: Headers,
    goals: Goals,
    quarter: dict[str, Any],
    receiver: Receiver,
    ledger: GoalLedger,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOALPOST_WEBHOOK_ALLOW_PRIVATE", "true")
    # HRMS wants the analyst's stale key results, and the end of 2026-Q3 coming; not the
    # planner's goals.
    by_owner = client.post(
        "/v1/webhooks",
        json={"url": receiver.url("/analyst"), "event_types": [STALE], "owner": "analyst"},
        headers=hrms,
    ).json()
    by_cycle = client.post(
        "/v1/webhooks",
        json={"url": receiver.url("/q3"), "event_types": [ENDING], "cycle_id": "2026-Q3"},
        headers=hrms,
    ).json()
    # The planner's key result in the same quarter, left alone too; the analyst's weekly KPI
    # out of range
    # twice today.
    goals.key_result(quarter["objective"]["id"], "planner")
    kpi = goals.kpi("analyst")
    for value in ("3", "4"):
        response = client.post(
            f"/v1/kpis/{kpi['id']}/readings",
            json={"value": value, "effective_on": utc_today().isoformat()},
            headers=goals.admin,
        )
        assert response.status_code == 201, response.text

    # On 25 September: both key results stale since 22 July, the quarter in its last
    # week, the KPI a candidate.
    assert signals_on(pg_url, date(2026, 9, 25)) == 4
    # A week after today the KPI's weekly reading is overdue too; nothing else is new.
    assert signals_on(pg_url, utc_today() + timedelta(days=8)) == 1

    # The feed serves each under its own type, and filters by it.
    every = feed(client, hrms, STALE, OVERDUE, CANDIDATE, ENDING)
    assert sorted(e["type"] for e in every) == sorted([STALE, STALE, ENDING, CANDIDATE, OVERDUE])
    stale = feed(client, hrms, STALE)
    assert {e["data"]["owner"] for e in stale} == {"analyst", "planner"}
    assert {e["data"]["stale_on"] for e in stale} == {"2026-07-22"}
    assert stale[0]["subject"].startswith("signals/")
    (ending,) = feed(client, hrms, ENDING)
    assert ending["data"] == {
        "actor": "goalpost-signals",
        "cycle_id": "2026-Q3",
        "ends_on": "2026-09-30",
    }
    (candidate,) = feed(client, hrms, CANDIDATE)
    assert candidate["data"]["kpi_id"] == kpi["id"] and candidate["data"]["owner"] == "analyst"
    # An unknown type is refused, naming the signal types among the known ones.
    refused = problem(
        client.get("/v1/events", params={"type": "goalpost.signal.nope.v1"}, headers=hrms),
        422,
        "type",
    )
    assert STALE in refused["detail"] and ENDING in refused["detail"]

    # Delivered: the analyst's stale key result alone to one, the quarter's end to the other.
    dispatcher = WebhookDispatcher(
        open_ledger(pg_url), DispatchSettings(allow_private=True, timeout_seconds=2)
    )
    try:
        assert dispatcher.run_once() == 2
    finally:
        dispatcher.ledger.close()
        dispatcher.close()
    (to_ana,) = receiver.received("/analyst")
    assert to_ana.verify(by_owner["secret"])["type"] == STALE
    assert to_ana.event["data"]["owner"] == "analyst"
    assert to_ana.event["data"]["key_result_id"] == quarter["key_result"]["id"]
    (to_q3,) = receiver.received("/q3")
    assert to_q3.verify(by_cycle["secret"])["type"] == ENDING
