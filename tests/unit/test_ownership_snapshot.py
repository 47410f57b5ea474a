"""A key result's transfers and contributors survive its snapshot (ADR 42)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import cast

from application.ledger import GoalLedger, replay
from domain.base import LedgerAggregate
from domain.contributors import contributions
from domain.key_result import KeyResult
from domain.ownership import ownerships

Q3_START = date(2026, 7, 1)


def test_a_snapshot_keeps_owners_and_contributors_as_the_events_do() -> None:
    ledger = GoalLedger(env={})
    ledger.open_cycle(actor="ceo", key="2026-Q3", starts_on=Q3_START, ends_on=date(2026, 9, 30))
    objective = ledger.create_objective(
        actor="ceo", cycle_id="2026-Q3", title="Reliability", owner="cto", kind="committed"
    )
    saved = ledger.create_key_result(
        actor="cto", objective_id=objective.id, title="P1 incidents", owner="cto",
        unit="incidents", direction="decrease", baseline="9", target="3",
        measurement_source="tracker", measurement_query="count", effective_on=Q3_START,
    )  # fmt: skip
    ledger.transfer_key_result(
        actor="ceo", key_result_id=saved.id, owner="sre-team", reason="reorg",
        effective_on=date(2026, 8, 1),
    )  # fmt: skip
    ledger.add_contributor(
        actor="ceo", key_result_id=saved.id, contributor="eng-team", effective_on=Q3_START
    )
    ledger.remove_contributor(
        actor="ceo", key_result_id=saved.id, contributor="eng-team", effective_on=date(2026, 8, 31)
    )
    # Past the snapshot interval (100 events).
    for n in range(100):
        ledger.record_check_in(
            actor="cto", key_result_id=saved.id, value=str(9 - n % 7), confidence="on_track",
            effective_on=Q3_START + timedelta(days=n % 90),
        )  # fmt: skip

    assert ledger.snapshots is not None
    [snapshot] = ledger.snapshots.get(saved.id)
    from_snapshot = cast(KeyResult.Snapshot, snapshot).mutate(None)
    events = ledger.events.get(saved.id, lte=snapshot.originator_version)
    from_events = replay(None, cast(list[LedgerAggregate.Event], list(events)))
    assert isinstance(from_snapshot, KeyResult) and isinstance(from_events, KeyResult)
    assert from_snapshot.owner == from_events.owner == "sre-team"
    assert ownerships(from_snapshot, Q3_START) == ownerships(from_events, Q3_START)
    assert contributions(from_snapshot) == contributions(from_events)
    assert [c.ends_on for c in contributions(from_snapshot)] == [date(2026, 8, 31)]
