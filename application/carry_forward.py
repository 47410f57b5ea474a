"""Carrying a key result forward to a later cycle: every goal it changes in one save (ADR 37)."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from application.authority import authorise
from application.core import LedgerCore, command
from application.values import Saved
from domain.access import AccessGrant
from domain.authority import Command
from domain.carry_forward import carried_objective, carry_forward
from domain.cycle import Cycle
from domain.objective import Objective
from domain.values import utc_today
from storage.requests import IdempotentRequest


class CarryForwardCommands(LedgerCore):
    @command
    def carry_forward_key_result(
        self,
        *,
        actor: str,
        key_result_id: UUID,
        cycle_id: str,
        reason: str,
        baseline: Decimal | int | str | None = None,
        target: Decimal | int | str | None = None,
        objective_id: UUID | None = None,
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        """Close the key result as carried forward and create its successor in `cycle_id`;
        the result names the successor.

        Decided on the key result's owner and on the owner of the objective the successor
        joins (the one given, the one carrying on the old objective, else the old
        objective's owner, whose new objective it is), as a key result's creation is."""
        key_result = self.get_key_result(key_result_id)
        authorise(grant, Command.CARRY_FORWARD_KEY_RESULT, key_result.owner)
        old_objective = self.get_objective(key_result.objective_id)
        new_cycle = self._get_for_field(self.get_cycle, cycle_id, "cycle_id")
        objective = (
            self._get_for_field(self.get_objective, objective_id, "objective_id")
            if objective_id is not None
            else self._carrying(new_cycle, old_objective)
        )
        owner = objective.owner if objective is not None else old_objective.owner
        authorise(grant, Command.CARRY_FORWARD_KEY_RESULT, key_result.owner, owner)
        self._check_version(key_result, expected_version)
        old_cycle = self.get_cycle(key_result.cycle_id)
        carried = carry_forward(
            key_result,
            actor=actor,
            old_cycle=old_cycle,
            old_objective=old_objective,
            new_cycle=new_cycle,
            objective=objective,
            reason=reason,
            today=utc_today(),
            baseline=baseline,
            target=target,
        )
        # The result names the successor. A new objective was added to its cycle, which is
        # then saved, and goes first, so the log holds it before the key result under it;
        # otherwise that cycle is only read, and must not have closed meanwhile. The old
        # cycle's close does not stop a carry, so it is not held.
        if carried.objective_created:
            return self._save(
                carried.objective,
                new_cycle,
                carried.key_result,
                key_result,
                request=request,
                names=carried.key_result,
            )
        return self._save(
            carried.key_result,
            carried.objective,
            key_result,
            unchanged=(new_cycle,),
            request=request,
        )

    def _carrying(self, cycle: Cycle, old: Objective) -> Objective | None:
        """The objective of `cycle` that carries on `old`, if one does."""
        return carried_objective([self.get_objective(i) for i in cycle.objective_ids], old)
