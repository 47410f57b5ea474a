"""Reads say which log position they reflect; `?min_position=N` reads your own write.

A read-model route takes the dependency `position_of("audit_trail")`:

    @router.get("/v1/goals/{goal_id}/audit")
    def audit(
        views: ViewsDep,
        position: Annotated[int, Depends(position_of("audit_trail"))],
    ) -> AuditPublic: ...

It adds the `min_position` query parameter, waits (up to READ_YOUR_WRITES_TIMEOUT) until
the read model has applied that position, sets `Goalpost-Position` on the response, and
gives the position the read reflects (at least; rows read afterwards may be newer). A
read model still behind at the timeout answers 503 `projection-behind`, with the position
it has reached and `Retry-After`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse

from api.deps import ViewsDep
from api.problems import PROBLEM_JSON, Problem, ProblemError
from projections.base import (
    READ_YOUR_WRITES_TIMEOUT,
    PositionNotInLogError,
    ProjectionBehindError,
    wait_until,
)
from projections.database import ViewDatabase

POSITION_HEADER = "Goalpost-Position"

MinPosition = Annotated[
    int | None,
    Query(
        ge=1,
        description="Read your own write: the `position` a write answered with. The read "
        f"waits up to {READ_YOUR_WRITES_TIMEOUT:g} s until the read model has applied it, "
        "then answers; 503 `projection-behind` if it has not by then.",
    ),
]


def read_position(
    views: ViewDatabase, read_model: str, min_position: int | None, response: Response
) -> int:
    """The position this read reflects, after waiting for `min_position` if given."""
    try:
        position = (
            views.position(read_model)
            if min_position is None
            else wait_until(views, read_model, min_position, timeout=READ_YOUR_WRITES_TIMEOUT)
        )
    except PositionNotInLogError as error:
        raise ProblemError(
            422, "invalid-input", "Invalid input", str(error), field="min_position"
        ) from None
    response.headers[POSITION_HEADER] = str(position)
    return position


def position_of(read_model: str) -> Callable[..., int]:
    """A dependency for routes reading `read_model`: see the module's docstring."""

    def dependency(views: ViewsDep, response: Response, min_position: MinPosition = None) -> int:
        return read_position(views, read_model, min_position, response)

    return dependency


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
        return JSONResponse(
            problem,
            status_code=503,
            media_type=PROBLEM_JSON,
            headers={"Retry-After": "1", POSITION_HEADER: str(error.position)},
        )
