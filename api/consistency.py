"""Reads say which log position they reflect, and refuse when their read model cannot.

Every read-model route takes one dependency, `reading(read_model)` (ADR 25), and calls
its `at()` once it has authorised the caller (so that a caller who may not read never
waits, nor learns how the read model fares), before it reads any rows:

    @router.get("/v1/goals/{goal_id}/audit")
    def audit(
        views: ViewsDep,
        grant: GrantDep,
        reading: Annotated[Reading, Depends(reading("audit_trail"))],
    ) -> AuditPublic:
        authorise(grant, ...)
        read = reading.at()
        ...

The dependency adds the `min_position` query parameter; `at()`, in this order:

- refuses with 503 `read-model-failing` while the read model cannot apply an event (the
  worker recorded it in the store), naming the read model, the event's position and the
  error;
- waits (up to READ_YOUR_WRITES_TIMEOUT) until the read model has applied
  `min_position`, and with `complete=True` (reports that must hold every event: the
  change report, evidence) the log's head as well; still behind at the timeout, it
  answers 503 `projection-behind` with the position reached and `Retry-After`;
- sets `Goalpost-Position` (the position the read reflects, at least; rows read
  afterwards may be newer) and `Goalpost-Log-Head` (the log's last position, read after
  it) on the response, and gives both to the route for its body.

With standbys (ADR 31) the request's views are a standby's: positions, the head and the
wait are that standby's own (its read models' tracking rows replicate with their rows),
`Goalpost-Read-From` names it, and only the primary's log says whether `min_position`
was ever given to a write.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.deps import ViewsDep
from api.problems import PROBLEM_JSON, Problem, ProblemError
from api.routes.common import read_model_unavailable
from api.standbys import PRIMARY, READ_FROM_HEADER
from domain.values import utc_now
from projections.base import (
    READ_YOUR_WRITES_TIMEOUT,
    PositionNotInLogError,
    ProjectionBehindError,
    ReadModelStatus,
    wait_until,
)
from storage.views import ReadModelHealth, ViewDatabase

POSITION_HEADER = "Goalpost-Position"
LOG_HEAD_HEADER = "Goalpost-Log-Head"
DEFAULT_READY_MAX_STALL_SECONDS = 60.0

MinPosition = Annotated[
    int | None,
    Query(
        ge=1,
        description="Read your own write: the `position` a write answered with. The read "
        f"waits up to {READ_YOUR_WRITES_TIMEOUT:g} s until the read model has applied it, "
        "then answers; 503 `projection-behind` if it has not by then.",
    ),
]


class ReadinessSettings(BaseSettings):
    """GOALPOST_READY_MAX_STALL_SECONDS: how long a read model may stay behind the log
    without advancing before `/readyz` answers 503 (default 60)."""

    model_config = SettingsConfigDict(env_prefix="GOALPOST_")

    ready_max_stall_seconds: float = Field(default=DEFAULT_READY_MAX_STALL_SECONDS, gt=0)


@dataclass(frozen=True)
class ReadAt:
    """Where a read stands: its read model's position, and the log's head after it, on the
    store it is read from (the primary, or a standby: ADR 31)."""

    read_model: str
    position: int
    log_head: int
    read_from: str = PRIMARY

    def headers(self) -> dict[str, str]:
        """For routes that build their own response (CSV, HTML): the same headers."""
        return {
            POSITION_HEADER: str(self.position),
            LOG_HEAD_HEADER: str(self.log_head),
            READ_FROM_HEADER: self.read_from,
        }


class ReadModelFailingError(Exception):
    """The read model cannot apply the event at its failing position (recorded by a worker)."""

    def __init__(self, position: int, health: ReadModelHealth, log_head: int) -> None:
        since = health.failing_since.isoformat() if health.failing_since else "now"
        super().__init__(
            f"read model {health.name} cannot apply the event at position "
            f"{health.failing_position} (failing since {since}, {health.attempts} attempts: "
            f"{health.error}); it reflects position {position} and will not go past it "
            "until that is fixed"
        )
        self.position = position
        self.health = health
        self.log_head = log_head


def _refuse_if_failing(views: ViewDatabase, read_model: str, position: int, head: int) -> None:
    health = views.health().get(read_model)
    if health is not None and health.failing_at(position):
        raise ReadModelFailingError(position, health, head)


def read_at(
    views: ViewDatabase,
    read_model: str,
    min_position: int | None,
    response: Response,
    *,
    complete: bool = False,
) -> ReadAt:
    """Where this read stands, after waiting for `min_position` (and the head if `complete`)."""
    with read_model_unavailable(retry_after="1"):
        # The position first: the head read after it is never behind it.
        position = views.position(read_model)
        head = views.head()
        _refuse_if_failing(views, read_model, position, head)
        wanted = max(min_position or 0, head) if complete else min_position
        if wanted is not None and position < wanted:
            try:
                position = wait_until(views, read_model, wanted, timeout=READ_YOUR_WRITES_TIMEOUT)
            except PositionNotInLogError as error:
                raise ProblemError(
                    422, "invalid-input", "Invalid input", str(error), field="min_position"
                ) from None
            except ProjectionBehindError as behind:
                # Stuck on an event rather than slow: say that instead.
                _refuse_if_failing(views, read_model, behind.position, views.head())
                behind.log_head = views.head()
                behind.read_from = views.source
                raise
            head = views.head()
    read = ReadAt(read_model, position, head, views.source)
    response.headers.update(read.headers())
    return read


class Reading:
    """A read of one read model, checked and waited for when the route calls `at()`."""

    def __init__(
        self,
        views: ViewDatabase,
        read_model: str,
        min_position: int | None,
        response: Response,
        *,
        complete: bool,
    ) -> None:
        self._views = views
        self._read_model = read_model
        self._min_position = min_position
        self._response = response
        self._complete = complete
        self._at: ReadAt | None = None

    def at(self) -> ReadAt:
        """Where the read stands (once; later calls give the same)."""
        if self._at is None:
            self._at = read_at(
                self._views,
                self._read_model,
                self._min_position,
                self._response,
                complete=self._complete,
            )
        return self._at


def reading(read_model: str, *, complete: bool = False) -> Callable[..., Reading]:
    """The dependency for routes reading `read_model`: see the module's docstring."""

    def dependency(
        views: ViewsDep, response: Response, min_position: MinPosition = None
    ) -> Reading:
        return Reading(views, read_model, min_position, response, complete=complete)

    return dependency


