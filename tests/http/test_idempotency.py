"""Idempotency-Key: a retried write returns the first response and stores nothing new."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from application.ledger import GoalLedger
from application.stores import open_ledger
from domain.access import Role
from tests.http.conftest import (
    CYCLE,
    Goals,
    Headers,
    LiveServer,
    Tokens,
    bearer,
    check_in_body,
    created,
    events_since,
    initialised_ledger,
    key_result_body,
    objective_body,
    position,
    problem,
    same_write,
    serve,
)

pytestmark = pytest.mark.postgres


def test_a_retried_write_returns_the_first_response_and_stores_nothing(
    client: httpx.Client, quarter: dict[str, Any], admin: Headers, ledger: GoalLedger
) -> None:
    kr = quarter["key_result"]["id"]
    keyed = {**admin, "Idempotency-Key": "check-in-2026-08-15"}
    # The first attempt records a check-in.
    first = client.post(f"/v1/key-results/{kr}/check-ins", json=check_in_body(), headers=keyed)
    first_body = created(first)
    after_first = position(ledger)

    # The client never saw the answer and retries, with the keys in another order:
    # same status, same body (the same check-in id), same ETag and Location, no new event.
    reordered = dict(reversed(list(check_in_body().items())))
    retry = client.post(f"/v1/key-results/{kr}/check-ins", json=reordered, headers=keyed)
    assert same_write(first_body, created(retry))
    assert retry.headers["ETag"] == first.headers["ETag"]
    assert retry.headers["Location"] == first.headers["Location"]
    assert position(ledger) == after_first

    # The key result holds one check-in, not two.
    read = client.get(f"/v1/key-results/{kr}", headers=admin).json()
    assert read["check_in_count"] == 1 and read["version"] == first_body["version"]

    # The same key for a different body is a client error (422), naming the header.
    other = client.post(f"/v1/key-results/{kr}/check-ins", json=check_in_body("45"), headers=keyed)
    problem(other, 422, field="Idempotency-Key")
    # ...and for the same body on another path too.
    retire = client.post(
        f"/v1/key-results/{kr}/retire",
        json={"reason": "dup", "reason_code": "duplicate"},
        headers=keyed,
    )
    problem(retire, 422, field="Idempotency-Key")
    assert position(ledger) == after_first


def test_a_replay_is_byte_for_byte_the_first_response(
    client: httpx.Client, quarter: dict[str, Any], admin: Headers
) -> None:
    kr = quarter["key_result"]["id"]
    keyed = {**admin, "Idempotency-Key": "byte-for-byte"}
    first = client.post(f"/v1/key-results/{kr}/check-ins", json=check_in_body(), headers=keyed)
    retry = client.post(f"/v1/key-results/{kr}/check-ins", json=check_in_body(), headers=keyed)
    assert (retry.status_code, retry.content) == (first.status_code, first.content)


def test_keys_belong_to_the_caller(
    client: httpx.Client, goals: Goals, tokens: Tokens, ledger: GoalLedger
) -> None:
    goals.open_cycle()
    analyst = tokens.headers("analyst", Role.MEMBER)
    buyer = tokens.headers("buyer", Role.MEMBER)
    # The analyst and the buyer both happen to use the key "1" for their own objectives.
    mine = created(
        client.post(
            "/v1/objectives",
            json=objective_body("analyst"),
            headers={**analyst, "Idempotency-Key": "1"},
        )
    )
    theirs = created(
        client.post(
            "/v1/objectives",
            json=objective_body("buyer"),
            headers={**buyer, "Idempotency-Key": "1"},
        )
    )
    # Two objectives were created: one caller's key never answers for another's request.
    assert mine["id"] != theirs["id"]


def test_a_retry_after_a_restart_finds_the_first_response(pg_url: str) -> None:
    # A first server process records a key result under an Idempotency-Key...
    with serve(initialised_ledger(pg_url)) as first:
        token, _ = first.ledger.issue_token(actor="bootstrap", subject="root", roles=["admin"])
        keyed = {**bearer(token), "Idempotency-Key": "kr-nps-2026-q3"}
        with httpx.Client(base_url=first.url) as client:
            created(client.post("/v1/cycles", json=CYCLE, headers=bearer(token)))
            objective = created(
                client.post("/v1/objectives", json=objective_body("analyst"), headers=bearer(token))
            )
            body = key_result_body(objective["id"], "analyst")
            original = created(client.post("/v1/key-results", json=body, headers=keyed))
        stored = position(first.ledger)
    # ...and stops (its lifespan closes the ledger) before the client saw the answer.

    # A new process, a new app and a new ledger on the same database.
    with serve(open_ledger(pg_url)) as second:
        assert second.ledger is not first.ledger
        with httpx.Client(base_url=second.url) as client:
            # The retry gets the first response, and the history gains nothing.
            retry = client.post("/v1/key-results", json=body, headers=keyed)
            assert same_write(original, created(retry))
            assert position(second.ledger) == stored
            # The same key with another body is still refused.
            changed = {**body, "title": "NPS from 32 to 55"}
            problem(client.post("/v1/key-results", json=changed, headers=keyed), 422)
            # The objective holds the one key result.
            read = client.get(f"/v1/objectives/{objective['id']}", headers=bearer(token))
            assert [kr["id"] for kr in read.json()["key_results"]] == [original["id"]]


def race_with_one_key(
    live: LiveServer, path: str, body: dict[str, Any], headers: Headers
) -> list[httpx.Response]:
    """The same keyed request sent twice at the same moment, on two connections."""
    barrier = threading.Barrier(2)
    responses: list[httpx.Response] = []

    def send() -> None:
        with httpx.Client(base_url=live.url, timeout=10.0) as own:
            own.get("/healthz")
            barrier.wait()
            responses.append(own.post(path, json=body, headers=headers))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def test_two_clients_racing_with_the_same_key_store_one_check_in(
    live: LiveServer, quarter: dict[str, Any], admin: Headers, ledger: GoalLedger
) -> None:
    kr = quarter["key_result"]["id"]
    for attempt in range(3):
        before = position(ledger)
        keyed = {**admin, "Idempotency-Key": f"race-{attempt}"}
        # A client times out and retries while its first attempt is still in flight.
        responses = race_with_one_key(
            live, f"/v1/key-results/{kr}/check-ins", check_in_body(), keyed
        )
        # Both attempts get the one answer, and exactly one event was stored.
        bodies = [created(r) for r in responses]
        assert same_write(bodies[0], bodies[1])
        assert events_since(ledger, before) == 1


def test_two_clients_racing_with_the_same_key_open_one_cycle(
    live: LiveServer, admin: Headers, ledger: GoalLedger
) -> None:
    for attempt in range(3):
        before = position(ledger)
        cycle = {**CYCLE, "id": f"2026-R{attempt}"}
        keyed = {**admin, "Idempotency-Key": f"open-{attempt}"}
        # A client times out and retries its cycle opening while the first is in flight.
        responses = race_with_one_key(live, "/v1/cycles", cycle, keyed)
        # Both attempts should get the first response (201), with one event stored.
        assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
        assert same_write(responses[0].json(), responses[1].json())
        assert events_since(ledger, before) == 1
