"""If-Match: a stale write gets 412, a lost race 409, and nothing is half-written."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from application.ledger import GoalLedger
from tests.http.conftest import (
    CYCLE,
    Headers,
    LiveServer,
    check_in_body,
    created,
    events_since,
    ok,
    position,
    problem,
)

pytestmark = pytest.mark.postgres

ROUNDS = 5


def race(
    live: LiveServer, *requests: Callable[[httpx.Client], httpx.Response]
) -> list[httpx.Response]:
    """Send the requests at the same moment, each on its own connection."""
    barrier = threading.Barrier(len(requests))
    responses: list[httpx.Response | None] = [None] * len(requests)

    def send(index: int, request: Callable[[httpx.Client], httpx.Response]) -> None:
        with httpx.Client(base_url=live.url, timeout=10.0) as own:
            # Connect first, so the barrier releases requests, not handshakes.
            own.get("/healthz")
            barrier.wait()
            responses[index] = request(own)

    threads = [threading.Thread(target=send, args=(i, r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r is not None for r in responses)
    return [r for r in responses if r is not None]


def test_a_stale_if_match_gets_412_with_the_current_version(
    client: httpx.Client, quarter: dict[str, Any], admin: Headers, ledger: GoalLedger
) -> None:
    kr = f"/v1/key-results/{quarter['key_result']['id']}"
    # The analyst reads the key result: ETag "1".
    etag = client.get(kr, headers=admin).headers["ETag"]
    assert etag == '"1"'
    # She checks in, naming the version she read: accepted, ETag "2".
    first = client.post(
        f"{kr}/check-ins", json=check_in_body(), headers={**admin, "If-Match": etag}
    )
    assert created(first)["version"] == 2
    before = position(ledger)
    # Her second tab still holds "1": 412, the current version in the body and the ETag.
    stale = client.post(
        f"{kr}/check-ins", json=check_in_body("45"), headers={**admin, "If-Match": etag}
    )
    body = problem(stale, 412)
    assert body["current_version"] == 2
    assert stale.headers["ETag"] == '"2"'
    assert position(ledger) == before
    # Reloading and naming "2" (weak or strong) succeeds; "*" means any version.
    for if_match, value, version in (('W/"2"', "45", 3), ("*", "46", 4)):
        response = client.post(
            f"{kr}/check-ins", json=check_in_body(value), headers={**admin, "If-Match": if_match}
        )
        assert created(response)["version"] == version
    # The same on every kind of goal: a stale close of the cycle (its ETag is "2" now).
    cycle = client.get("/v1/cycles/2026-Q3", headers=admin)
    assert cycle.headers["ETag"] == '"2"'
    stale_close = client.post("/v1/cycles/2026-Q3/close", headers={**admin, "If-Match": '"1"'})
    assert problem(stale_close, 412)["current_version"] == 2


def test_two_writers_racing_on_one_version_one_wins(
    live: LiveServer,
    client: httpx.Client,
    quarter: dict[str, Any],
    admin: Headers,
    ledger: GoalLedger,
) -> None:
    kr = f"/v1/key-results/{quarter['key_result']['id']}"
    for round_ in range(ROUNDS):
        # Both writers read the key result at the same version.
        etag = client.get(kr, headers=admin).headers["ETag"]
        before = position(ledger)
        headers = {**admin, "If-Match": etag}

        # They check in different values at the same moment.
        responses = race(
            live,
            *[
                (
                    lambda c, v=v, h=headers: c.post(
                        f"{kr}/check-ins", json=check_in_body(v), headers=h
                    )
                )
                for v in ("40", "42")
            ],
        )

        # Exactly one wins (201); the other learns it lost (409 if both passed the
        # version check and clashed on save, 412 if the winner had already saved).
        # Never a 5xx.
        statuses = sorted(r.status_code for r in responses)
        assert statuses[0] == 201 and statuses[1] in (409, 412), [r.text for r in responses]
        winner = next(r for r in responses if r.status_code == 201)
        loser = next(r for r in responses if r.status_code != 201)
        problem(loser, loser.status_code)
        # Exactly one event was stored; the key result shows the winner's check-in, once.
        assert events_since(ledger, before) == 1
        read = ok(client.get(kr, headers=admin))
        assert read["version"] == created(winner)["version"] == round_ + 2
        assert read["check_in_count"] == round_ + 1
        assert read["last_check_in"]["id"] == winner.json()["check_in_id"]


def test_racing_writers_without_if_match_both_land(
    live: LiveServer,
    client: httpx.Client,
    quarter: dict[str, Any],
    admin: Headers,
    ledger: GoalLedger,
) -> None:
    kr = f"/v1/key-results/{quarter['key_result']['id']}"
    before = position(ledger)
    # Two check-ins at once, neither naming a version: nothing is lost.
    responses = race(
        live,
        *[
            (lambda c, v=v: c.post(f"{kr}/check-ins", json=check_in_body(v), headers=admin))
            for v in ("40", "42")
        ],
    )
    versions = sorted(created(r)["version"] for r in responses)
    assert versions == [2, 3]
    assert events_since(ledger, before) == 2
    assert ok(client.get(kr, headers=admin))["check_in_count"] == 2


def test_opening_the_same_cycle_twice_at_once_opens_it_once(
    live: LiveServer, admin: Headers, ledger: GoalLedger
) -> None:
    before = position(ledger)
    # Two admins open 2026-Q3 at the same moment (no Idempotency-Key).
    responses = race(
        live,
        *[lambda c: c.post("/v1/cycles", json=CYCLE, headers=admin) for _ in range(2)],
    )
    # One opens it, the other is told it already exists; one event.
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409], [r.text for r in responses]
    problem(next(r for r in responses if r.status_code == 409), 409, field="id")
    assert events_since(ledger, before) == 1
