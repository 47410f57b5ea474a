"""A key result measured by a KPI, for tests that need its events in the log (ADR 38)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from application.ledger import GoalLedger
from processes.kpi_check_ins import KpiCheckInProcess

CYCLE = "measured"


@dataclass(frozen=True)
class Measured:
    kpi_id: UUID
    key_result_id: UUID
    reading_id: UUID


def a_key_result_measured_by_a_kpi(ledger: GoalLedger) -> Measured:
    """A KPI's reading checked in on the key result it measures, then corrected, in a
    quarter of its own (2026-Q1) that stays open."""
    start = date(2026, 1, 1)
    ledger.open_cycle(actor="ceo", key=CYCLE, starts_on=start, ends_on=date(2026, 3, 31))
    objective = ledger.create_objective(
        actor="ceo", cycle_id=CYCLE, title="Faster", owner="cto", kind="committed"
    )
    kpi = ledger.define_kpi(
        actor="cto", area="Delivery", name="Lead time", owner="cto", unit="days",
        formula="median(merged_at - opened_at)", data_source="git", cadence="weekly",
        direction="stay_below", target="2", target_set_on=start,
    )  # fmt: skip
    ledger.record_kpi_reading(actor="cto", kpi_id=kpi.id, value="5", effective_on=start)
    key_result = ledger.add_kpi_key_result(
        actor="cto", kpi_id=kpi.id, objective_id=objective.id, title="Lead time to 2 days",
        target="2", effective_on=start,
    )  # fmt: skip
    reading = ledger.record_kpi_reading(
        actor="cto", kpi_id=kpi.id, value="4", effective_on=date(2026, 1, 9)
    )
    assert reading.check_in_id is not None
    ledger.correct_kpi_reading(
        actor="cto", kpi_id=kpi.id, reading_id=reading.check_in_id, value="3.5", reason="typo"
    )
    process = KpiCheckInProcess(ledger)
    process.create_tables()
    process.run_until_caught_up()
    return Measured(kpi.id, key_result.id, reading.check_in_id)
