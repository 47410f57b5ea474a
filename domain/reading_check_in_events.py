"""The events of check-ins a KPI's readings record on the key results it measures (ADR 38).

Kept apart from domain/kpi_measured.py, which decides them: KeyResult declares them in its
class body, and the decisions import KeyResult. Each cites the KPI event it comes from
(`kpi_id`, `reading_id`, and `kpi_version`, the version of the reading or of its
correction), so a key result knows which of its KPI's events it already took, and taking
one again is refused as already done: that is what makes the process exactly-once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.base import LedgerAggregate
from domain.check_in_log import Correction


def _cite(aggregate: Any, check_in_id: UUID, kpi_version: int) -> None:
    # Set on the instance (the class's None is shared): check-in id -> the version of the
    # KPI's latest event this check-in reflects. JSON-native, so snapshots keep it.
    cited = aggregate.__dict__.get("reading_versions")
    if cited is None:
        cited = aggregate.reading_versions = {}
    cited[check_in_id.hex] = kpi_version


class CheckInFromReadingEvent(LedgerAggregate.Event):
    """Base of KeyResult.CheckInFromReading: a check-in recorded from a KPI reading, with
    the reading's value and effective date, citing the reading."""

    check_in_id: UUID
    value: Decimal
    confidence: str
    note: str
    effective_on: date
    kpi_id: UUID
    reading_id: UUID
    kpi_version: int

    def apply(self, aggregate: Any) -> None:
        aggregate.check_ins.record(self)
        _cite(aggregate, self.check_in_id, self.kpi_version)


class CheckInCorrectedFromReadingEvent(LedgerAggregate.Event):
    """Base of KeyResult.CheckInCorrectedFromReading: the reading a check-in came from was
    corrected, and so is the check-in, with the correction's reason, citing it."""

    check_in_id: UUID
    value: Decimal
    reason: str
    reason_code: str
    kpi_id: UUID
    reading_id: UUID
    kpi_version: int

    def apply(self, aggregate: Any) -> None:
        check_in = aggregate.check_ins[self.check_in_id]
        correction = Correction.recorded_by(self)
        aggregate.check_ins.put(
            replace(check_in, value=self.value, corrections=(*check_in.corrections, correction))
        )
        _cite(aggregate, self.check_in_id, self.kpi_version)
