"""The read models a worker keeps, in one place."""

from __future__ import annotations

from application.ledger import GoalLedger
from projections.audit_trail import AuditTrail
from projections.base import ReadModel
from projections.kpi_health import KpiHealth
from projections.scores import Scores
from projections.seal import Seal
from projections.worker import (
    DEFAULT_BATCH,
    DEFAULT_POLL_SECONDS,
    BackgroundWorker,
    ProjectionWorker,
)

READ_MODELS: tuple[type[ReadModel], ...] = (AuditTrail, KpiHealth, Seal, Scores)


# In-process (the embedded store's `goalpost serve`): small batches keep the database's
# write lock short for the API's writes, and a short poll makes reading your own write
# quick where there is no NOTIFY.
IN_PROCESS_BATCH = 100
IN_PROCESS_POLL_SECONDS = 0.1


def worker_for(
    ledger: GoalLedger,
    *,
    batch_size: int = DEFAULT_BATCH,
    poll_interval: float = DEFAULT_POLL_SECONDS,
) -> ProjectionWorker:
    return ProjectionWorker(ledger, READ_MODELS, batch_size=batch_size, poll_interval=poll_interval)


def background_worker_for(
    ledger: GoalLedger,
    *,
    batch_size: int = IN_PROCESS_BATCH,
    poll_interval: float = IN_PROCESS_POLL_SECONDS,
) -> BackgroundWorker:
    return BackgroundWorker(ledger, READ_MODELS, batch_size=batch_size, poll_interval=poll_interval)


def read_model_named(name: str) -> type[ReadModel]:
    """The registered read model of that name; KeyError names the known ones."""
    for read_model in READ_MODELS:
        if read_model.name == name:
            return read_model
    known = ", ".join(m.name for m in READ_MODELS)
    raise KeyError(f"no read model {name!r}; the read models are {known}")
