"""Ownership commands: transferring a goal to another owner, a key result's contributors
(ADR 42). The rules are the domain's (domain/ownership.py, domain/contributors.py)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from application.authority import authorise
from application.core import LedgerCore, command
from application.values import Saved
from domain.access import AccessGrant
from domain.authority import Command
from domain.contributors import add_contributor, remove_contributor
from domain.key_result import KeyResult
from domain.kpi import Kpi
from domain.objective import Objective
from domain.ownership import TransferredEvent, transfer
from domain.values import check_identifier, utc_today
from storage.requests import IdempotentRequest


class OwnershipCommands(LedgerCore):
    @command
    def transfer_key_result(
        self,
        *,
        actor: str,
        key_result_id: UUID,
        owner: str,
        reason: str,
        effective_on: date | None = None,
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        return self._transfer_in_cycle(
            self.get_key_result(key_result_id),
            KeyResult.Transferred,
            actor=actor,
            owner=owner,
            reason=reason,
            effective_on=effective_on,
            expected_version=expected_version,
            grant=grant,
            request=request,
        )

    @command
    def transfer_objective(
        self,
        *,
        actor: str,
        objective_id: UUID,
        owner: str,
        reason: str,
        effective_on: date | None = None,
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        return self._transfer_in_cycle(
            self.get_objective(objective_id),
            Objective.Transferred,
            actor=actor,
            owner=owner,
            reason=reason,
            effective_on=effective_on,
            expected_version=expected_version,
            grant=grant,
            request=request,
        )

    def _transfer_in_cycle(
        self,
        goal: KeyResult | Objective,
        event_class: type[TransferredEvent],
        *,
        actor: str,
        owner: str,
        reason: str,
        effective_on: date | None,
        expected_version: int | None,
        grant: AccessGrant | None,
        request: IdempotentRequest | None,
    ) -> Saved:
        """A goal of a cycle changes hands on a day within its cycle."""
        # Giving it away needs the right on its owner, taking it the right on the new one.
        authorise(grant, Command.TRANSFER_GOAL, goal.owner, check_identifier(owner, "owner"))
        self._check_version(goal, expected_version)
        day = self._day_in_cycle(goal.cycle_id, effective_on)
        transfer(goal, event_class, actor=actor, owner=owner, reason=reason, effective_on=day)
        return self._save(goal, request=request)

    @command
    def transfer_kpi(
        self,
        *,
        actor: str,
        kpi_id: UUID,
        owner: str,
        reason: str,
        effective_on: date | None = None,
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        kpi = self.get_kpi(kpi_id)
        authorise(grant, Command.TRANSFER_GOAL, kpi.owner, check_identifier(owner, "owner"))
        self._check_version(kpi, expected_version)
        transfer(
            kpi,
            Kpi.Transferred,
            actor=actor,
            owner=owner,
            reason=reason,
            effective_on=effective_on if effective_on is not None else utc_today(),
        )
        return self._save(kpi, request=request)

    @command
    def add_contributor(
        self,
        *,
        actor: str,
        key_result_id: UUID,
        contributor: str,
        effective_on: date | None = None,
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        key_result = self._load_to_change(
            KeyResult, key_result_id, grant, Command.MANAGE_CONTRIBUTORS, expected_version
        )
        day = self._day_in_cycle(key_result.cycle_id, effective_on)
        add_contributor(
            key_result,
            KeyResult.ContributorAdded,
            actor=actor,
            contributor=contributor,
            effective_on=day,
        )
        return self._save(key_result, request=request)

    @command
    def remove_contributor(
        self,
        *,
        actor: str,
        key_result_id: UUID,
        contributor: str,
        effective_on: date | None = None,
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        key_result = self._load_to_change(
            KeyResult, key_result_id, grant, Command.MANAGE_CONTRIBUTORS, expected_version
        )
        day = self._day_in_cycle(key_result.cycle_id, effective_on)
        remove_contributor(
            key_result,
            KeyResult.ContributorRemoved,
            actor=actor,
            contributor=contributor,
            effective_on=day,
        )
        return self._save(key_result, request=request)

    def _day_in_cycle(self, cycle_id: str, effective_on: date | None) -> date:
        """The day a change of hands takes effect: the one given, else the day reads are
        as of; either way within the goal's cycle."""
        cycle = self.get_cycle(cycle_id)
        day = self.day_or_default(cycle, effective_on)
        cycle.check_within(day)
        return day
