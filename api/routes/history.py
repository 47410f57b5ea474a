"""Read-model routes: a goal's history, the auditors' change report, KPI health."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from api.consistency import LOG_HEAD_HEADER, POSITION_HEADER, ReadAt, Reading, reading
from api.deps import GrantDep, LedgerDep, ViewsDep, authorise
from api.json_body import StrictJSONRoute
from api.problems import Problem, ProblemError
from api.routes.common import (
    PROBLEMS,
    AsOf,
    Cursor,
    KnownAt,
    Limit,
    read_model_unavailable,
    utc,
)
from api.schemas import Day, Exact
from domain.authority import Command
from domain.values import KpiDirection, utc_today
from projections.audit_trail import (
    AuditTrail,
    Flag,
    TrailEntry,
    change_report,
    goal_history,
    goal_known,
)
from projections.kpi_health import (
    KpiHealth,
    KpiHealthRow,
    ReadingHealth,
    kpi_health,
    kpi_health_replayed,
)
from storage.views import ViewDatabase

UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": Problem, "content": {"application/problem+json": {}}}
}
router = APIRouter(
    tags=["history"], responses={**PROBLEMS, **UNAVAILABLE}, route_class=StrictJSONRoute
)

CSV = "text/csv"
# Rows a CSV export reads at a time while it streams.
CSV_PAGE = 1000
MAX_CURSOR_DIGITS = 18
Position = Annotated[
    int,
    Field(description="The log position this read reflects: every event up to it is included."),
]
LogHead = Annotated[
    int,
    Field(
        description="The log's last position when this was read: `position` short of it "
        "is how far the read model was behind."
    ),
]
# The read model each route reads (ADR 25): `min_position`, failing and behind, headers.
AuditTrailRead = Annotated[Reading, Depends(reading(AuditTrail.name))]
KpiHealthRead = Annotated[Reading, Depends(reading(KpiHealth.name))]
# The change report holds every change: it waits for the log's head, or refuses.
CompleteAuditTrailRead = Annotated[Reading, Depends(reading(AuditTrail.name, complete=True))]


# Responses


class HistoryEntry(BaseModel):
    """One event of a goal: who, when recorded, when effective, why, before and after."""

    position: int
    version: int
    event: str = Field(examples=["rebaselined"])
    actor: str
    recorded_at: datetime
    effective_on: date | None
    reason: str | None
    reason_code: str | None
    subject_id: UUID | None = Field(description="The check-in, reading or goal the event names.")
    before: dict[str, Any] = Field(examples=[{"baseline": "32", "target": "50"}])
    after: dict[str, Any] = Field(examples=[{"baseline": "32", "target": "45"}])
    flags: list[Flag]

    @classmethod
    def of(cls, entry: TrailEntry) -> HistoryEntry:
        return cls(
            position=entry.position,
            version=entry.version,
            event=entry.event,
            actor=entry.actor,
            recorded_at=entry.recorded_at,
            effective_on=entry.effective_on,
            reason=entry.reason,
            reason_code=entry.reason_code,
            subject_id=entry.subject_id,
            before=entry.before,
            after=entry.after,
            flags=[Flag(f) for f in entry.flags],
        )


class GoalHistory(BaseModel):
    goal_kind: str
    goal_id: UUID
    items: list[HistoryEntry]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page (the last position); null on the last."
    )
    position: Position
    log_head: LogHead


class ChangeRow(BaseModel):
    """A change an auditor reviews, with the flags it raised."""

    position: int
    goal_kind: Literal["key_result", "objective"]
    goal_id: UUID
    title: str | None
    owner: str | None
    event: str = Field(examples=["rebaselined"])
    subject_id: UUID | None
    actor: str
    recorded_at: datetime
    effective_on: date | None
    reason: str | None
    reason_code: str | None
    before: dict[str, Any]
    after: dict[str, Any]
    flags: list[Flag]

    @classmethod
    def of(cls, entry: TrailEntry) -> ChangeRow:
        return cls(
            position=entry.position,
            goal_kind=entry.goal_kind,
            goal_id=entry.goal_id,
            title=entry.title,
            owner=entry.owner,
            event=entry.event,
            subject_id=entry.subject_id,
            actor=entry.actor,
            recorded_at=entry.recorded_at,
            effective_on=entry.effective_on,
            reason=entry.reason,
            reason_code=entry.reason_code,
            before=entry.before,
            after=entry.after,
            flags=[Flag(f) for f in entry.flags],
        )


class ChangeReport(BaseModel):
    cycle_id: str
    starts_on: date
    ends_on: date
    closed_at: datetime | None
    known_at: datetime | None
    items: list[ChangeRow]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page (the last position); null on the last."
    )
    position: Position
    log_head: LogHead


class ReadingHealthPublic(BaseModel):
    effective_on: date
    value: Exact
    healthy: bool

    @classmethod
    def of(cls, reading: ReadingHealth | None) -> ReadingHealthPublic | None:
        if reading is None:
            return None
        return cls(effective_on=reading.effective_on, value=reading.value, healthy=reading.healthy)


class KpiHealthPublic(BaseModel):
    id: UUID
    area: str
    name: str
    owner: str
    unit: str
    direction: KpiDirection
    target: Exact
    healthy_low: Exact | None
    healthy_high: Exact | None
    target_set_on: date
    last_reading: ReadingHealthPublic | None
    previous_reading: ReadingHealthPublic | None
    healthy: bool | None = Field(description="The last reading is healthy; null without one.")
    okr_candidate: bool = Field(
        description="Out of its healthy level for its last two readings: a candidate OKR."
    )
    retired_on: date | None
    version: int

    @classmethod
    def of(cls, row: KpiHealthRow) -> KpiHealthPublic:
        return cls(
            id=row.kpi_id,
            area=row.area,
            name=row.name,
            owner=row.owner,
            unit=row.unit,
            direction=KpiDirection(row.direction),
            target=row.target,
            healthy_low=row.healthy_low,
            healthy_high=row.healthy_high,
            target_set_on=row.target_set_on,
            last_reading=ReadingHealthPublic.of(row.last),
            previous_reading=ReadingHealthPublic.of(row.previous),
            healthy=row.healthy,
            okr_candidate=row.okr_candidate,
            retired_on=row.retired_on,
            version=row.version,
        )


class KpiHealthPage(BaseModel):
    items: list[KpiHealthPublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )
    as_of: date | None
    known_at: datetime | None
    position: Position
    log_head: LogHead


# Helpers


def _cursor(cursor: str | None) -> int:
    """Cursors are log positions (history) or definition ranks (KPI health)."""
    if cursor is None:
        return 0
    # ASCII digits that fit a bigint: what the previous page's `next_cursor` looked like.
    if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= MAX_CURSOR_DIGITS):
        raise ProblemError(
            400, "bad-cursor", "Unknown cursor", "cursor is not from this list", field="cursor"
        )
    return int(cursor)


def _history(
    views: ViewDatabase,
    kind: str,
    goal_id: UUID,
    load: Callable[[UUID], object],
    read: ReadAt,
    *,
    as_of: date | None,
    known_at: datetime | None,
    limit: int,
    cursor: str | None,
) -> GoalHistory:
    after = _cursor(cursor)
    with read_model_unavailable():
        # `read` came first: the rows read now reflect at least that much of the log.
        known = goal_known(views, goal_id, kind)
        entries, more = goal_history(
            views,
            goal_id,
            kind,
            after_position=after,
            limit=limit,
            as_of=as_of,
            known_at=utc(known_at),
        )
    if not known:
        # Not in the trail (yet): 404 unless the goal exists and the trail lags behind.
        load(goal_id)
    return GoalHistory(
        goal_kind=kind,
        goal_id=goal_id,
        items=[HistoryEntry.of(e) for e in entries],
        next_cursor=str(entries[-1].position) if more and entries else None,
        position=read.position,
        log_head=read.log_head,
    )


HistoryAsOf = Annotated[
    Day | None,
    Query(
        description="Only events in effect by this date: effective on or before it "
        "(events without an effective date: recorded on or before it, UTC)."
    ),
]


# Routes


@router.get("/v1/key-results/{key_result_id}/history")
def key_result_history(
    key_result_id: UUID,
    views: ViewsDep,
    ledger: LedgerDep,
    grant: GrantDep,
    read: AuditTrailRead,
    as_of: HistoryAsOf = None,
    known_at: KnownAt = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> GoalHistory:
    """Every event of the key result in log order: actor, times, reason, before and after."""
    authorise(grant, Command.READ_GOALS)
    return _history(
        views,
        "key_result",
        key_result_id,
        ledger.get_key_result,
        read.at(),
        as_of=as_of,
        known_at=known_at,
        limit=limit,
        cursor=cursor,
    )


@router.get("/v1/objectives/{objective_id}/history")
def objective_history(
    objective_id: UUID,
    views: ViewsDep,
    ledger: LedgerDep,
    grant: GrantDep,
    read: AuditTrailRead,
    as_of: HistoryAsOf = None,
    known_at: KnownAt = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> GoalHistory:
    """Every event of the objective in log order: actor, times, reason, before and after."""
    authorise(grant, Command.READ_GOALS)
    return _history(
        views,
        "objective",
        objective_id,
        ledger.get_objective,
        read.at(),
        as_of=as_of,
        known_at=known_at,
        limit=limit,
        cursor=cursor,
    )


@router.get("/v1/kpis/health")
def kpis_health(
    views: ViewsDep,
    ledger: LedgerDep,
    grant: GrantDep,
    response: Response,
    read: KpiHealthRead,
    include: Annotated[
        Literal["candidates", "all"],
        Query(description="`candidates`: unretired KPIs out of range twice running; `all`."),
    ] = "candidates",
    area: Annotated[str | None, Query(max_length=200)] = None,
    owner: Annotated[str | None, Query(max_length=120)] = None,
    as_of: AsOf = None,
    known_at: KnownAt = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> KpiHealthPage:
    """KPIs out of their healthy level for two consecutive readings: candidate OKRs."""
    authorise(grant, Command.READ_GOALS)
    after = _cursor(cursor)
    candidates_only = include == "candidates"
    moment = utc(known_at)
    at = read.at()
    position, log_head = at.position, at.log_head
    if as_of is None and moment is None:
        with read_model_unavailable():
            rows, more = kpi_health(
                views,
                candidates_only=candidates_only,
                area=area,
                owner=owner,
                after=after,
                limit=limit,
            )
    else:
        # Another day or another state of knowledge: replayed from the KPIs themselves,
        # which reflect at least the log as it stood before the replay.
        position = log_head = max(ledger.recorder.max_notification_id() or 0, log_head)
        response.headers[POSITION_HEADER] = str(position)
        response.headers[LOG_HEAD_HEADER] = str(log_head)
        rows, more = kpi_health_replayed(
            ledger,
            as_of=as_of if as_of is not None else utc_today(),
            known_at=moment,
            candidates_only=candidates_only,
            area=area,
            owner=owner,
            after=after,
            limit=limit,
        )
    return KpiHealthPage(
        items=[KpiHealthPublic.of(row) for row in rows],
        next_cursor=str(rows[-1].defined_at) if more and rows else None,
        as_of=as_of,
        known_at=moment,
        position=position,
        log_head=log_head,
    )


@router.get("/v1/kpis/{kpi_id}/history")
def kpi_history(
    kpi_id: UUID,
    views: ViewsDep,
    ledger: LedgerDep,
    grant: GrantDep,
    read: AuditTrailRead,
    as_of: HistoryAsOf = None,
    known_at: KnownAt = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> GoalHistory:
    """Every event of the KPI in log order: actor, times, reason, before and after."""
    authorise(grant, Command.READ_GOALS)
    return _history(
        views,
        "kpi",
        kpi_id,
        ledger.get_kpi,
        read.at(),
        as_of=as_of,
        known_at=known_at,
        limit=limit,
        cursor=cursor,
    )


# The change report: JSON, or CSV for a spreadsheet.

CSV_COLUMNS = (
    "position",
    "goal_kind",
    "goal_id",
    "title",
    "owner",
    "event",
    "subject_id",
    "actor",
    "recorded_at",
    "effective_on",
    "reason",
    "reason_code",
    "before",
    "after",
    "flags",
)
# Free text a spreadsheet would otherwise run as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str | None) -> str:
    if value is None:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv(rows: Sequence[ChangeRow], *, header: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row.position,
                row.goal_kind,
                row.goal_id,
                _cell(row.title),
                row.owner or "",
                row.event,
                row.subject_id or "",
                row.actor,
                row.recorded_at.isoformat(),
                row.effective_on.isoformat() if row.effective_on else "",
                _cell(row.reason),
                row.reason_code or "",
                json.dumps(row.before, sort_keys=True, separators=(",", ":")),
                json.dumps(row.after, sort_keys=True, separators=(",", ":")),
                ";".join(flag.value for flag in row.flags),
            ]
        )
    return out.getvalue()


def _wants_csv(format_: str | None, accept: str | None) -> bool:
    """`?format=` decides; else `Accept`, where text/csv must outrank JSON to be chosen."""
    if format_ is not None:
        return format_ == "csv"
    quality: dict[str, float] = {}
    for part in (accept or "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        quality[media.lower()] = q
    csv_q = quality.get(CSV, 0.0)
    json_q = max(quality.get("application/json", 0.0), quality.get("*/*", 0.0) - 0.001)
    return csv_q > 0 and csv_q >= json_q


@router.get(
    "/v1/cycles/{cycle_id}/changes",
    response_model=ChangeReport,
    responses={200: {"content": {CSV: {"schema": {"type": "string"}}}}},
)
def cycle_changes(
    cycle_id: str,
    views: ViewsDep,
    ledger: LedgerDep,
    grant: GrantDep,
    read: CompleteAuditTrailRead,
    owner: Annotated[str | None, Query(max_length=120)] = None,
    flag: Annotated[
        list[Flag] | None, Query(description="Repeatable; rows with any of these flags.")
    ] = None,
    recorded_from: Annotated[
        Day | None,
        Query(alias="from", description="Recorded on or after this day (UTC)."),
    ] = None,
    recorded_to: Annotated[
        Day | None,
        Query(alias="to", description="Recorded on or before this day (UTC)."),
    ] = None,
    known_at: KnownAt = None,
    format_: Annotated[
        Literal["json", "csv"] | None,
        Query(alias="format", description="Overrides `Accept` (`text/csv` for CSV)."),
    ] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="JSON rows per page.")] = 500,
    cursor: Cursor = None,
) -> ChangeReport | Response:
    """The cycle's changes of plan, corrections and backdated check-ins, flagged.

    JSON comes in pages (`next_cursor`); CSV is the whole report, streamed, for a
    spreadsheet.
    """
    authorise(grant, Command.READ_CHANGE_REPORT)
    if recorded_from is not None and recorded_to is not None and recorded_from > recorded_to:
        raise ProblemError(
            422, "invalid-input", "Invalid input", "`from` must not be after `to`", field="to"
        )
    moment = utc(known_at)
    after = _cursor(cursor)
    cycle = ledger.get_cycle(cycle_id, moment)

    def page(after_position: int, size: int) -> list[ChangeRow]:
        with read_model_unavailable():
            entries = change_report(
                views,
                cycle.key,
                owner=owner,
                flags=[f.value for f in flag or []],
                recorded_from=recorded_from,
                recorded_to=recorded_to,
                known_at=moment,
                after_position=after_position,
                limit=size,
            )
        return [ChangeRow.of(entry) for entry in entries]

    # Before the rows: they reflect at least this much of the log, all of it as it stood
    # when asked (`at()` waited for the head).
    at = read.at()
    if _wants_csv(format_, accept):
        first = page(after, CSV_PAGE)

        def lines() -> Iterator[str]:
            rows, header = first, True
            while True:
                yield _csv(rows, header=header)
                if len(rows) < CSV_PAGE:
                    return
                rows, header = page(rows[-1].position, CSV_PAGE), False

        return StreamingResponse(
            lines(),
            media_type=f"{CSV}; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="changes-{cycle.key}.csv"',
                **at.headers(),
            },
        )
    rows = page(after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return ChangeReport(
        cycle_id=cycle.key,
        starts_on=cycle.starts_on,
        ends_on=cycle.ends_on,
        closed_at=cycle.closed_at,
        known_at=moment,
        items=rows,
        next_cursor=str(rows[-1].position) if more and rows else None,
        position=at.position,
        log_head=at.log_head,
    )
