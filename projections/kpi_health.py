"""KPI health: one row per KPI with its last two readings; two unhealthy in a row make a candidate.

Health is the domain's own judgement (`Kpi.is_healthy`, `Kpi.is_okr_candidate`), taken from
the KPI as it stands after each of its events, so a backdated reading, a correction or a
target change re-judges the KPI exactly as a read of the aggregate would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from psycopg.sql import SQL

from application.ledger import GoalLedger
from domain.base import LedgerAggregate
from domain.errors import NotFoundError
from domain.kpi import Kpi, Reading
from domain.signal import kpi_defined_on
from projections.base import ReadModel
from storage.rows import Decoder, day, exact, flag, uuid_value
from storage.views import ViewDatabase, ViewTransaction

KPI_EVENTS = (
    Kpi.Defined,
    Kpi.ReadingRecorded,
    Kpi.ReadingCorrected,
    Kpi.TargetChanged,
    Kpi.Retired,
    # A new owner (ADR 42): the row follows the KPI to them.
    Kpi.Transferred,
)
# Readings are never effective in the future, so "as of the end of time" is "now", and a
# rebuild tomorrow stores exactly what the live worker stored today.
LATEST = date.max


@dataclass(frozen=True)
class ReadingHealth:
    effective_on: date
    value: Decimal
    healthy: bool


@dataclass(frozen=True)
class KpiHealthRow:
    kpi_id: UUID
    area: str
    name: str
    owner: str
    unit: str
    direction: str
    target: Decimal
    healthy_low: Decimal | None
    healthy_high: Decimal | None
    target_set_on: date
    last: ReadingHealth | None
    previous: ReadingHealth | None
    healthy: bool | None
    okr_candidate: bool
    retired_on: date | None
    version: int
    defined_at: int  # the position of the KPI's definition: list order and cursor


def _reading(kpi: Kpi, reading: Reading | None) -> ReadingHealth | None:
    if reading is None:
        return None
    return ReadingHealth(reading.effective_on, reading.value, kpi.is_healthy(reading))


def health_of(kpi: Kpi, as_of: date, defined_at: int) -> KpiHealthRow:
    """The KPI's health on a day, from readings effective by then."""
    status = kpi.status(as_of)
    readings = kpi.readings_until(as_of)
    return KpiHealthRow(
        kpi_id=kpi.id,
        area=kpi.area,
        name=kpi.name,
        owner=kpi.owner,
        unit=kpi.unit,
        direction=kpi.direction.value,
        target=status.threshold.target,
        healthy_low=status.threshold.healthy_low,
        healthy_high=status.threshold.healthy_high,
        target_set_on=status.threshold.set_on,
        last=_reading(kpi, readings[-1] if readings else None),
        previous=_reading(kpi, readings[-2] if len(readings) > 1 else None),
        healthy=status.healthy,
        okr_candidate=kpi.is_okr_candidate(as_of),
        retired_on=status.retired.effective_on if status.retired is not None else None,
        version=kpi.version,
        defined_at=defined_at,
    )


class KpiHealth(ReadModel):
    name = "kpi_health"
    # 2: each KPI's cadence and definition day, for the overdue signal (ADR 39).
    version = 2
    reads_goals = (Kpi,)
    tables = (
        "CREATE TABLE IF NOT EXISTS {kpi_health} ("
        " kpi_id {uuid} PRIMARY KEY,"
        " defined_at {int} NOT NULL,"
        " area {text} NOT NULL,"
        " name {text} NOT NULL,"
        " owner {text} NOT NULL,"
        " unit {text} NOT NULL,"
        " direction {text} NOT NULL,"
        " target {decimal} NOT NULL,"
        " healthy_low {decimal},"
        " healthy_high {decimal},"
        " target_set_on {date} NOT NULL,"
        " last_on {date},"
        " last_value {decimal},"
        " last_healthy {bool},"
        " previous_on {date},"
        " previous_value {decimal},"
        " previous_healthy {bool},"
        " healthy {bool},"
        " okr_candidate {bool} NOT NULL,"
        " retired_on {date},"
        " version {int} NOT NULL,"
        # Fixed at definition: when the next reading is due (domain.signal).
        " cadence {text} NOT NULL,"
        " defined_on {date} NOT NULL)",
        "CREATE UNIQUE INDEX IF NOT EXISTS goalpost_kpi_health_defined"
        " ON {kpi_health} (defined_at)",
    )

    def after(
        self,
        tx: ViewTransaction,
        event: LedgerAggregate.Event,
        stored: Notification,
        before: Any,
    ) -> None:
        if not isinstance(event, KPI_EVENTS):
            return
        kpi = self.replicas.typed(Kpi, event.originator_id, stored.id)
        if kpi is None:
            return
        # `defined_at` is written by the definition only: an update leaves it as it was.
        row = health_of(kpi, LATEST, stored.id)
        tx.execute(
            "INSERT INTO {kpi_health} (kpi_id, defined_at, area, name, owner, unit, direction,"
            " target, healthy_low, healthy_high, target_set_on, last_on, last_value,"
            " last_healthy, previous_on, previous_value, previous_healthy, healthy,"
            " okr_candidate, retired_on, version, cadence, defined_on)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
            " %s, %s, %s, %s, %s)"
            " ON CONFLICT (kpi_id) DO UPDATE SET target = excluded.target,"
            " healthy_low = excluded.healthy_low, healthy_high = excluded.healthy_high,"
            " target_set_on = excluded.target_set_on, last_on = excluded.last_on,"
            " last_value = excluded.last_value, last_healthy = excluded.last_healthy,"
            " previous_on = excluded.previous_on, previous_value = excluded.previous_value,"
            " previous_healthy = excluded.previous_healthy, healthy = excluded.healthy,"
            " okr_candidate = excluded.okr_candidate, retired_on = excluded.retired_on,"
            " owner = excluded.owner, version = excluded.version",
            (*_params(row), kpi.cadence.value, kpi_defined_on(kpi)),
        )


