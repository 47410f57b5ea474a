"""Key result commands: create, check in, correct, re-baseline, re-weight, retire."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from application.authority import authorise
from application.core import LedgerCore, command
from application.values import Saved
from domain.access import AccessGrant
from domain.authority import Command
from domain.key_result import KeyResult
from domain.plan_size import key_results_warnings
from domain.values import Confidence, Direction, ReasonCode, check_reason, utc_today
from storage.requests import IdempotentRequest


class KeyResultCommands(LedgerCore):
    @command
    def create_key_result(
        self,
        *,
        actor: str,
        objective_id: UUID,
        title: str,
        owner: str,
        unit: str,
        direction: Direction | str,
        baseline: Decimal | int | str,
        target: Decimal | int | str,
        weight: Decimal | int | str = 1,
        measurement_source: str,
        measurement_query: str,
        effective_on: date | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        objective = self._get_for_field(self.get_objective, objective_id, "objective_id")
        # The objective's score changes with every key result added to it, so its owner's
        # rights are needed, besides the rights on the key result's own owner.
        authorise(grant, Command.CREATE_KEY_RESULT, objective.owner, owner)
        cycle = self.get_cycle(objective.cycle_id)
        key_result = KeyResult.create(
            actor=actor,
            objective=objective,
            cycle=cycle,
            title=title,
            owner=owner,
            unit=unit,
            direction=direction,
            baseline=baseline,
            target=target,
            weight=weight,
            measurement_source=measurement_source,
            measurement_query=measurement_query,
            effective_on=self.day_or_default(cycle, effective_on),
        )
        # The objective lists its key results; whether each is live needs its own load.
        live = 1 + sum(
            not self.get_key_result(other_id).is_retired
            for other_id in objective.key_result_ids
            if other_id != key_result.id
        )
        warnings = key_results_warnings(live, written=True)
        return self._save(
            key_result, objective, unchanged=(cycle,), request=request, warnings=warnings
        )

    @command
    def record_check_in(
        self,
        *,
        actor: str,
        key_result_id: UUID,
        value: Decimal | int | str,
        confidence: Confidence | str,
        note: str = "",
        effective_on: date | None = None,
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        key_result = self._load_to_change(
            KeyResult, key_result_id, grant, Command.RECORD_CHECK_IN, expected_version
        )
        cycle = self.get_cycle(key_result.cycle_id)
        key_result.record_check_in(
            actor=actor,
            cycle=cycle,
            value=value,
            confidence=confidence,
            note=note,
            effective_on=effective_on if effective_on is not None else utc_today(),
        )
        return self._save(key_result, unchanged=(cycle,), request=request)

    @command
    def correct_check_in(
        self,
        *,
        actor: str,
        key_result_id: UUID,
        check_in_id: UUID,
        value: Decimal | int | str,
        reason: str,
        reason_code: ReasonCode | str = ReasonCode.DATA_ERROR,
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        key_result = self._load_to_change(
            KeyResult, key_result_id, grant, Command.CORRECT_CHECK_IN, expected_version
        )
        key_result.correct_check_in(
            actor=actor,
            check_in_id=check_in_id,
            value=value,
            reason=check_reason(reason, reason_code),
        )
        return self._save(key_result, request=request)

    @command
    def rebaseline_key_result(
        self,
        *,
        actor: str,
        key_result_id: UUID,
        baseline: Decimal | int | str,
        target: Decimal | int | str,
        reason: str,
        reason_code: ReasonCode | str,
        effective_on: date | None = None,
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        key_result = self._load_to_change(
            KeyResult, key_result_id, grant, Command.REBASELINE_KEY_RESULT, expected_version
        )
        cycle = self.get_cycle(key_result.cycle_id)
        key_result.rebaseline(
            actor=actor,
            cycle=cycle,
            baseline=baseline,
            target=target,
            reason=check_reason(reason, reason_code),
            effective_on=self.day_or_default(cycle, effective_on),
        )
        return self._save(key_result, unchanged=(cycle,), request=request)

    @command
    def reweight_key_result(
        self,
        *,
        actor: str,
        key_result_id: UUID,
        weight: Decimal | int | str,
        reason: str,
        reason_code: ReasonCode | str,
        effective_on: date | None = None,
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        key_result = self.get_key_result(key_result_id)
        if grant is not None:
            # The weight is the key result's share of its objective's score: both owners
            # decide. (The objective is only read, for its owner; the operator needs neither.)
            objective = self.get_objective(key_result.objective_id)
            authorise(grant, Command.REWEIGHT_KEY_RESULT, key_result.owner, objective.owner)
        self._check_version(key_result, expected_version)
        cycle = self.get_cycle(key_result.cycle_id)
        key_result.reweight(
            actor=actor,
            cycle=cycle,
            weight=weight,
            reason=check_reason(reason, reason_code),
            effective_on=self.day_or_default(cycle, effective_on),
        )
        return self._save(key_result, unchanged=(cycle,), request=request)

    @command
    def retire_key_result(
        self,
        *,
        actor: str,
        key_result_id: UUID,
        reason: str,
        reason_code: ReasonCode | str,
        effective_on: date | None = None,
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        key_result = self._load_to_change(
            KeyResult, key_result_id, grant, Command.RETIRE_KEY_RESULT, expected_version
        )
        cycle = self.get_cycle(key_result.cycle_id)
        key_result.retire(
            actor=actor,
            cycle=cycle,
            reason=check_reason(reason, reason_code),
            effective_on=self.day_or_default(cycle, effective_on),
        )
        return self._save(key_result, unchanged=(cycle,), request=request)
