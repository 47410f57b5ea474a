"""Cycle commands: open and close a quarter (the admin's, by the authority table)."""

from __future__ import annotations

from datetime import date

from application.authority import authorise
from application.core import LedgerCore, command
from application.values import Saved
from domain.access import AccessGrant
from domain.authority import Command
from domain.cycle import Cycle
from domain.errors import AlreadyExistsError, ConcurrencyError
from storage.requests import IdempotentRequest


class CycleCommands(LedgerCore):
    @command
    def open_cycle(
        self,
        *,
        actor: str,
        key: str,
        starts_on: date,
        ends_on: date,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        authorise(grant, Command.OPEN_CYCLE)
        cycle = Cycle.open(actor=actor, key=key, starts_on=starts_on, ends_on=ends_on)
        if cycle.id in self.repository:
            raise AlreadyExistsError(f"cycle {key} is already open", field="id")
        try:
            return self._save(cycle, request=request)
        except ConcurrencyError:
            raise AlreadyExistsError(f"cycle {key} is already open", field="id") from None

    @command
    def close_cycle(
        self,
        *,
        actor: str,
        key: str,
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        authorise(grant, Command.CLOSE_CYCLE)
        cycle = self.get_cycle(key)
        self._check_version(cycle, expected_version)
        cycle.close(actor=actor)
        return self._save(cycle, request=request)
