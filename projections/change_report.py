"""The auditors' change report of a cycle, read off the audit trail (projections.audit_trail).

A cycle's changes of plan, retirements, carries, corrections, backdated check-ins and
post-close events, flagged when projected; given the cycle's dates, the KPI target and
healthy-range changes within them too (projections.audit_kpi_rows, ADR 37).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from psycopg.sql import SQL, Composable

from projections import audit_kpi_rows as kpi_rows
from projections.audit_trail import (
    COLUMNS,
    FLAGS,
    Flag,
    TrailEntry,
    midnight,
    trail_entries,
    utc,
)
from storage.views import ViewDatabase

# Flags are a JSON list of plain names; its text holds each as `"name"` on both stores.
_HAS_FLAG = SQL("CAST(t.flags AS {text}) LIKE %s")


def _flag_pattern(flag: str) -> str:
    return f'%"{flag}"%'


def change_report(
    database: ViewDatabase,
    cycle_id: str,
    *,
    owner: str | None = None,
    flags: Sequence[str] = (),
    recorded_from: date | None = None,
    recorded_to: date | None = None,
    known_at: datetime | None = None,
    after_position: int = 0,
    limit: int | None = None,
    cycle_dates: tuple[date, date] | None = None,
) -> list[TrailEntry]:
    """A cycle's changes of plan, corrections, backdated check-ins and post-close events;
    given the cycle's dates, also the KPI target changes within them (audit_kpi_rows).

    `recorded_from`/`recorded_to` bound the UTC day the change was recorded (both
    inclusive); `flags` keeps the rows carrying any of them (names from `FLAGS`). Rows
    come in log order after `after_position`, at most `limit` of them.
    """
    unknown = set(flags) - set(FLAGS)
    if unknown:
        raise ValueError(f"not a change-report flag: {sorted(unknown)}")
    scope, params = kpi_rows.cycle_scope(cycle_id, cycle_dates)
    where: list[Composable] = [scope, SQL("t.reported"), SQL("t.position > %s")]
    params.append(after_position)
    if owner is not None:
        where.append(SQL("t.owner = %s"))
        params.append(owner)
    if flags:
        wanted = [flag for flag in FLAGS if flag in flags]
        conditions: list[Composable] = []
        for flag in wanted:
            if flag == Flag.CHANGED_MID_CYCLE:
                condition, flag_params = kpi_rows.mid_cycle_condition(cycle_dates)
            else:
                condition, flag_params = _HAS_FLAG, [_flag_pattern(flag)]
            conditions.append(condition)
            params += flag_params
        where.append(SQL("(") + SQL(" OR ").join(conditions) + SQL(")"))
    if recorded_from is not None:
        where.append(SQL("t.recorded_at >= %s"))
        params.append(midnight(recorded_from))
    if recorded_to is not None:
        where.append(SQL("t.recorded_at < %s"))
        params.append(midnight(recorded_to + timedelta(days=1)))
    if known_at is not None:
        where.append(SQL("t.recorded_at <= %s"))
        params.append(utc(known_at))
    # Each goal's title is in its first row (its creation), one index seek away.
    query = (
        SQL("SELECT ")
        + COLUMNS
        + SQL(
            ", (SELECT c.after FROM {audit_trail} c"
            " WHERE c.goal_id = t.goal_id ORDER BY c.position LIMIT 1) AS created"
            " FROM {audit_trail} t WHERE "
        )
        + SQL(" AND ").join(where)
        + SQL(" ORDER BY t.position")
    )
    if limit is not None:
        query += SQL(" LIMIT %s")
        params.append(limit)
    return kpi_rows.flagged(trail_entries(database, query, params), cycle_dates)
