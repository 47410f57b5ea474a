"""The read models a worker keeps, in one place."""

from __future__ import annotations

from domain.application import GoalLedger
from projections.audit_trail import AuditTrail
from projections.base import ProjectionWorker, ReadModel
from projections.kpi_health import KpiHealth

READ_MODELS: tuple[type[ReadModel], ...] = (AuditTrail, KpiHealth)


def worker_for(ledger: GoalLedger, **options: float) -> ProjectionWorker:
    return ProjectionWorker(ledger, READ_MODELS, **options)  # type: ignore[arg-type]
