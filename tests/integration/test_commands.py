"""Commands at the ledger: the caller's grant and idempotent request are parameters.

Each story runs once on SQLite and once on PostgreSQL (the `ledger` fixture).
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest

from application.ledger import GoalLedger
from domain.access import AccessGrant, Role
from domain.errors import ForbiddenError, IdempotencyKeyReusedError
from storage.requests import IdempotentRequest


def head(ledger: GoalLedger) -> int:
    return ledger.recorder.max_notification_id() or 0


def grant_for(ledger: GoalLedger, subject: str, *roles: Role) -> AccessGrant:
    token, _ = ledger.issue_token(actor="bootstrap", subject=subject, roles=list(roles))
    return ledger.authenticate(token)


def buyers_key_result(ledger: GoalLedger) -> UUID:
    ledger.open_cycle(
        actor="cfo", key="2026-Q3", starts_on=date(2026, 7, 1), ends_on=date(2026, 9, 30)
    )
    objective = ledger.create_objective(
        actor="buyer", cycle_id="2026-Q3", title="Grow", owner="buyer", kind="committed"
    )
    key_result = ledger.create_key_result(
        actor="buyer",
        objective_id=objective.id,
        title="NPS",
        owner="buyer",
        unit="points",
        direction="increase",
        baseline=32,
        target=50,
        measurement_source="survey",
        measurement_query="nps",
        effective_on=date(2026, 7, 1),
    )
    return key_result.id


def test_a_command_authorises_the_callers_grant_on_the_goal_it_loaded(
    ledger: GoalLedger,
) -> None:
    key_result_id = buyers_key_result(ledger)
    analyst = grant_for(ledger, "analyst", Role.MEMBER)
    buyer = grant_for(ledger, "buyer", Role.MEMBER)
    check_in = {
        "key_result_id": key_result_id,
        "value": 41,
        "confidence": "on_track",
        "effective_on": date(2026, 8, 15),
    }
    before = head(ledger)

    # The analyst's grant does not reach the buyer's key result: refused, nothing stored.
    with pytest.raises(ForbiddenError) as refused:
        ledger.record_check_in(actor="analyst", grant=analyst, **check_in)
    assert (
        refused.value.message == "analyst may not record_check_in on goals owned by buyer (other)"
    )
    assert head(ledger) == before

    # The buyer's does; and an operator at the store (no grant) is not asked.
    assert ledger.record_check_in(actor="buyer", grant=buyer, **check_in).version == 2
    assert ledger.record_check_in(actor="ops", **check_in).version == 3


def test_a_request_given_twice_stores_once_and_answers_the_same(ledger: GoalLedger) -> None:
    key_result_id = buyers_key_result(ledger)
    request = IdempotentRequest(actor="buyer", key="k-1", fingerprint="check-in 41")
    check_in = {
        "actor": "buyer",
        "key_result_id": key_result_id,
        "value": 41,
        "confidence": "on_track",
        "effective_on": date(2026, 8, 15),
    }

    first = ledger.record_check_in(request=request, **check_in)
    after_first = head(ledger)
    again = ledger.record_check_in(request=request, **check_in)

    # The retry stored nothing and named the same goal, version, check-in and position.
    assert head(ledger) == after_first
    assert again == first
    assert ledger.get_key_result(key_result_id).version == first.version == 2
    # The same key for another request is the caller's error, and stores nothing.
    other = IdempotentRequest(actor="buyer", key="k-1", fingerprint="check-in 42")
    with pytest.raises(IdempotencyKeyReusedError):
        ledger.record_check_in(request=other, **{**check_in, "value": 42})
    assert head(ledger) == after_first
