"""Graduating a key result to a KPI: both goals in one save (ADR 36)."""

from __future__ import annotations

from uuid import UUID

from application.core import LedgerCore, command
from application.values import Saved
from domain.access import AccessGrant
from domain.authority import Command
from domain.graduation import KpiTerms, graduate
from domain.key_result import KeyResult
from storage.requests import IdempotentRequest


class GraduationCommands(LedgerCore):
    @command
    def graduate_key_result(
        self,
        *,
        actor: str,
        key_result_id: UUID,
        reason: str,
        terms: KpiTerms,
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        """Retire the key result into a new KPI of its owner's; the result names the KPI.

        Graduation takes effect on the day a read would be as of, never backdated: the key
        result's final score is then its score on every later day (ADR 36)."""
        key_result = self._load_to_change(
            KeyResult, key_result_id, grant, Command.GRADUATE_KEY_RESULT, expected_version
        )
        cycle = self.get_cycle(key_result.cycle_id)
        kpi = graduate(
            key_result,
            actor=actor,
            cycle=cycle,
            reason=reason,
            effective_on=self.day_or_default(cycle, None),
            terms=terms,
        )
        # The KPI first: the result names it, and the key result's version is final too.
        return self._save(kpi, key_result, unchanged=(cycle,), request=request)
