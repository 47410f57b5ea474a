"""A command's first attempt decides on the goals its process holds (ADR 46), and a
stale one costs a second attempt, never a wrong write.

Two ledgers on one store stand for two API processes: `ours` holds the goals in memory,
`theirs` changes them behind its back. Each story runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from application.ledger import GoalLedger, replay
from application.stores import open_ledger
from domain.access import TokenRefusedError
from domain.errors import CycleClosedError
from domain.values import utc_today
from storage.requests import IdempotentRequest

CYCLE = "q"


@pytest.fixture
def ours(store_url: str) -> Iterator[GoalLedger]:
    ledger = open_ledger(store_url, create_tables=True)
    try:
        yield ledger
    finally:
        ledger.close()


@pytest.fixture
def theirs(store_url: str, ours: GoalLedger) -> Iterator[GoalLedger]:
    ledger = open_ledger(store_url)
    try:
        yield ledger
    finally:
        ledger.close()


def key_result_of(ledger: GoalLedger, owner: str) -> UUID:
    """An open quarter, 30 days in, and one key result of `owner`."""
    today = utc_today()
    ledger.open_cycle(
        actor="ceo", key=CYCLE, starts_on=today - timedelta(days=30), ends_on=today + timedelta(60)
    )
    objective = ledger.create_objective(
        actor="ceo", cycle_id=CYCLE, title="Delight", owner=owner, kind="committed"
    )
    return ledger.create_key_result(
        actor="ceo",
        objective_id=objective.id,
        title="NPS",
        owner=owner,
        unit="points",
        direction="increase",
        baseline=30,
        target=50,
        measurement_source="survey",
        measurement_query="nps()",
        effective_on=today - timedelta(days=30),
    ).id


def check_in(ledger: GoalLedger, key_result_id: UUID, value: int, **kwargs: Any) -> Any:
    actor = kwargs.pop("actor", "ceo")
    return ledger.record_check_in(
        actor=actor, key_result_id=key_result_id, value=value, confidence="on_track", **kwargs
    )


@contextmanager
def store_reads(ledger: GoalLedger) -> Iterator[Counter[str]]:
    """Count the store's reads of each goal's events while the block runs."""
    reads: Counter[str] = Counter()
    select_events = ledger.recorder.select_events

    def counted(originator_id: UUID, **kwargs: Any) -> Any:
        reads[str(originator_id)] += 1
        return select_events(originator_id, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ledger.recorder, "select_events", counted)
        yield reads


def stored_values(ledger: GoalLedger, key_result_id: UUID) -> list[str]:
    return [str(c.value) for c in ledger.get_key_result(key_result_id).check_ins]


def test_a_command_on_a_goal_the_process_holds_reads_nothing_before_its_save(
    ours: GoalLedger,
) -> None:
    key_result = key_result_of(ours, "ceo")
    check_in(ours, key_result, 31)

    with store_reads(ours) as reads:
        saved = check_in(ours, key_result, 32, request=IdempotentRequest("ceo", "k-32", "f"))

    # Neither the key result nor its cycle was read, nor was the request looked up.
    assert reads == Counter()
    assert saved.version == 3
    assert stored_values(ours, key_result) == ["31", "32"]


def test_a_goal_another_process_changed_is_decided_again_on_what_the_store_holds(
    ours: GoalLedger, theirs: GoalLedger
) -> None:
    key_result = key_result_of(ours, "ceo")
    check_in(ours, key_result, 31)
    check_in(theirs, key_result, 40)  # ours still holds version 2

    saved = check_in(ours, key_result, 32)

    assert saved.version == 4
    assert stored_values(theirs, key_result) == ["31", "40", "32"]


def test_a_cycle_another_process_closed_refuses_a_check_in_decided_on_it_open(
    ours: GoalLedger, theirs: GoalLedger
) -> None:
    key_result = key_result_of(ours, "ceo")
    check_in(ours, key_result, 31)  # ours holds the cycle open
    theirs.close_cycle(actor="ceo", key=CYCLE)
    position = ours.recorder.max_notification_id()

    with pytest.raises(CycleClosedError):
        check_in(ours, key_result, 32)

    assert ours.recorder.max_notification_id() == position
    assert stored_values(theirs, key_result) == ["31"]


def test_a_grant_revoked_in_another_process_writes_nothing_from_memory(
    ours: GoalLedger, theirs: GoalLedger
) -> None:
    key_result = key_result_of(ours, "analyst")
    token, _ = ours.issue_token(actor="admin", subject="analyst", roles=["member"])
    grant = ours.authenticate(token, from_memory=True)
    check_in(ours, key_result, 31, actor="analyst", grant=grant)
    theirs.revoke_token(actor="admin", token=token, reason="left the company")
    position = ours.recorder.max_notification_id()

    # Our process still holds the grant as it was issued ...
    stale = ours.authenticate(token, from_memory=True)
    assert stale.revoked_at is None
    # ... and the command refuses it all the same: at its save, then before its re-run.
    with pytest.raises(TokenRefusedError):
        check_in(ours, key_result, 32, actor="analyst", grant=stale)
    assert ours.recorder.max_notification_id() == position
    with pytest.raises(TokenRefusedError):
        ours.authenticate(token)


def test_a_refusal_decided_on_a_stale_goal_is_decided_again(
    ours: GoalLedger, theirs: GoalLedger
) -> None:
    key_result = key_result_of(ours, "marketer")
    check_in(ours, key_result, 31)  # ours holds the key result, owned by the marketer
    theirs.transfer_key_result(
        actor="ceo", key_result_id=key_result, owner="analyst", reason="reorganised"
    )
    token, _ = ours.issue_token(actor="admin", subject="analyst", roles=["member"])

    # On what ours holds, the analyst may not check in; on the store's goal, she may.
    saved = check_in(
        ours, key_result, 32, actor="analyst", grant=ours.authenticate(token, from_memory=True)
    )

    assert saved.version == 4
    assert stored_values(theirs, key_result) == ["31", "32"]


def test_a_retried_request_replays_its_first_result_and_stores_nothing(
    ours: GoalLedger, theirs: GoalLedger
) -> None:
    key_result = key_result_of(ours, "ceo")
    request = IdempotentRequest("ceo", "retry-me", "fingerprint")
    first = check_in(ours, key_result, 31, request=request)
    position = ours.recorder.max_notification_id()

    # In the same process (which holds the goal after its own save) and in another.
    again = check_in(ours, key_result, 31, request=request)
    elsewhere = check_in(theirs, key_result, 31, request=request)

    assert again == first and elsewhere == first
    assert ours.recorder.max_notification_id() == position
    assert stored_values(ours, key_result) == ["31"]


def test_with_the_first_attempt_off_every_command_reads_its_goals_first(
    ours: GoalLedger,
) -> None:
    key_result = key_result_of(ours, "ceo")
    check_in(ours, key_result, 31)
    store_first = GoalLedger(env={**dict(ours.env), "FIRST_ATTEMPT_FROM_MEMORY": "n"})
    try:
        check_in(store_first, key_result, 32)  # now holds the key result and its cycle
        with store_reads(store_first) as reads:
            check_in(store_first, key_result, 33)
    finally:
        store_first.close()

    assert reads[str(key_result)] == 1 and len(reads) == 2  # the key result and its cycle
    assert stored_values(ours, key_result) == ["31", "32", "33"]


def test_a_snapshot_taken_at_a_save_is_the_goal_its_events_make(ours: GoalLedger) -> None:
    key_result = key_result_of(ours, "ceo")
    for value in range(98):
        check_in(ours, key_result, value)

    with store_reads(ours) as reads:
        check_in(ours, key_result, 98)  # version 100: a snapshot, from the goal in hand

    assert reads == Counter()
    assert ours.snapshots is not None
    snapshot = next(iter(ours.snapshots.get(key_result, desc=True, limit=1)))
    assert snapshot.originator_version == 100
    from_snapshot = snapshot.mutate(None)
    from_events = replay(None, ours.events.get(key_result))
    assert vars(from_snapshot) == {**vars(from_events), "_pending_events": []}
