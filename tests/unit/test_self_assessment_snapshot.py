"""A key result's self-assessments survive its snapshot (ADR 34)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import cast

from application.ledger import GoalLedger, replay
from domain.base import LedgerAggregate
from domain.key_result import KeyResult
from domain.self_assessment import latest_self_assessment, self_assessments

Q3_START = date(2026, 7, 1)


def test_a_snapshot_keeps_the_self_assessments_as_the_events_do() -> None:
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
    for grade in ("0.4", "0.55"):
        ledger.self_assess_key_result(
            actor="cto", key_result_id=saved.id, grade=grade, reflection="alerts\nreclassified"
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
    latest = latest_self_assessment(from_snapshot)
    assert latest is not None and latest == latest_self_assessment(from_events)
    assert (latest.grade, latest.reflection, latest.version) == (
        Decimal("0.55"),
        "alerts\nreclassified",
        3,
    )
    assert len(self_assessments(from_snapshot)) == 2
    assert self_assessments(from_snapshot) == self_assessments(from_events)
