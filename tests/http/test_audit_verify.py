"""GET /v1/audit/verify over real HTTP: auditors recompute the seal and see tampering named."""

from __future__ import annotations

import json

import httpx
from psycopg import sql

from application.ledger import GoalLedger
from domain.access import Role
from projections.registry import worker_for
from tests.conftest import pg_admin
from tests.http.conftest import Goals, Tokens, problem

VERIFY = "/v1/audit/verify"


def test_auditors_verify_the_seal_and_see_a_rewritten_check_in_named(
    client: httpx.Client,
    ledger: GoalLedger,
    tokens: Tokens,
    goals: Goals,
    pg_database: str,
    pg_schema: str,
) -> None:
    # A quarter with two check-ins, and an auditor; the worker seals everything so far.
    auditor = tokens.headers("internal-audit", Role.AUDITOR)
    cycle = goals.open_cycle()
    objective = goals.objective("analyst")
    key_result = goals.key_result(objective["id"], "analyst")
    check_in = goals.check_in(key_result["id"], value="41")
    goals.check_in(key_result["id"], value="44", effective_on="2026-08-22")
    worker = worker_for(ledger)
    worker.create_tables()
    worker.run_until_caught_up()
    head = ledger.recorder.max_notification_id()
    assert cycle and head

    # The auditor verifies: intact, everything checked, an anchor hash to record.
    response = client.get(VERIFY, headers=auditor)
    assert response.status_code == 200, response.text
    intact = response.json()
    assert intact["intact"] is True
    assert (intact["sealed_up_to"], intact["log_head"], intact["unsealed"]) == (head, head, 0)
    assert intact["first_bad_position"] is None and intact["finding"] is None
    anchor = f"{intact['sealed_up_to']}:{intact['head_hash']}"

    # A superuser rewrites the first check-in's value in place, past the append-only triggers.
    position = check_in["position"]
    events = sql.Identifier(pg_schema, "goalpost_events")
    with pg_admin(pg_database) as conn:
        conn.execute("SET session_replication_role = replica")
        (state,) = conn.execute(
            sql.SQL("SELECT state FROM {} WHERE notification_id = %s").format(events),
            (position,),
        ).fetchone() or (b"",)
        rewritten = json.loads(state)
        rewritten["value"]["_data_"] = "49"
        conn.execute(
            sql.SQL("UPDATE {} SET state = %s WHERE notification_id = %s").format(events),
            (json.dumps(rewritten).encode(), position),
        )

    # The next verification names exactly that position; a broken seal is a finding, not
    # a failed request, so it is still a 200.
    response = client.get(VERIFY, headers=auditor, params={"anchor": anchor})
    assert response.status_code == 200, response.text
    broken = response.json()
    assert broken["intact"] is False
    assert (broken["first_bad_position"], broken["finding"]) == (position, "event_altered")
    assert str(position) in broken["detail"]


def test_only_auditors_and_admins_verify_and_errors_are_problems(
    client: httpx.Client,
    ledger: GoalLedger,
    tokens: Tokens,
    admin: dict[str, str],
    pg_database: str,
    pg_schema: str,
) -> None:
    worker = worker_for(ledger)
    worker.create_tables()
    member = tokens.headers("analyst", Role.MEMBER)
    auditor = tokens.headers("internal-audit", Role.AUDITOR)
    worker.run_until_caught_up()

    # No token, or a member's: refused as problems.
    problem(client.get(VERIFY), 401)
    assert "auditor" in problem(client.get(VERIFY, headers=member), 403)["detail"]

    # An admin passes as an auditor would.
    assert client.get(VERIFY, headers=admin).json()["intact"] is True

    # A malformed anchor names the parameter.
    bad = client.get(VERIFY, headers=auditor, params={"anchor": "3:xyz"})
    assert "POSITION:HASH" in problem(bad, 422, "query.anchor")["detail"]

    # With the seal's table gone, nothing can be verified: 503, never "intact".
    with pg_admin(pg_database) as conn:
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(pg_schema, "goalpost_seal")))
    gone = problem(client.get(VERIFY, headers=auditor), 503)
    assert gone["type"] == "/problems/seal-unavailable"


def test_verify_is_intact_only_once_every_event_up_to_the_head_is_sealed(
    client: httpx.Client, ledger: GoalLedger, tokens: Tokens, goals: Goals
) -> None:
    # The seal's tables exist, but no worker runs while a quarter is planned.
    worker = worker_for(ledger)
    worker.create_tables()
    auditor = tokens.headers("internal-audit", Role.AUDITOR)
    goals.open_cycle()
    goals.key_result(goals.objective("analyst")["id"], "analyst")
    head = ledger.recorder.max_notification_id()

    # Nothing is sealed, so nothing could be checked: not intact, and it says why.
    response = client.get(VERIFY, headers=auditor)
    assert response.status_code == 200, response.text
    waiting = response.json()
    assert waiting["intact"] is False and waiting["finding"] == "not_yet_sealed"
    assert (waiting["checked"], waiting["sealed_up_to"], waiting["log_head"]) == (0, 0, head)
    assert waiting["unsealed"] > 0 and waiting["first_bad_position"] is not None
    assert f"{waiting['unsealed']} events" in waiting["detail"]

    # The worker seals the log: every event up to the head checked, intact.
    worker.run_until_caught_up()
    sealed = client.get(VERIFY, headers=auditor).json()
    assert sealed["intact"] is True and sealed["finding"] is None
    assert (sealed["checked"], sealed["unsealed"]) == (waiting["unsealed"], 0)
    assert sealed["sealed_up_to"] == sealed["log_head"] == head
