"""Webhook subscriptions over HTTP: who may subscribe, what they see, and delivery state."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from application.ledger import GoalLedger
from application.stores import open_ledger
from delivery.dispatcher import DispatchSettings, WebhookDispatcher
from domain.access import Role
from tests.http.conftest import Goals, Headers, Tokens, position, problem
from tests.webhook_receiver import Receiver, receiving

pytestmark = pytest.mark.postgres

CHECK_IN = "goalpost.key_result.check_in_recorded.v1"
SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()


def subscribe(client: httpx.Client, headers: Headers, **body: Any) -> dict[str, Any]:
    response = client.post(
        "/v1/webhooks", json={"url": "https://hrms.example.com/hooks", **body}, headers=headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert response.headers["Location"] == f"/v1/webhooks/{created['id']}"
    return created


@pytest.fixture
def hrms(tokens: Tokens) -> Headers:
    return tokens.headers("hrms", Role.SERVICE)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as listening:
        yield listening


def test_a_service_subscribes_and_sees_the_signing_secret_once(
    client: httpx.Client, hrms: Headers, ledger: GoalLedger, goals: Goals
) -> None:
    # The analyst owns an objective; HRMS subscribes to check-ins of her goals: 201, a generated
    # whsec_ secret.
    goals.open_cycle()
    goals.objective("analyst")
    created = subscribe(client, hrms, event_types=[CHECK_IN], owner="analyst")
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 32
    assert created["event_types"] == [CHECK_IN] and created["owner"] == "analyst"
    # It starts at the log's head: only events from now on, nothing behind.
    assert created["state"] == "active" and created["position"] == position(ledger)
    assert created["lag"] == 0 and created["created_by"] == "hrms"

    # Read back, alone or in the list: the secret is never shown again.
    one = client.get(f"/v1/webhooks/{created['id']}", headers=hrms).json()
    assert "secret" not in one and one["pending"] == 0
    listed = client.get("/v1/webhooks", headers=hrms).json()["webhooks"]
    assert [w["id"] for w in listed] == [created["id"]]
    assert "secret" not in listed[0]

    # A secret of its own is kept as given; a cursor from the feed sets where it starts.
    own = subscribe(client, hrms, secret=SECRET, after=0)
    assert own["secret"] == SECRET and own["position"] == 0
    assert own["lag"] == position(ledger)


def test_bad_subscriptions_are_refused_as_problems(
    client: httpx.Client, hrms: Headers, ledger: GoalLedger
) -> None:
    def refused(field: str, **body: Any) -> None:
        response = client.post(
            "/v1/webhooks", json={"url": "https://ok.example.com/", **body}, headers=hrms
        )
        problem(response, 422, field)

    # URLs: http or https only, a host, no credentials, not too long.
    for url in (
        "ftp://files.example.com/hook",
        "javascript:alert(1)",
        "https://user:password@hrms.example.com/hook",
        "https://token@hrms.example.com/hook",
        "http:///no-host",
        "https://hrms.example.com:99999/",
        "https://hrms.example.com/" + "a" * 2100,
        # Private destinations: the dispatcher runs inside the network.
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5:5432/",
        "http://[::1]/hook",
        "http://[::ffff:192.168.1.1]/hook",
        "",
    ):
        refused("url", url=url)
    # Event types must be ones the feed publishes.
    refused("event_types", event_types=["goalpost.key_result.check_in_recorded.v9"])
    # A given secret must be whsec_ and base64 of enough bytes.
    refused("secret", secret="hunter2")
    refused("secret", secret="whsec_" + base64.b64encode(b"short").decode())
    refused("secret", secret="whsec_not base64!")
    # Filters are people, teams and cycle keys; a cursor cannot be past the log's head.
    refused("owner", owner="analyst smith")
    refused("cycle_id", cycle_id="")
    refused("after", after=position(ledger) + 1)
    refused("after", after=-1)
    # Nothing was stored.
    assert client.get("/v1/webhooks", headers=hrms).json()["webhooks"] == []


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("[::127.0.0.1]", id="IPv4-compatible"),
        pytest.param("[64:ff9b::a9fe:a9fe]", id="NAT64 well-known"),
        pytest.param("[64:ff9b:1::a00:5]", id="NAT64 local-use"),
        pytest.param("[2002:a9fe:a9fe::1]", id="6to4"),
        pytest.param("[2001:0:4136:e378:8000:63bf:5601:5601]", id="Teredo"),
    ],
)
def test_ipv6_forms_of_inside_ipv4_addresses_are_refused_on_url(
    client: httpx.Client, hrms: Headers, host: str
) -> None:
    # Each names the metadata service, loopback or a private address by another route.
    response = client.post("/v1/webhooks", json={"url": f"http://{host}/hook"}, headers=hrms)
    body = problem(response, 422, "url")
    assert "is not a public address (it leads to" in body["detail"]


def test_services_see_and_change_only_their_own_webhooks(
    client: httpx.Client, hrms: Headers, tokens: Tokens, admin: Headers
) -> None:
    bi = tokens.headers("bi", Role.SERVICE)
    hrms_hook = subscribe(client, hrms)
    bi_hook = subscribe(client, bi)

    # Each service lists only its own; another's is not found, whatever the method.
    assert [w["id"] for w in client.get("/v1/webhooks", headers=bi).json()["webhooks"]] == [
        bi_hook["id"]
    ]
    path = f"/v1/webhooks/{hrms_hook['id']}"
    problem(client.get(path, headers=bi), 404)
    problem(client.post(f"{path}/resume", headers=bi), 404)
    problem(client.delete(path, headers=bi), 404)
    # An admin sees everyone's.
    everyone = client.get("/v1/webhooks", headers=admin).json()["webhooks"]
    assert {w["id"] for w in everyone} == {hrms_hook["id"], bi_hook["id"]}
    assert client.get(path, headers=admin).status_code == 200

    # Other roles may not subscribe or look; no token at all is 401.
    for role in (Role.MEMBER, Role.MANAGER, Role.REVIEWER, Role.AUDITOR):
        other = tokens.headers("someone", role)
        problem(client.post("/v1/webhooks", json={"url": "https://x.example"}, headers=other), 403)
        problem(client.get("/v1/webhooks", headers=other), 403)
        problem(client.get(path, headers=other), 403)
    problem(client.get("/v1/webhooks"), 401)

    # HRMS deletes its own: 204, then gone; BI's is untouched.
    deleted = client.delete(path, headers=hrms)
    assert deleted.status_code == 204 and deleted.content == b""
    problem(client.get(path, headers=hrms), 404)
    problem(client.delete(path, headers=hrms), 404)
    assert client.get(f"/v1/webhooks/{bi_hook['id']}", headers=bi).status_code == 200


def test_a_retried_subscription_request_makes_one_subscription(
    client: httpx.Client, hrms: Headers
) -> None:
    keyed = {**hrms, "Idempotency-Key": "hrms-setup-1"}
    body = {"url": "https://hrms.example.com/hooks", "event_types": [CHECK_IN]}
    first = client.post("/v1/webhooks", json=body, headers=keyed)
    again = client.post("/v1/webhooks", json=body, headers=keyed)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert len(client.get("/v1/webhooks", headers=hrms).json()["webhooks"]) == 1
    # The same key for another request is refused.
    problem(client.post("/v1/webhooks", json={**body, "event_types": []}, headers=keyed), 422)


def test_failures_backoff_and_pausing_show_on_the_webhook_and_resume_delivers(
    client: httpx.Client,
    hrms: Headers,
    goals: Goals,
    quarter: dict[str, Any],
    receiver: Receiver,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The receiver is on this machine: a private destination, allowed for this test.
    monkeypatch.setenv("GOALPOST_WEBHOOK_ALLOW_PRIVATE", "true")
    # HRMS subscribes to the analyst's check-ins; its endpoint is down (500).
    receiver.status = lambda _path: 500
    hook = subscribe(client, hrms, url=receiver.url("/hrms"), event_types=[CHECK_IN])
    path = f"/v1/webhooks/{hook['id']}"
    for day in ("2026-08-01", "2026-08-08"):
        goals.check_in(quarter["key_result"]["id"], effective_on=day)
    # A dispatcher of its own (its own pool, as another process would be).
    ledger = open_ledger(pg_url)
    dispatcher = WebhookDispatcher(
        ledger,
        DispatchSettings(
            timeout_seconds=0.5,
            lease_seconds=5,
            retry_base_seconds=0.01,
            retry_cap_seconds=0.05,
            max_failures=3,
            allow_private=True,
        ),
    )
    try:
        # First failure: still active, one attempt, the error and the next retry visible.
        dispatcher.run_once()
        state = client.get(path, headers=hrms).json()
        assert state["state"] == "active" and state["attempts"] == 1
        assert state["last_error"].startswith("HTTP 500")
        assert state["next_attempt_at"] is not None and state["delivered"] == 0
        assert state["pending"] == 2 and state["lag"] > 0

        # Retried when due until the third failure in a row: paused, nothing scheduled.
        while state["state"] == "active":
            due = datetime.fromisoformat(state["next_attempt_at"])
            time.sleep(max(0.0, (due - dispatcher.store.clock.now()).total_seconds()))
            dispatcher.run_once()
            state = client.get(path, headers=hrms).json()
        assert state["state"] == "paused" and state["attempts"] == 3
        assert state["next_attempt_at"] is None and state["paused_at"] is not None
        assert state["pending"] == 2
        # Always the first check-in: the second never overtakes it.
        assert len({d.webhook_id for d in receiver.received()}) == 1

        # The receiver is fixed; HRMS resumes; both check-ins arrive, in order.
        receiver.status = lambda _path: 200
        resumed = client.post(f"{path}/resume", headers=hrms)
        assert resumed.status_code == 200, resumed.text
        assert resumed.json()["state"] == "active" and resumed.json()["attempts"] == 0
        # Resumed, it still says why it failed until a delivery succeeds.
        assert resumed.json()["last_error"].startswith("HTTP 500")
        assert dispatcher.run_once() == 2
    finally:
        dispatcher.close()
        ledger.close()
    state = client.get(path, headers=hrms).json()
    assert state["lag"] == 0 and state["pending"] == 0 and state["delivered"] == 2
    assert state["last_delivered_at"] is not None
    # Delivered again: the error is cleared, as the subscription's schema documents.
    assert state["last_error"] is None
    schema = client.get("/openapi.json").json()["components"]["schemas"]["WebhookPublic"]
    assert (
        "null again once an event is delivered" in schema["properties"]["last_error"]["description"]
    )
    delivered = [d for d in receiver.received() if d.status == 200]
    assert [d.event["type"] for d in delivered] == [CHECK_IN, CHECK_IN]
    assert delivered[0].position < delivered[1].position
    for delivery in delivered:
        delivery.verify(hook["secret"])
