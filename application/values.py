"""What commands take and give back: a stored write, an imported row, reports of both."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from domain.base import derived_id
from domain.plan_size import PlanWarning, PlanWarningCode
from domain.values import Confidence


@dataclass(frozen=True)
class Saved:
    """What a command stored: the goal, its new version and the log positions taken."""

    id: UUID
    version: int
    positions: tuple[int, ...]
    check_in_id: UUID | None = None
    # Plan-size guidance the write crossed (ADR 35): stored with an idempotent request's
    # result, so a retry answers them too.
    warnings: tuple[PlanWarning, ...] = ()

    @property
    def position(self) -> int | None:
        return max(self.positions) if self.positions else None

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": str(self.id),
                "version": self.version,
                "check_in_id": str(self.check_in_id) if self.check_in_id else None,
                "warnings": [{"code": w.code.value, "message": w.message} for w in self.warnings],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Saved:
        data = json.loads(text)
        check_in_id = data["check_in_id"]
        return cls(
            id=UUID(data["id"]),
            version=data["version"],
            positions=(),
            check_in_id=UUID(check_in_id) if check_in_id else None,
            # Results stored before the guidance have none.
            warnings=tuple(
                PlanWarning(PlanWarningCode(w["code"]), w["message"])
                for w in data.get("warnings", ())
            ),
        )


@dataclass(frozen=True)
class CheckInImport:
    """One historical check-in to import (a CSV row)."""

    key_result_id: UUID
    value: Decimal | int | str
    confidence: Confidence | str
    effective_on: date
    note: str = ""

    def derived_id(self) -> UUID:
        """The same row imported twice gets the same id, so a re-run duplicates nothing."""
        try:
            # 41, "41" and "41.0" are the same value, so the same row.
            value = str(Decimal(self.value).normalize())
        except (ArithmeticError, ValueError, TypeError):
            value = str(self.value)  # refused by the key result's own checks later
        return derived_id(
            "check-in-import",
            f"{self.key_result_id}|{self.effective_on.isoformat()}|{value}"
            f"|{self.confidence}|{self.note}",
        )


@dataclass(frozen=True)
class KeyResultImported:
    """What an import did to one key result: its rows stored now, and those stored before."""

    key_result_id: UUID
    title: str
    imported: int
    already_present: int


@dataclass(frozen=True)
class ImportReport:
    imported: int
    already_present: int
    positions: tuple[int, ...]
    # In the order the rows first name them.
    key_results: tuple[KeyResultImported, ...] = ()


@dataclass(frozen=True)
class SnapshotMismatch:
    """A stored snapshot that is not what its goal's events make of it."""

    aggregate_id: UUID
    version: int
    detail: str
