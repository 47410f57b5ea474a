"""Objective commands: create, align to a parent, retire."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from application.authority import authorise
from application.core import LedgerCore, command
from application.values import Saved
from domain.access import AccessGrant
from domain.authority import Command
from domain.objective import Objective
from domain.plan_size import objectives_warnings
from domain.values import ObjectiveKind, ReasonCode, check_reason
from storage.requests import IdempotentRequest


class ObjectiveCommands(LedgerCore):
    @command
    def create_objective(
        self,
        *,
        actor: str,
        cycle_id: str,
        title: str,
        owner: str,
        kind: ObjectiveKind | str,
        parent_id: UUID | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        # Only the new objective's owner: a parent is named, not changed (aligning upward
        # to another's objective is the point).
        authorise(grant, Command.CREATE_OBJECTIVE, owner)
        cycle = self._get_for_field(self.get_cycle, cycle_id, "cycle_id")
        parent = (
            self._get_for_field(self.get_objective, parent_id, "parent_id")
            if parent_id is not None
            else None
        )
        objective = Objective.create(
            actor=actor, cycle=cycle, title=title, owner=owner, kind=kind, parent=parent
        )
        # The owner's other live objectives, loaded from the cycle's list: a load per
        # objective in the cycle, each kept and fast-forwarded (ADR 20, ADR 35).
        others = [
            other
            for other_id in cycle.objective_ids
            if other_id != objective.id
            and (other := self.get_objective(other_id)).owner == objective.owner
        ]
        live = 1 + sum(not other.is_retired for other in others)
        warnings = objectives_warnings(objective.owner, live)
        return self._save(objective, cycle, request=request, warnings=warnings)

    @command
    def align_objective(
        self,
        *,
        actor: str,
        objective_id: UUID,
        parent_id: UUID | None,
        reason: str,
        reason_code: ReasonCode | str,
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        # The objective's owner decides where it ladders up; the parent is only named.
        objective = self._load_to_change(
            Objective, objective_id, grant, Command.ALIGN_OBJECTIVE, expected_version
        )
        parent = (
            self._get_for_field(self.get_objective, parent_id, "parent_id")
            if parent_id is not None
            else None
        )
        objective.align_to(
            actor=actor,
            parent=parent,
            reason=check_reason(reason, reason_code),
            cycle=(cycle := self.get_cycle(objective.cycle_id)),
        )
        return self._save(objective, unchanged=(cycle,), request=request)

    @command
    def retire_objective(
        self,
        *,
        actor: str,
        objective_id: UUID,
        reason: str,
        reason_code: ReasonCode | str,
        effective_on: date | None = None,
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        objective = self._load_to_change(
            Objective, objective_id, grant, Command.RETIRE_OBJECTIVE, expected_version
        )
        cycle = self.get_cycle(objective.cycle_id)
        objective.retire(
            actor=actor,
            reason=check_reason(reason, reason_code),
            effective_on=self.day_or_default(cycle, effective_on),
            cycle=cycle,
        )
        return self._save(objective, unchanged=(cycle,), request=request)
