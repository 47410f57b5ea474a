"""A graduated key result's link to its KPI survives its snapshot (ADR 36)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import cast

from application.ledger import GoalLedger, replay
from domain.base import LedgerAggregate
from domain.graduation import KpiTerms
from domain.key_result import KeyResult

Q3_START = date(2026, 7, 1)


def test_a_snapshot_taken_at_the_graduation_keeps_the_kpi_it_graduated_to() -> None:
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
    # The graduation is the 100th event, where the snapshot is taken.
    for n in range(98):
        ledger.record_check_in(
            actor="cto", key_result_id=saved.id, value=str(9 - n % 7), confidence="on_track",
            effective_on=Q3_START + timedelta(days=n % 90),
        )  # fmt: skip
    kpi = ledger.graduate_key_result(
        actor="cto",
        key_result_id=saved.id,
        reason="three is the norm",
        terms=KpiTerms(
            area="Reliability",
            name="P1 incidents a month",
            formula="count",
            data_source="tracker",
            cadence="monthly",
            target="3",
        ),
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
    assert from_snapshot.retirement.graduated_to_kpi == kpi.id
    assert ledger.get_kpi(kpi.id).graduated_from == saved.id
    assert ledger.get_kpi(kpi.id).owner == "cto"
