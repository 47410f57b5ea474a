"""A key result loaded from a snapshot is the key result replayed from its events."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from application.ledger import CheckInImport, GoalLedger, replay
from domain.key_result import KeyResult
from domain.values import Confidence, Direction, ReasonCode

Q3_START = date(2026, 7, 1)


def test_a_long_key_result_reads_the_same_from_its_snapshot() -> None:
    # An in-memory ledger with one key result in Q3.
    ledger = GoalLedger(env={})
    ledger.open_cycle(actor="ceo", key="2026-Q3", starts_on=Q3_START, ends_on=date(2026, 9, 30))
    objective = ledger.create_objective(
        actor="ceo", cycle_id="2026-Q3", title="Reliability", owner="cto", kind="committed"
    )
    saved = ledger.create_key_result(
        actor="cto",
        objective_id=objective.id,
        title="P1 incidents",
        owner="cto",
        unit="incidents",
        direction="decrease",
        baseline="9",
        target="3",
        measurement_source="incident tracker",
        measurement_query="count of P1 this quarter",
        effective_on=Q3_START,
    )
    # 150 check-ins take it past the snapshot interval; one is corrected, the plan
    # changes once, and it is retired at the end.
    first = None
    for n in range(150):
        recorded = ledger.record_check_in(
            actor="cto",
            key_result_id=saved.id,
            value=str(9 - n % 7),
            confidence=list(Confidence)[n % 3],
            note=f"week note {n}",
            effective_on=Q3_START + timedelta(days=n % 90),
        )
        first = first or recorded.check_in_id
    assert first is not None
    ledger.correct_check_in(
        actor="cto", key_result_id=saved.id, check_in_id=first, value="8", reason="miscounted"
    )
    ledger.rebaseline_key_result(
        actor="cto",
        key_result_id=saved.id,
        baseline="9",
        target="4",
        reason="a noisy alert class was reclassified",
        reason_code="wrong_metric",
        effective_on=date(2026, 8, 15),
    )
    ledger.retire_key_result(
        actor="ceo",
        key_result_id=saved.id,
        reason="tracked as a KPI",
        reason_code="graduated_to_kpi",
        effective_on=date(2026, 9, 1),
    )

    # The repository loaded it from a snapshot taken at version 100.
    assert ledger.snapshots is not None
    assert [s.originator_version for s in ledger.snapshots.get(saved.id)] == [100]
    from_snapshot = ledger.get_key_result(saved.id)
    from_events = replay(None, ledger.events.get(saved.id))
    assert isinstance(from_events, KeyResult)

    # Every part of its state agrees, enums as enums.
    assert from_snapshot.version == from_events.version == 154
    assert from_snapshot.direction is Direction.DECREASE
    assert from_snapshot.plans == from_events.plans
    assert from_snapshot.plans[-1].reason_code is ReasonCode.WRONG_METRIC
    assert from_snapshot.retirement == from_events.retirement
    assert list(from_snapshot.check_ins) == list(from_events.check_ins)
    assert from_snapshot.check_ins[first].value == Decimal(8)
    assert from_snapshot.check_ins[first].original_value == Decimal(9)
    cycle = ledger.get_cycle("2026-Q3")
    for day in (date(2026, 7, 20), date(2026, 8, 20), date(2026, 9, 30)):
        assert from_snapshot.status(cycle, day) == from_events.status(cycle, day)


def test_importing_a_long_history_twice_stores_it_once() -> None:
    # A key result and 250 historical check-ins, imported: snapshots every 100 versions.
    ledger = GoalLedger(env={})
    ledger.open_cycle(actor="ops", key="2026-Q3", starts_on=Q3_START, ends_on=date(2026, 9, 30))
    objective = ledger.create_objective(
        actor="ops", cycle_id="2026-Q3", title="Retention", owner="cs", kind="committed"
    )
    saved = ledger.create_key_result(
        actor="ops",
        objective_id=objective.id,
        title="Churn",
        owner="cs",
        unit="%",
        direction="decrease",
        baseline="3.1",
        target="2.0",
        measurement_source="billing",
        measurement_query="churn",
        effective_on=Q3_START,
    )
    rows = [
        CheckInImport(
            saved.id, f"3.{n % 10}", "on_track", Q3_START + timedelta(days=n % 90), f"row {n}"
        )
        for n in range(250)
    ]
    first = ledger.import_check_ins(actor="ops", rows=rows)
    assert (first.imported, first.already_present) == (250, 0)
    assert ledger.snapshots is not None
    # Where save() would have taken them (ADR 45): every 100 versions.
    assert [s.originator_version for s in ledger.snapshots.get(saved.id)] == [100, 200]

    # The same file again adds nothing and takes no further snapshot.
    again = ledger.import_check_ins(actor="ops", rows=rows)
    assert (again.imported, again.already_present) == (0, 250)
    assert ledger.get_key_result(saved.id).version == 251
    assert [s.originator_version for s in ledger.snapshots.get(saved.id)] == [100, 200]
