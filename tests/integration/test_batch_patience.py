"""A read-model batch is not cut off by the store's limit on idle transactions."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from eventsourcing.persistence import PersistenceError

from application.ledger import GoalLedger
from projections.registry import worker_for
from storage.settings import store_env
from storage.views import ViewDatabase

# The store's limit on a session idle in a transaction, lowered for the test from 5 s.
IDLE_LIMIT_SECONDS = 2
# Longer than that: a batch decoding events and loading goals between two statements.
BETWEEN_STATEMENTS_SECONDS = 3


@pytest.fixture
def impatient_ledger(pg_url: str) -> Iterator[GoalLedger]:
    env = store_env(pg_url, create_tables=True)
    env["POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT"] = str(IDLE_LIMIT_SECONDS)
    ledger = GoalLedger(env=env)
    worker_for(ledger).create_tables()
    try:
        yield ledger
    finally:
        ledger.close()


def test_a_batch_outlasts_the_idle_limit(impatient_ledger: GoalLedger) -> None:
    views = ViewDatabase(impatient_ledger)
    with views.transaction(batched=True) as tx:
        time.sleep(BETWEEN_STATEMENTS_SECONDS)
        assert tx.query("SELECT 1 AS one") == [{"one": 1}]


def test_any_other_transaction_is_still_cut_off(impatient_ledger: GoalLedger) -> None:
    views = ViewDatabase(impatient_ledger)
    with pytest.raises(PersistenceError), views.transaction() as tx:
        time.sleep(BETWEEN_STATEMENTS_SECONDS)
        tx.query("SELECT 1 AS one")