def _params(row: KpiHealthRow) -> tuple[Any, ...]:
    last, previous = row.last, row.previous
    return (
        row.kpi_id,
        row.defined_at,
        row.area,
        row.name,
        row.owner,
        row.unit,
        row.direction,
        row.target,
        row.healthy_low,
        row.healthy_high,
        row.target_set_on,
        last.effective_on if last else None,
        last.value if last else None,
        last.healthy if last else None,
        previous.effective_on if previous else None,
        previous.value if previous else None,
        previous.healthy if previous else None,
        row.healthy,
        row.okr_candidate,
        row.retired_on,
        row.version,
    )


# Reads

# Each read names the columns it needs decoded, once (storage.rows).
KPI_HEALTH_TYPES: dict[str, Decoder] = {
    "kpi_id": uuid_value,
    "target": exact,
    "healthy_low": exact,
    "healthy_high": exact,
    "target_set_on": day,
    "last_on": day,
    "last_value": exact,
    "last_healthy": flag,
    "previous_on": day,
    "previous_value": exact,
    "previous_healthy": flag,
    "healthy": flag,
    "okr_candidate": flag,
    "retired_on": day,
}


def _health(on: date | None, value: Decimal | None, healthy: bool | None) -> ReadingHealth | None:
    if on is None or value is None:
        return None
    return ReadingHealth(on, value, bool(healthy))


def _row(row: dict[str, Any]) -> KpiHealthRow:
    """A stored row, decoded by KPI_HEALTH_TYPES."""
    return KpiHealthRow(
        kpi_id=row["kpi_id"],
        area=row["area"],
        name=row["name"],
        owner=row["owner"],
        unit=row["unit"],
        direction=row["direction"],
        target=row["target"],
        healthy_low=row["healthy_low"],
        healthy_high=row["healthy_high"],
        target_set_on=row["target_set_on"],
        last=_health(row["last_on"], row["last_value"], row["last_healthy"]),
        previous=_health(row["previous_on"], row["previous_value"], row["previous_healthy"]),
        healthy=row["healthy"],
        okr_candidate=bool(row["okr_candidate"]),
        retired_on=row["retired_on"],
        version=int(row["version"]),
        defined_at=int(row["defined_at"]),
    )


def kpi_health(
    database: ViewDatabase,
    *,
    candidates_only: bool = True,
    area: str | None = None,
    owner: str | None = None,
    after: int = 0,
    limit: int = 50,
) -> tuple[list[KpiHealthRow], bool]:
    """KPIs in definition order after a cursor; candidates (never retired ones) by default."""
    where = [SQL("defined_at > %s")]
    params: list[Any] = [after]
    if candidates_only:
        where += [SQL("okr_candidate = %s"), SQL("retired_on IS NULL")]
        params.append(True)
    if area is not None:
        where.append(SQL("area = %s"))
        params.append(area)
    if owner is not None:
        where.append(SQL("owner = %s"))
        params.append(owner)
    rows = database.query(
        SQL("SELECT * FROM {kpi_health} WHERE ")
        + SQL(" AND ").join(where)
        + SQL(" ORDER BY defined_at LIMIT %s"),
        (*params, limit + 1),
        KPI_HEALTH_TYPES,
    )
    return [_row(row) for row in rows[:limit]], len(rows) > limit


def kpi_health_replayed(
    ledger: GoalLedger,
    *,
    as_of: date,
    known_at: datetime | None = None,
    candidates_only: bool = True,
    area: str | None = None,
    owner: str | None = None,
    after: int = 0,
    limit: int = 50,
) -> tuple[list[KpiHealthRow], bool]:
    """The same rows for a past day or a past state of knowledge, from the KPIs themselves.

    The view holds only the present; other days replay each KPI (as `GET /v1/kpis` does).
    `defined_at` is then the KPI's rank in definition order, not its log position.
    """
    rows: list[KpiHealthRow] = []
    for rank, kpi_id in enumerate(ledger.kpi_ids(), start=1):
        if rank <= after:
            continue
        if len(rows) > limit:
            break
        try:
            kpi = ledger.get_kpi(kpi_id, known_at)
        except NotFoundError:
            continue  # not yet defined at `known_at`
        row = health_of(kpi, as_of, rank)
        if _keep(row, candidates_only, area, owner):
            rows.append(row)
    return rows[:limit], len(rows) > limit


def _keep(row: KpiHealthRow, candidates_only: bool, area: str | None, owner: str | None) -> bool:
    if candidates_only and not (row.okr_candidate and row.retired_on is None):
        return False
    return (area is None or row.area == area) and (owner is None or row.owner == owner)
