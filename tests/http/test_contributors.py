"""Contributors over HTTP on PostgreSQL (ADR 42): a key result shared across teams names its
contributors, each from a day until a day, and their evidence holds it for those months."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from application.ledger import GoalLedger
from domain.access import Role
from projections.registry import worker_for
from tests.http.conftest import Goals, Headers, Tokens, created, ok, position, problem

pytestmark = pytest.mark.postgres

PERIOD = {"from": "2026-07-01", "to": "2026-09-30"}


def caught_up(ledger: GoalLedger) -> None:
    worker = worker_for(ledger)
    worker.create_tables()
    worker.run_until_caught_up()


def add(
    client: httpx.Client, path: str, headers: Headers, who: str, **extra: Any
) -> httpx.Response:
    return client.post(f"{path}/contributors", json={"contributor": who, **extra}, headers=headers)


def end(client: httpx.Client, path: str, headers: Headers, who: str, until: str) -> httpx.Response:
    return client.post(f"{path}/contributors/{who}/end", json={"until": until}, headers=headers)


def test_a_shared_key_result_names_its_contributors_by_month(
    client: httpx.Client, ledger: GoalLedger, goals: Goals, admin: Headers, tokens: Tokens
) -> None:
    # Product owns the activation key result; engineering contributes from July to August.
    goals.open_cycle()
    objective = goals.objective("product-lead")
    key_result = goals.key_result(objective["id"], "product-lead")
    path = f"/v1/key-results/{key_result['id']}"
    owner = tokens.headers("product-lead", Role.MEMBER)
    created(add(client, path, owner, "eng-lead", effective_on="2026-07-01"))
    written = created(end(client, path, owner, "eng-lead", until="2026-08-31"))
    # Design joins for September.
    created(add(client, path, admin, "design-lead", effective_on="2026-09-01"))
    assert ok(client.get(path, headers=admin))["version"] == written["version"] + 1

    # The ownership read lists who contributed on a day, and every span.
    august = ok(client.get(f"{path}/ownership", params={"as_of": "2026-08-15"}, headers=admin))
    assert august["contributors"] == ["eng-lead"]
    september = ok(client.get(f"{path}/ownership", params={"as_of": "2026-09-15"}, headers=admin))
    assert september["contributors"] == ["design-lead"]
    assert [(c["contributor"], c["starts_on"], c["ends_on"]) for c in august["contributions"]] == [
        ("eng-lead", "2026-07-01", "2026-08-31"),
        ("design-lead", "2026-09-01", None),
    ]

    # The key result's read names its contributors on the day it is read as of.
    read = ok(client.get(path, params={"as_of": "2026-08-31"}, headers=admin))
    assert read["contributors"] == ["eng-lead"]
    assert ok(client.get(path, headers=admin))["contributors"] == ["design-lead"]

    # The history shows each change, with its day.
    caught_up(ledger)
    history = client.get(f"{path}/history", headers=admin).json()
    rows = [(e["event"], e["effective_on"], e["after"]) for e in history["items"]]
    assert (
        "contributor_added",
        "2026-07-01",
        {"contributor": "eng-lead", "status": "contributing"},
    ) in rows
    assert (
        "contributor_removed",
        "2026-08-31",
        {"contributor": "eng-lead", "status": "ended"},
    ) in rows

    # The engineering lead's evidence holds the key result as a contributor for July and
    # August, though they own nothing; design's for September.
    eng = client.get("/v1/people/eng-lead/evidence", params=PERIOD, headers=admin)
    assert eng.status_code == 200, eng.text
    [relation] = eng.json()["relations"]
    assert (relation["relation"], relation["months"]) == ("contributor", ["2026-07", "2026-08"])
    assert [c["event"] for c in relation["cites"]] == ["contributor_added", "contributor_removed"]
    [kr] = [kr for o in eng.json()["objectives"] for kr in o["key_results"]]
    assert [m["month"] for m in kr["months"] if m["active"]] == ["2026-07", "2026-08"]
    caught_up(ledger)
    design = client.get("/v1/people/design-lead/evidence", params=PERIOD, headers=admin).json()
    assert [r["months"] for r in design["relations"]] == [["2026-09"]]


def test_bad_contributor_changes_are_refused_and_store_nothing(
    client: httpx.Client, ledger: GoalLedger, goals: Goals, admin: Headers, tokens: Tokens
) -> None:
    goals.open_cycle()
    objective = goals.objective("product-lead")
    path = f"/v1/key-results/{goals.key_result(objective['id'], 'product-lead')['id']}"
    created(add(client, path, admin, "eng-lead", effective_on="2026-07-01"))
    stranger = tokens.headers("sales-lead", Role.MEMBER)
    before = position(ledger)
    # The owner is no contributor; one already named is not named twice.
    problem(add(client, path, admin, "product-lead"), 422, "contributor")
    problem(add(client, path, admin, "eng-lead"), 409)
    problem(add(client, path, admin, "not a slug"), 422, "contributor")
    problem(add(client, path, admin, "ops", effective_on="2026-10-05"), 422, "effective_on")
    # Only a current contributor is ended, and not before they started.
    problem(end(client, path, admin, "ops", until="2026-08-01"), 404)
    problem(end(client, path, admin, "eng-lead", until="2026-06-30"), 422)
    # Someone with no right on the owner's goals names no one.
    problem(add(client, path, stranger, "sales-lead"), 403)
    assert position(ledger) == before
