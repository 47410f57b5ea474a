"""Command routes take the caller's grant from the API process's memory (ADR 46): a token
revoked by another process is still refused, with the 401 a fresh check gives."""

from __future__ import annotations

import httpx

from application.ledger import GoalLedger
from application.stores import open_ledger
from domain.access import Role
from tests.http.conftest import Goals, Tokens, bearer, check_in_body, created, position, problem


def test_a_token_revoked_by_another_process_cannot_check_in(
    client: httpx.Client, goals: Goals, tokens: Tokens, ledger: GoalLedger, pg_url: str
) -> None:
    goals.open_cycle()
    key_result = goals.key_result(goals.objective("analyst")["id"], "analyst")["id"]
    token = tokens.issue("analyst", Role.MEMBER)
    path = f"/v1/key-results/{key_result}/check-ins"
    created(client.post(path, json=check_in_body("41"), headers=bearer(token)))

    other_process = open_ledger(pg_url)
    try:
        other_process.revoke_token(actor="root", token=token, reason="left the company")
    finally:
        other_process.close()
    before = position(ledger)

    refused = client.post(path, json=check_in_body("42"), headers=bearer(token))

    body = problem(refused, 401, field="Authorization")
    assert body["type"].endswith("invalid-token")
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    assert position(ledger) == before
    # A read route checks the store on every request, and says the same.
    problem(client.get(f"/v1/key-results/{key_result}", headers=bearer(token)), 401)
