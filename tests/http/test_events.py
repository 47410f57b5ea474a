"""The event feed for services, over HTTP: CloudEvents in log order, resumable."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from domain.access import Role
from tests.http.conftest import Headers, Tokens, check_in_body, created, problem

pytestmark = pytest.mark.postgres


def test_a_service_reads_the_feed_in_order_and_resumes(
    client: httpx.Client, quarter: dict[str, Any], admin: Headers, tokens: Tokens
) -> None:
    service = tokens.headers("bi-exporter", Role.SERVICE)
    # A member may not subscribe: the feed is for services.
    problem(client.get("/v1/events", headers=tokens.headers("analyst", Role.MEMBER)), 403)

    # The BI exporter reads the quarter so far, two events a page.
    first = client.get("/v1/events", params={"limit": 2}, headers=service).json()
    assert [e["type"] for e in first["events"]] == [
        "goalpost.cycle.opened.v1",
        "goalpost.objective.created.v1",
    ]
    assert all(e["specversion"] == "1.0" for e in first["events"])
    positions = [e["position"] for e in first["events"]]
    assert positions == sorted(positions) and first["next_after"] == positions[-1]

    # The rest, from its cursor: no event twice, none skipped, the head reached.
    rest = client.get(
        "/v1/events", params={"after": first["next_after"], "limit": 100}, headers=service
    ).json()
    seen = first["events"] + rest["events"]
    assert len({e["id"] for e in seen}) == len(seen)
    assert rest["next_after"] == rest["head"]
    kr = quarter["key_result"]["id"]
    assert f"key-results/{kr}" in {e["subject"] for e in seen}

    # A check-in later; resuming from the cursor yields it and only it.
    check_in = created(
        client.post(f"/v1/key-results/{kr}/check-ins", json=check_in_body(), headers=admin)
    )
    new = client.get("/v1/events", params={"after": rest["next_after"]}, headers=service).json()
    assert [e["type"] for e in new["events"]] == ["goalpost.key_result.check_in_recorded.v1"]
    assert new["events"][0]["data"]["check_in_id"] == check_in["check_in_id"]
    assert new["events"][0]["data"]["actor"] == "root"

    # Filtered by type.
    only = client.get(
        "/v1/events",
        params={"type": "goalpost.key_result.check_in_recorded.v1"},
        headers=service,
    ).json()
    assert [e["id"] for e in only["events"]] == [new["events"][0]["id"]]
    problem(client.get("/v1/events", params={"type": "nope"}, headers=service), 422, field="type")


def test_the_live_stream_resumes_after_the_last_event_id(
    client: httpx.Client, quarter: dict[str, Any], admin: Headers, tokens: Tokens
) -> None:
    service = tokens.headers("chat-bot", Role.SERVICE)
    kr = quarter["key_result"]["id"]
    created(client.post(f"/v1/key-results/{kr}/check-ins", json=check_in_body(), headers=admin))
    feed = client.get("/v1/events", headers=service).json()["events"]
    # The bot saw everything up to the key result's creation and reconnects from there.
    resume_from = next(e for e in feed if e["type"] == "goalpost.key_result.created.v2")
    expected = [e["id"] for e in feed if e["position"] > resume_from["position"]]

    received: list[dict[str, Any]] = []
    headers = {**service, "Last-Event-ID": str(resume_from["position"])}
    with client.stream("GET", "/v1/events/stream", headers=headers) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        # Read until every event after the cursor arrived, then hang up.
        for line in stream.iter_lines():
            if line.startswith("data: "):
                received.append(json.loads(line.removeprefix("data: ")))
            if len(received) == len(expected):
                break
    assert [e["id"] for e in received] == expected

    # A Last-Event-ID that is no position is refused before any streaming.
    bad = client.get("/v1/events/stream", headers={**service, "Last-Event-ID": "yesterday"})
    problem(bad, 400, field="Last-Event-ID")
