"""What every route shares: write responses, query parameters, pagination."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import PersistenceError
from fastapi import Query, Response

from api.problems import Problem, ProblemError
from api.schemas.common import Day, Moment, PlanWarningPublic, Written
from application.ledger import Saved

T = TypeVar("T")

AsOf = Annotated[
    Day | None,
    Query(description="What was true on this date: check-ins effective on or before it."),
]
KnownAt = Annotated[
    Moment | None,
    Query(
        description="What was known at this time (ISO 8601; UTC when no offset is given): "
        "events recorded at or before it."
    ),
]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=64)]
# A log position or a definition rank as a cursor: ASCII digits that fit a bigint.
MAX_CURSOR_DIGITS = 18

PROBLEM_SCHEMA = {"$ref": "#/components/schemas/Problem"}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {
        "description": "A problem (RFC 9457)",
        "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}},
    }
    for status in (400, 401, 403, 404, 409, 412, 413, 422, 503)
}
# Routes that read a read model document its 503 with the Problem model itself.
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": Problem, "content": {"application/problem+json": {}}}
}


@contextmanager
def read_model_unavailable(retry_after: str | None = None) -> Iterator[None]:
    """A store without the read-model tables (or not answering) is a 503, not a 500."""
    try:
        yield
    except PersistenceError as error:
        raise ProblemError(
            503,
            "read-model-unavailable",
            "The read model cannot be read",
            f"the read models are missing or not answering ({type(error).__name__}); "
            "`goalpost db init` creates them",
            headers={"Retry-After": retry_after} if retry_after is not None else None,
        ) from None


def position_cursor(cursor: str | None) -> int:
    """A cursor that is a log position (history) or a definition rank (KPI health)."""
    if cursor is None:
        return 0
    # What the previous page's `next_cursor` looked like.
    if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= MAX_CURSOR_DIGITS):
        raise ProblemError(
            400, "bad-cursor", "Unknown cursor", "cursor is not from this list", field="cursor"
        )
    return int(cursor)


def utc(moment: datetime | None, field: str = "known_at") -> datetime | None:
    """A moment in UTC; one given without an offset is taken as UTC."""
    if moment is None:
        return None
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        raise ProblemError(
            422, "invalid-input", "Invalid input", f"{field} is out of range", field=field
        ) from None


def etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


def written(
    response: Response, saved: Saved, location: str | None = None, *, key: str | None = None
) -> Written:
    etag(response, saved.version)
    if location is not None:
        response.headers["Location"] = location
    return Written(
        id=key if key is not None else saved.id,
        version=saved.version,
        position=saved.position,
        check_in_id=saved.check_in_id,
        warnings=[PlanWarningPublic.model_validate(w) for w in saved.warnings],
    )


def paginate(
    ids: Sequence[UUID], cursor: str | None, limit: int, load: Callable[[UUID], T | None]
) -> tuple[list[T], str | None]:
    """Pages follow creation order; the cursor is the last id of the previous page."""
    start = 0
    if cursor is not None:
        try:
            start = list(ids).index(UUID(cursor)) + 1
        except ValueError:
            raise ProblemError(
                400, "bad-cursor", "Unknown cursor", "cursor is not from this list", field="cursor"
            ) from None
    items: list[T] = []
    last: UUID | None = None
    position = start
    while position < len(ids) and len(items) < limit:
        item = load(ids[position])
        last = ids[position]
        position += 1
        if item is not None:
            items.append(item)
    more = position < len(ids)
    return items, (str(last) if more and last is not None else None)
