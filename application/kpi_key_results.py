"""Key results measured by a KPI (ADR 38): adding one, and the writes of the KPI process."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from application.authority import authorise
from application.core import CONFLICT_ATTEMPTS, LedgerCore, command
from application.values import Saved
from domain.access import AccessGrant
from domain.authority import Command
from domain.errors import ConcurrencyError
from domain.key_result import KeyResult
from domain.kpi_measured import (
    Outcome,
    check_in_from_reading,
    correct_from_reading,
    measured_terms,
)
from domain.plan_size import key_results_warnings
from domain.values import ReasonCode
from storage.requests import IdempotentRequest


class KpiKeyResultCommands(LedgerCore):
    @command
    def add_kpi_key_result(
        self,
        *,
        actor: str,
        kpi_id: UUID,
        objective_id: UUID,
        title: str,
        target: Decimal | int | str,
        weight: Decimal | int | str = 1,
        owner: str | None = None,
        effective_on: date | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        """A key result of the objective measured by the KPI: unit, direction, baseline
        (the latest reading) and measurement from the KPI; its owner the objective's unless
        given. Saved only if the KPI has not changed since it was read, so every reading
        stored after it is one the process turns into a check-in."""
        kpi = self.get_kpi(kpi_id)
        objective = self._get_for_field(self.get_objective, objective_id, "objective_id")
        key_result_owner = owner if owner is not None else objective.owner
        authorise(grant, Command.ADD_KPI_KEY_RESULT, objective.owner, key_result_owner)
        cycle = self.get_cycle(objective.cycle_id)
        day = self.day_or_default(cycle, effective_on)
        terms = measured_terms(kpi, cycle, day)
        key_result = KeyResult.create(
            actor=actor,
            objective=objective,
            cycle=cycle,
            title=title,
            owner=key_result_owner,
            unit=terms.unit,
            direction=terms.direction,
            baseline=terms.baseline,
            target=target,
            weight=weight,
            measurement_source=terms.measurement_source,
            measurement_query=terms.measurement_query,
            effective_on=day,
            kpi_id=terms.kpi_id,
        )
        live = 1 + sum(
            not self.get_key_result(other_id).is_retired
            for other_id in objective.key_result_ids
            if other_id != key_result.id
        )
        warnings = key_results_warnings(live, written=True)
        return self._save(
            key_result,
            objective,
            unchanged=(cycle, kpi),
            request=request,
            warnings=warnings,
        )

    # The KPI process's writes (processes/kpi_check_ins.py): no grant, the process's actor.

    def check_in_from_reading(
        self,
        *,
        key_result_id: UUID,
        kpi_id: UUID,
        kpi_name: str,
        reading_id: UUID,
        kpi_version: int,
        value: Decimal,
        effective_on: date,
        note: str = "",
    ) -> Outcome:
        """The reading as a check-in on the key result, once: a lost race is decided
        again on the key result as it now is, where the winner's check-in makes it ALREADY."""
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            key_result = self.get_key_result(key_result_id)
            cycle = self.get_cycle(key_result.cycle_id)
            outcome = check_in_from_reading(
                key_result,
                cycle=cycle,
                kpi_id=kpi_id,
                kpi_name=kpi_name,
                reading_id=reading_id,
                kpi_version=kpi_version,
                value=value,
                effective_on=effective_on,
                note=note,
            )
            if outcome is not Outcome.RECORDED:
                return outcome
            try:
                self._save(key_result, unchanged=(cycle,))
            except ConcurrencyError:
                if attempt == CONFLICT_ATTEMPTS:
                    raise
                continue
            return outcome
        raise AssertionError("unreachable")  # pragma: no cover

    def correct_from_reading(
        self,
        *,
        key_result_id: UUID,
        kpi_id: UUID,
        reading_id: UUID,
        kpi_version: int,
        value: Decimal,
        reason: str,
        reason_code: ReasonCode | str,
    ) -> Outcome:
        """The reading's correction onto the check-in it made, once (see above)."""
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            key_result = self.get_key_result(key_result_id)
            outcome = correct_from_reading(
                key_result,
                kpi_id=kpi_id,
                reading_id=reading_id,
                kpi_version=kpi_version,
                value=value,
                reason=reason,
                reason_code=reason_code,
            )
            if outcome is not Outcome.CORRECTED:
                return outcome
            try:
                self._save(key_result)
            except ConcurrencyError:
                if attempt == CONFLICT_ATTEMPTS:
                    raise
                continue
            return outcome
        raise AssertionError("unreachable")  # pragma: no cover
