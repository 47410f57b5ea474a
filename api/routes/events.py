"""The event feed for subscribing services: ordered, gap-aware, resumable; and its live stream."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.deps import GrantDep, LedgerDep, ReadLedgerDep, ReadStoreDep, authorise
from api.json_body import StrictJSONRoute
from api.problems import ProblemError
from api.routes.common import PROBLEMS
from api.schemas.events import FeedPage
from api.standbys import READ_FROM_HEADER
from application.ledger import GoalLedger
from delivery.cloud_events import GOAL_TOPICS, TOPICS_BY_TYPE
from delivery.feed import read_page
from domain.authority import Command

router = APIRouter(
    prefix="/v1/events", tags=["events"], responses=PROBLEMS, route_class=StrictJSONRoute
)

HEARTBEAT_SECONDS = 15.0
# Positions are PostgreSQL bigints.
MAX_POSITION = 2**63 - 1
STREAM_POLL_SECONDS = 0.5


def _topics(types: list[str] | None) -> list[str]:
    if not types:
        return GOAL_TOPICS
    unknown = [t for t in types if t not in TOPICS_BY_TYPE]
    if unknown:
        raise ProblemError(
            422,
            "invalid-input",
            "Unknown event type",
            f"unknown event type {unknown[0]!r}; known types: {', '.join(sorted(TOPICS_BY_TYPE))}",
            field="type",
        )
    return [TOPICS_BY_TYPE[t] for t in types]


def check_cursor(ledger: GoalLedger, position: int, field: str, primary: GoalLedger) -> int:
    """A cursor is a position the log has reached: one past the head was never served, so a
    client holding it is following another store (or a typo) and would wait forever.

    Read from a standby (ADR 31), a cursor another standby served may be past this one's
    head for now: the primary's head decides, and the page waits for the standby."""
    head = ledger.recorder.max_notification_id() or 0
    if position > head and primary is not ledger:
        head = max(head, primary.recorder.max_notification_id() or 0)
    if position > head:
        raise ProblemError(
            422,
            "invalid-input",
            "Position beyond the log",
            f"{field} {position} is past the log's head ({head}); "
            "resume from a position this feed served, or 0",
            field=field,
        )
    return position


@router.get("")
def feed(
    ledger: ReadLedgerDep,
    primary: LedgerDep,
    grant: GrantDep,
    after: Annotated[
        int,
        Query(
            ge=0,
            le=MAX_POSITION,
            description="Position to read after (0: from the start); not past the log's head.",
        ),
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    type: Annotated[  # noqa: A002 - the parameter's public name
        list[str] | None, Query(description="Only these CloudEvents types; repeatable.")
    ] = None,
) -> FeedPage:
    """Goal events in log order as CloudEvents, from a cursor; resume from `next_after`."""
    authorise(grant, Command.FOLLOW_EVENTS)
    topics = _topics(type)
    page = read_page(ledger, check_cursor(ledger, after, "query.after", primary), limit, topics)
    return FeedPage.model_validate(page)


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream(
    request: Request,
    store: ReadStoreDep,
    primary: LedgerDep,
    grant: GrantDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    after: Annotated[int, Query(ge=0, le=MAX_POSITION)] = 0,
    type: Annotated[list[str] | None, Query()] = None,  # noqa: A002
) -> StreamingResponse:
    """Live goal events as server-sent events; reconnect with `Last-Event-ID` to resume."""
    authorise(grant, Command.FOLLOW_EVENTS)
    topics = _topics(type)
    # One store for the stream's whole life: its positions only ever move forward.
    ledger = store.ledger
    position = check_cursor(ledger, after, "query.after", primary)
    if last_event_id is not None:
        text = last_event_id.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 19):
            raise ProblemError(
                400, "bad-last-event-id", "Malformed Last-Event-ID",
                "Last-Event-ID must be a position from this stream", field="Last-Event-ID",
            )  # fmt: skip
        position = check_cursor(ledger, int(text), "Last-Event-ID", primary)

    async def events() -> AsyncIterator[str]:
        cursor = position
        last_sent = time.monotonic()
        yield f"retry: {int(STREAM_POLL_SECONDS * 2000)}\n\n"
        while not await request.is_disconnected():
            page = await run_in_threadpool(read_page, ledger, cursor, 200, topics)
            for event in page.events:
                body = json.dumps(event)
                yield f"id: {event['position']}\nevent: {event['type']}\ndata: {body}\n\n"
                last_sent = time.monotonic()
            cursor = page.next_after
            if page.events:
                continue
            if time.monotonic() - last_sent >= HEARTBEAT_SECONDS:
                yield ": heartbeat\n\n"
                last_sent = time.monotonic()
            await asyncio.sleep(STREAM_POLL_SECONDS)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
            READ_FROM_HEADER: store.name,
        },
    )
