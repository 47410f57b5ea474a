"""A carried key result's link to its successor survives its snapshot (ADR 37)."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from application.ledger import GoalLedger, replay
from domain.base import LedgerAggregate
from domain.key_result import KeyResult
from domain.values import utc_today

OLD_START, OLD_END = utc_today() - timedelta(days=120), utc_today() - timedelta(days=30)


def test_a_snapshot_taken_at_the_carry_keeps_the_successor_and_the_successor_its_link() -> None:
    ledger = GoalLedger(env={})
    ledger.open_cycle(actor="admin", key="prev-q", starts_on=OLD_START, ends_on=OLD_END)
    ledger.open_cycle(
        actor="admin", key="this-q", starts_on=OLD_END + timedelta(days=1),
        ends_on=OLD_END + timedelta(days=91),
    )  # fmt: skip
    objective = ledger.create_objective(
        actor="admin", cycle_id="prev-q", title="Reliability", owner="cto", kind="committed"
    )
    saved = ledger.create_key_result(
        actor="cto", objective_id=objective.id, title="P1 incidents", owner="cto",
        unit="incidents", direction="decrease", baseline="9", target="3",
        measurement_source="tracker", measurement_query="count", effective_on=OLD_START,
    )  # fmt: skip
    # The carry is the 100th event, where the snapshot is taken.
    for n in range(98):
        ledger.record_check_in(
            actor="cto", key_result_id=saved.id, value=str(9 - n % 5), confidence="on_track",
            effective_on=OLD_START + timedelta(days=n % 90),
        )  # fmt: skip
    ledger.close_cycle(actor="admin", key="prev-q")
    successor = ledger.carry_forward_key_result(
        actor="cto", key_result_id=saved.id, cycle_id="this-q", reason="not there yet"
    )

    assert ledger.snapshots is not None
    [snapshot] = ledger.snapshots.get(saved.id)
    assert snapshot.originator_version == 100
    from_snapshot = cast(KeyResult.Snapshot, snapshot).mutate(None)
    events = ledger.events.get(saved.id, lte=snapshot.originator_version)
    from_events = replay(None, cast(list[LedgerAggregate.Event], list(events)))
    assert isinstance(from_snapshot, KeyResult) and isinstance(from_events, KeyResult)
    assert from_snapshot.retirement is not None
    assert from_snapshot.retirement == from_events.retirement
    assert from_snapshot.retirement.carried_to == successor.id
    assert ledger.get_key_result(successor.id).carried_from == saved.id
    # The successor starts from the last value the old one had on its cycle's last day.
    last = ledger.get_key_result(saved.id).latest_check_in(OLD_END)
    assert last is not None
    assert ledger.get_key_result(successor.id).current_plan.baseline == last.value
