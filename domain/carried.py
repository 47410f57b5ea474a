"""The event that closes a key result as carried forward to a later cycle (ADR 37).

Kept apart from domain/carry_forward.py, which decides a carry: KeyResult declares it in
its class body, and the decision imports KeyResult.
"""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

from domain.base import LedgerAggregate


class CarriedForwardEvent(LedgerAggregate.Retired):
    """Base of a key result's CarriedForward event: it closes the key result (reason code
    carried_forward), which carries on as the key result it names in a later cycle. A
    retirement, so it takes no more events, but counted as its graduated peers are: at its
    final score (domain.reports.counts)."""

    to_key_result_id: UUID
    to_cycle_id: str

    def apply(self, aggregate: LedgerAggregate) -> None:
        super().apply(aggregate)
        assert aggregate.retirement is not None
        aggregate.retirement = replace(aggregate.retirement, carried_to=self.to_key_result_id)
