"""Input an attacker or a careless client sends: refused as problems, stored exactly, or both.

Each test here failed before the hardening it names: a NUL that stalled every read model,
dates and nesting that answered 500, JSON numbers rounded through float, digits from other
scripts, duplicate keys, and cursors past the log's head.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
import pytest

from application.ledger import GoalLedger
from tests.http.conftest import (
    Goals,
    Headers,
    check_in_body,
    created,
    objective_body,
    position,
    problem,
)

pytestmark = pytest.mark.postgres

JSON = {"Content-Type": "application/json"}


def _check_in(client: httpx.Client, admin: Headers, key_result: str, body: str) -> httpx.Response:
    """A check-in sent as raw JSON text, so numbers reach the server as the client wrote them."""
    return client.post(
        f"/v1/key-results/{key_result}/check-ins", content=body, headers={**admin, **JSON}
    )


def test_control_characters_are_refused_in_every_text_field_and_store_nothing(
    client: httpx.Client, admin: Headers, ledger: GoalLedger, quarter: dict[str, Any]
) -> None:
    key_result = quarter["key_result"]["id"]
    before = position(ledger)
    # A NUL in a note was accepted and then stalled every read model on PostgreSQL.
    response = client.post(
        f"/v1/key-results/{key_result}/check-ins",
        json=check_in_body(note="a\u0000b"),
        headers=admin,
    )
    problem(response, 422, "note")
    # Other control characters too, and in titles; a line break is fine in a note only.
    problem(
        client.post(
            "/v1/objectives", json=objective_body("analyst", title="a\u0000b"), headers=admin
        ),
        422,
        "title",
    )
    problem(
        client.post("/v1/objectives", json=objective_body("analyst", title="a\nb"), headers=admin),
        422,
        "title",
    )
    problem(
        client.post(
            f"/v1/key-results/{key_result}/check-ins",
            json=check_in_body(note="escape \u001b[31m red"),
            headers=admin,
        ),
        422,
        "note",
    )
    # Text that prints nothing says nothing: zero-width characters alone are no title.
    problem(
        client.post(
            "/v1/objectives",
            json=objective_body("analyst", title="\u200b\u200d\ufeff"),
            headers=admin,
        ),
        422,
        "title",
    )
    assert position(ledger) == before
    # Multi-line notes keep their line breaks and tabs.
    saved = created(
        client.post(
            f"/v1/key-results/{key_result}/check-ins",
            json=check_in_body(note="first line\n\tsecond line"),
            headers=admin,
        )
    )
    read = client.get(f"/v1/key-results/{key_result}", headers=admin).json()
    assert read["last_check_in"]["id"] == saved["check_in_id"]
    assert read["last_check_in"]["note"] == "first line\n\tsecond line"


@pytest.mark.parametrize("kind", ["key-results", "objectives", "kpis"])
def test_far_dates_in_history_reads_are_refused_not_500(
    client: httpx.Client, admin: Headers, goals: Goals, quarter: dict[str, Any], kind: str
) -> None:
    goal = {
        "key-results": quarter["key_result"]["id"],
        "objectives": quarter["objective"]["id"],
        "kpis": goals.kpi()["id"],
    }[kind]
    for day in ("9999-12-31", "0001-01-01"):
        response = client.get(f"/v1/{kind}/{goal}/history", params={"as_of": day}, headers=admin)
        problem(response, 422, "query.as_of")
        # The goal reads take the same bound.
        problem(client.get(f"/v1/{kind}/{goal}", params={"as_of": day}, headers=admin), 422)


def test_evidence_for_a_period_at_the_end_of_the_calendar_is_refused_not_500(
    client: httpx.Client, tokens: Any, quarter: dict[str, Any]
) -> None:
    reviewer = tokens.headers("recruiter", "reviewer")
    response = client.get(
        "/v1/people/analyst/evidence",
        params={"from": "9999-01-01", "to": "9999-12-31"},
        headers=reviewer,
    )
    problem(response, 422, "query.from")


def test_deeply_nested_bodies_are_refused_as_problems(
    client: httpx.Client, admin: Headers, ledger: GoalLedger, quarter: dict[str, Any]
) -> None:
    key_result = quarter["key_result"]["id"]
    before = position(ledger)
    deep = "[" * 30_000
    # As plain text with an Idempotency-Key (whose fingerprint parsed the body): a 500.
    response = client.post(
        f"/v1/key-results/{key_result}/check-ins",
        content=deep,
        headers={**admin, "Content-Type": "text/plain", "Idempotency-Key": "deep-1"},
    )
    assert 400 <= response.status_code < 500
    problem(response, response.status_code)
    # As JSON: refused before parsing.
    response = client.post(
        f"/v1/key-results/{key_result}/check-ins",
        content=deep,
        headers={**admin, **JSON, "Idempotency-Key": "deep-2"},
    )
    problem(response, 400, "body")
    assert position(ledger) == before


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("62.123456789012345678901", "62.123456789012345678901"),
        ("2.4000000000000000001", "2.4000000000000000001"),
        ("1e3", "1000"),
        ('"1e2"', "100"),
        ("2.40", "2.4"),
        ('"0.0000001"', "0.0000001"),
    ],
)
def test_json_numbers_are_exact_decimals_in_one_plain_form(
    client: httpx.Client, admin: Headers, ledger: GoalLedger, goals: Goals, sent: str, stored: str
) -> None:
    goals.open_cycle()
    objective = goals.objective("analyst")
    # A milestone takes values in [0, 1]; the others need an unbounded key result.
    key_result = goals.key_result(objective["id"], "analyst", baseline="0", target="100000")["id"]
    body = f'{{"value": {sent}, "confidence": "on_track", "effective_on": "2026-08-15"}}'
    saved = created(_check_in(client, admin, key_result, body))
    read = client.get(f"/v1/key-results/{key_result}", headers=admin).json()
    assert read["last_check_in"]["id"] == saved["check_in_id"]
    assert read["last_check_in"]["value"] == stored
    assert read["value"] == stored
    # The stored event holds the same exact value, in the same plain form.
    check_in = ledger.get_key_result(key_result).check_ins[UUID(saved["check_in_id"])]
    assert check_in.value == Decimal(stored)
    stored_event = ledger.recorder.select_notifications(start=saved["position"], limit=1)[0]
    assert f'"{stored}"'.encode() in stored_event.state


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ('{"value": "\u0662\u0663", "confidence": "on_track"}', "value", 422),
        ('{"value": "1_000", "confidence": "on_track"}', "value", 422),
        ('{"value": NaN, "confidence": "on_track"}', "value", 422),
        ('{"value": -Infinity, "confidence": "on_track"}', "value", 422),
        ('{"value": "41", "value": "9", "confidence": "on_track"}', "value", 400),
        ('{"value": "41", "confidence": "on_track", "effective_on": "0001-01-01"}', None, 422),
        ('{"value": "41", "confidence": "on_track", "effective_on": 1786752000}', None, 422),
    ],
)
def test_loose_input_is_refused(
    client: httpx.Client,
    admin: Headers,
    ledger: GoalLedger,
    quarter: dict[str, Any],
    body: str,
    field: str | None,
    status: int,
) -> None:
    before = position(ledger)
    response = _check_in(client, admin, quarter["key_result"]["id"], body)
    found = problem(response, status, field)
    if field is None:
        assert "effective_on" in found["detail"] or "effective_on" in str(found.get("errors"))
    assert position(ledger) == before


def test_cycles_at_the_ends_of_the_calendar_are_refused(
    client: httpx.Client, admin: Headers
) -> None:
    for starts_on, ends_on, field in (
        ("0001-01-01", "0001-03-31", "starts_on"),
        ("9999-10-01", "9999-12-31", "starts_on"),
    ):
        response = client.post(
            "/v1/cycles",
            json={"id": "far", "starts_on": starts_on, "ends_on": ends_on},
            headers=admin,
        )
        problem(response, 422, field)


def test_cursors_past_the_log_head_are_refused(
    client: httpx.Client, tokens: Any, ledger: GoalLedger, quarter: dict[str, Any]
) -> None:
    service = tokens.headers("bi", "service")
    head = position(ledger)
    # At the head: an empty page that keeps the cursor where it is.
    page = client.get("/v1/events", params={"after": head}, headers=service).json()
    assert page["events"] == [] and page["next_after"] == head
    # One past it, or 10^30: the client is following another store, or mistyped.
    problem(
        client.get("/v1/events", params={"after": head + 1}, headers=service), 422, "query.after"
    )
    problem(client.get("/v1/events", params={"after": 10**30}, headers=service), 422, "query.after")
    # The live stream refuses such a Last-Event-ID at once instead of never delivering.
    response = client.get(
        "/v1/events/stream", headers={**service, "Last-Event-ID": "9" * 40}, timeout=5
    )
    assert response.status_code in (400, 422)
    problem(response, response.status_code, "Last-Event-ID")
    response = client.get(
        "/v1/events/stream", headers={**service, "Last-Event-ID": str(head + 5)}, timeout=5
    )
    problem(response, 422, "Last-Event-ID")


def test_check_in_count_follows_as_of(
    client: httpx.Client, admin: Headers, goals: Goals, quarter: dict[str, Any]
) -> None:
    key_result = quarter["key_result"]["id"]
    for day, value in (("2026-07-10", "33"), ("2026-08-10", "38"), ("2026-09-10", "45")):
        goals.check_in(key_result, value=value, effective_on=day)
    counts = {
        as_of: client.get(
            f"/v1/key-results/{key_result}", params={"as_of": as_of}, headers=admin
        ).json()["check_in_count"]
        for as_of in ("2026-07-01", "2026-07-10", "2026-08-31", "2026-09-30")
    }
    assert counts == {"2026-07-01": 0, "2026-07-10": 1, "2026-08-31": 2, "2026-09-30": 3}
