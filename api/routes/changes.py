"""The auditors' change report of a cycle: JSON in pages, or the whole of it as CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.responses import StreamingResponse

from api.consistency import Reading, reading
from api.deps import GrantDep, LedgerDep, ViewsDep, authorise
from api.display_names import with_names
from api.json_body import StrictJSONRoute
from api.problems import ProblemError
from api.routes.common import (
    PROBLEMS,
    UNAVAILABLE,
    Cursor,
    KnownAt,
    position_cursor,
    read_model_unavailable,
    utc,
)
from api.routes.filters import OWNER_FILTER, known_owner
from api.schemas.changes import ChangeReport, ChangeRow
from api.schemas.common import Day
from domain.authority import Command
from projections.audit_trail import AuditTrail, Flag
from projections.change_report import change_report

router = APIRouter(
    tags=["history"], responses={**PROBLEMS, **UNAVAILABLE}, route_class=StrictJSONRoute
)

CSV = "text/csv"
# Rows a CSV export reads at a time while it streams.
CSV_PAGE = 1000
# The change report holds every change: it waits for the log's head, or refuses.
CompleteAuditTrailRead = Annotated[Reading, Depends(reading(AuditTrail.name, complete=True))]

# What an auditor filters on gets a column of its own, before and after; `before` and
# `after` still carry the whole of each (a retirement's score, a KPI's healthy range).
COMPARED = ("value", "target", "baseline", "weight")
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
    *(f"{name}_{side}" for name in COMPARED for side in ("before", "after")),
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
        # Serialised as the JSON report serialises it, so each cell reads as the JSON
        # field does: timestamps in UTC with `Z`, decimals as plain text.
        data = row.model_dump(mode="json")
        before, after = data["before"], data["after"]
        writer.writerow(
            [
                data["position"],
                data["goal_kind"],
                data["goal_id"],
                _cell(data["title"]),
                data["owner"] or "",
                data["event"],
                data["subject_id"] or "",
                data["actor"],
                data["recorded_at"],
                data["effective_on"] or "",
                _cell(data["reason"]),
                data["reason_code"] or "",
                *(_number(side.get(name)) for name in COMPARED for side in (before, after)),
                json.dumps(before, sort_keys=True, separators=(",", ":")),
                json.dumps(after, sort_keys=True, separators=(",", ":")),
                ";".join(data["flags"]),
            ]
        )
    return out.getvalue()


def _number(value: object) -> str:
    """A compared field's decimal as the row's JSON holds it; empty where it has none."""
    return "" if value is None else str(value)


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
    owner: Annotated[str | None, Query(max_length=120, description=OWNER_FILTER)] = None,
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
    """The cycle's changes of plan, corrections and backdated check-ins, flagged; its
    carry-forwards out and in, and the KPI target and healthy-range changes effective or
    recorded within its dates (ADR 37).

    JSON comes in pages (`next_cursor`); CSV is the whole report, streamed, for a
    spreadsheet: the JSON's fields, each cell as the JSON writes it, and value, target,
    baseline and weight before and after in columns of their own (`value_before`, ...).
    An `owner` who owns no goal (objective, key result or KPI) as of the read is a 404
    naming the parameter.
    """
    authorise(grant, Command.READ_CHANGE_REPORT)
    if recorded_from is not None and recorded_to is not None and recorded_from > recorded_to:
        raise ProblemError(
            422, "invalid-input", "Invalid input", "`from` must not be after `to`", field="to"
        )
    moment = utc(known_at)
    after = position_cursor(cursor)
    cycle = ledger.get_cycle(cycle_id, moment)
    if owner is not None:
        known_owner(views, ledger, owner, moment, "query.owner")

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
                cycle_dates=(cycle.starts_on, cycle.ends_on),
            )
        return [ChangeRow.model_validate(entry) for entry in entries]

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
    book = ledger.name_book(moment)
    rows = [with_names(row, book, row.effective_on or row.recorded_at.date()) for row in rows]
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
