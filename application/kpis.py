"""KPI commands: define, record and correct readings, change the target, retire."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from application.authority import authorise
from application.core import LedgerCore, command
from application.values import Saved
from domain.access import AccessGrant
from domain.authority import Command
from domain.kpi import Cadence, Kpi
from domain.values import KpiDirection, ReasonCode, check_reason, utc_today
from storage.requests import IdempotentRequest


class KpiCommands(LedgerCore):
    @command
    def define_kpi(
        self,
        *,
        actor: str,
        area: str,
        name: str,
        owner: str,
        unit: str,
        formula: str,
        data_source: str,
        cadence: Cadence | str,
        direction: KpiDirection | str,
        target: Decimal | int | str,
        healthy_low: Decimal | int | str | None = None,
        healthy_high: Decimal | int | str | None = None,
        target_set_on: date | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        authorise(grant, Command.DEFINE_KPI, owner)
        kpi = Kpi.define(
            actor=actor,
            area=area,
            name=name,
            owner=owner,
            unit=unit,
            formula=formula,
            data_source=data_source,
            cadence=cadence,
            direction=direction,
            target=target,
            healthy_low=healthy_low,
            healthy_high=healthy_high,
            target_set_on=target_set_on if target_set_on is not None else utc_today(),
        )
        return self._save(kpi, request=request)

    @command
    def record_kpi_reading(
        self,
        *,
        actor: str,
        kpi_id: UUID,
        value: Decimal | int | str,
        effective_on: date | None = None,
        note: str = "",
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        kpi = self._load_to_change(Kpi, kpi_id, grant, Command.RECORD_KPI_READING, expected_version)
        kpi.record_reading(
            actor=actor,
            value=value,
            effective_on=effective_on if effective_on is not None else utc_today(),
            note=note,
        )
        return self._save(kpi, request=request)

    @command
    def correct_kpi_reading(
        self,
        *,
        actor: str,
        kpi_id: UUID,
        reading_id: UUID,
        value: Decimal | int | str,
        reason: str,
        reason_code: ReasonCode | str = ReasonCode.DATA_ERROR,
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        kpi = self._load_to_change(
            Kpi, kpi_id, grant, Command.CORRECT_KPI_READING, expected_version
        )
        kpi.correct_reading(
            actor=actor,
            reading_id=reading_id,
            value=value,
            reason=check_reason(reason, reason_code),
        )
        return self._save(kpi, request=request)

    @command
    def change_kpi_target(
        self,
        *,
        actor: str,
        kpi_id: UUID,
        target: Decimal | int | str,
        reason: str,
        reason_code: ReasonCode | str,
        healthy_low: Decimal | int | str | None = None,
        healthy_high: Decimal | int | str | None = None,
        effective_on: date | None = None,
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        kpi = self._load_to_change(Kpi, kpi_id, grant, Command.CHANGE_KPI_TARGET, expected_version)
        kpi.change_target(
            actor=actor,
            target=target,
            healthy_low=healthy_low,
            healthy_high=healthy_high,
            reason=check_reason(reason, reason_code),
            effective_on=effective_on if effective_on is not None else utc_today(),
        )
        return self._save(kpi, request=request)

    @command
    def retire_kpi(
        self,
        *,
        actor: str,
        kpi_id: UUID,
        reason: str,
        reason_code: ReasonCode | str,
        effective_on: date | None = None,
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        kpi = self._load_to_change(Kpi, kpi_id, grant, Command.RETIRE_KPI, expected_version)
        kpi.retire(
            actor=actor,
            reason=check_reason(reason, reason_code),
            effective_on=effective_on if effective_on is not None else utc_today(),
        )
        return self._save(kpi, request=request)