def _retry_after(health: ReadModelHealth) -> str:
    if health.retry_at is None:
        return "1"
    return str(max(1, math.ceil((health.retry_at - utc_now()).total_seconds())))


def unready(found: list[ReadModelStatus], max_stall: float) -> tuple[str, str] | None:
    """("failing" or "stalled", why) when a read model cannot or does not keep up (ADR 25)."""
    failing = [s for s in found if s.failing and s.health is not None]
    if failing:
        return "failing", "; ".join(
            f"read model {s.name} cannot apply the event at position "
            f"{s.health.failing_position}: {s.health.error}"
            for s in failing
            if s.health is not None
        )
    stalled = [s for s in found if s.lag and s.stalled_seconds > max_stall]
    if stalled:
        return "stalled", "; ".join(
            f"read model {s.name} is {s.lag} positions behind and has not advanced for "
            f"{s.stalled_seconds:.0f} s (GOALPOST_READY_MAX_STALL_SECONDS={max_stall:g}): "
            "is a worker running?"
            for s in stalled
        )
    return None


def failure_metrics(found: list[ReadModelStatus]) -> list[str]:
    """Per read model: failing or not, at which position, and how long since it moved."""
    return [
        "# HELP goalpost_read_model_failing 1 while a read model cannot apply an event.",
        "# TYPE goalpost_read_model_failing gauge",
        *(f'goalpost_read_model_failing{{read_model="{s.name}"}} {int(s.failing)}' for s in found),
        "# HELP goalpost_read_model_failing_position The event a read model cannot apply, or 0.",
        "# TYPE goalpost_read_model_failing_position gauge",
        *(
            f'goalpost_read_model_failing_position{{read_model="{s.name}"}} '
            f"{s.health.failing_position if s.failing and s.health else 0}"
            for s in found
        ),
        "# HELP goalpost_read_model_seconds_since_advance Seconds since a read model last moved.",
        "# TYPE goalpost_read_model_seconds_since_advance gauge",
        *(
            f'goalpost_read_model_seconds_since_advance{{read_model="{s.name}"}} '
            f"{s.seconds_since_advance:.3f}"
            for s in found
            if s.seconds_since_advance is not None
        ),
        "# HELP goalpost_read_model_stalled_seconds Seconds behind the log without advancing.",
        "# TYPE goalpost_read_model_stalled_seconds gauge",
        *(
            f'goalpost_read_model_stalled_seconds{{read_model="{s.name}"}} {s.stalled_seconds:.3f}'
            for s in found
        ),
    ]


def install(app: FastAPI) -> None:
    @app.exception_handler(ProjectionBehindError)
    async def projection_behind(request: Request, error: ProjectionBehindError) -> JSONResponse:
        problem = Problem(
            type="/problems/projection-behind",
            title="The read model has not caught up yet",
            status=503,
            detail=str(error),
            instance=request.url.path,
        ).model_dump(exclude_none=True)
        # RFC 9457 extension members: which read model, where it is, what was asked.
        problem |= {
            "read_model": error.read_model,
            "position": error.position,
            "min_position": error.wanted,
        }
        headers = {"Retry-After": "1", POSITION_HEADER: str(error.position)}
        if error.log_head is not None:
            problem["log_head"] = error.log_head
            headers[LOG_HEAD_HEADER] = str(error.log_head)
        if error.read_from is not None:
            headers[READ_FROM_HEADER] = error.read_from
        return JSONResponse(problem, status_code=503, media_type=PROBLEM_JSON, headers=headers)

    @app.exception_handler(ReadModelFailingError)
    async def read_model_failing(request: Request, error: ReadModelFailingError) -> JSONResponse:
        health = error.health
        problem = Problem(
            type="/problems/read-model-failing",
            title="The read model cannot apply an event",
            status=503,
            detail=str(error),
            instance=request.url.path,
        ).model_dump(exclude_none=True)
        problem |= {
            "read_model": health.name,
            "position": error.position,
            "log_head": error.log_head,
            "failing_position": health.failing_position,
            "error": health.error,
            "failing_since": health.failing_since.isoformat() if health.failing_since else None,
            "attempts": health.attempts,
        }
        return JSONResponse(
            problem,
            status_code=503,
            media_type=PROBLEM_JSON,
            headers={
                "Retry-After": _retry_after(health),
                POSITION_HEADER: str(error.position),
                LOG_HEAD_HEADER: str(error.log_head),
            },
        )
