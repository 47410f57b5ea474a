"""Another release's read models, and a store that fails: clear answers, never a bare 500."""

from __future__ import annotations

import httpx
import pytest

from application.ledger import GoalLedger
from domain.access import Role
from projections.rebuild import Rebuild
from projections.registry import worker_for
from projections.scores import Scores
from projections.worker import ProjectionWorker
from storage.views import ViewDatabase
from tests.http.conftest import Goals, Tokens, problem

pytestmark = pytest.mark.postgres


class ScoresNext(Scores):
    """The scores read model as the next release defines it."""

    version = Scores.version + 1


def test_readiness_says_upgrading_while_another_release_defines_a_read_model(
    client: httpx.Client, ledger: GoalLedger
) -> None:
    worker_for(ledger).create_tables()
    assert client.get("/readyz").status_code == 200

    # The next release's `db init` ran: this process would read tables it does not know.
    ProjectionWorker(ledger, [ScoresNext]).create_tables()
    upgrading = client.get("/readyz")
    assert upgrading.status_code == 503
    body = upgrading.json()
    assert body["status"] == "upgrading"
    assert "read model scores" in body["detail"] and ScoresNext.definition() in body["detail"]
    assert "goalpost projections rebuild scores" in body["detail"]

    # This release's own `db init` leaves the newer definition be; its rebuild takes over.
    worker_for(ledger).create_tables()
    assert client.get("/readyz").status_code == 503
    Rebuild(ledger, Scores).run()
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_a_store_that_fails_a_read_is_a_503_problem(
    client: httpx.Client, ledger: GoalLedger, goals: Goals, tokens: Tokens
) -> None:
    cycle = goals.open_cycle()
    worker_for(ledger).create_tables()
    hrms = tokens.headers("hrms", Role.SERVICE)
    auditor = tokens.headers("auditor-a", Role.AUDITOR)
    # Caught up, so that the change report's only trouble is its missing table.
    worker_for(ledger).run_until_caught_up()
    assert client.get("/v1/webhooks", headers=hrms).status_code == 200
    with ViewDatabase(ledger).bare_transaction() as tx:
        tx.execute("DROP TABLE {webhook_deliveries}")
        tx.execute("DROP TABLE {audit_trail}")

    # Any route: the store's failure is a problem the client can act on (retry).
    failed = client.get("/v1/webhooks", headers=hrms)
    found = problem(failed, 503)
    assert found["type"].endswith("/store-unavailable")
    assert failed.headers["Retry-After"] == "5"
    # Read-model routes say which part is missing.
    found = problem(client.get(f"/v1/cycles/{cycle['id']}/changes", headers=auditor), 503)
    assert found["type"].endswith("/read-model-unavailable")
