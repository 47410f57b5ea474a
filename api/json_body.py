"""Request bodies parsed strictly: numbers as exact decimals, no duplicate keys, bounded depth.

FastAPI parses JSON bodies with `json.loads`, which reads `62.123456789012345678901`
as the float 62.123456789012344, silently keeps the last of two equal keys, and raises
RecursionError (a 500) on deeply nested input. Every router uses `StrictJSONRoute`,
which parses the body once with the rules below and hands FastAPI the result.

It also refuses a query parameter the route does not take (422 naming it): FastAPI
ignores one, so `?cycle=2026-Q3` for `?cycle_id=2026-Q3` would answer every cycle.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from contextlib import suppress
from decimal import Decimal
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from api.problems import ProblemError

# Goalpost's bodies nest three levels at most; anything far deeper is not one of them.
MAX_DEPTH = 32


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _DuplicateKeyError(key)
        found[key] = value
    return found


def _constant_as_text(name: str) -> str:
    # NaN and Infinity are not JSON numbers; as text, the field's own rule refuses them
    # and names the field.
    return name


def _too_deep(body: bytes) -> bool:
    """Whether brackets outside strings nest deeper than MAX_DEPTH (checked before parsing)."""
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def _bad_body(detail: str, field: str = "body") -> ProblemError:
    return ProblemError(400, "malformed-body", "Malformed request body", detail, field=field)


def parse_json(body: bytes) -> Any:
    """The body as JSON with decimals for numbers; ProblemError (400) for bodies Goalpost
    refuses before reading them. Syntax errors propagate as json.JSONDecodeError."""
    if _too_deep(body):
        raise _bad_body(f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(
            body,
            parse_float=Decimal,
            parse_constant=_constant_as_text,
            object_pairs_hook=_no_duplicates,
        )
    except _DuplicateKeyError as error:
        raise _bad_body(f"the key {error.key!r} appears more than once", error.key) from None
    except UnicodeDecodeError:
        raise _bad_body("the body is not UTF-8 text") from None


def is_json(request: Request) -> bool:
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


def _query_names(dependant: Dependant) -> set[str]:
    """The query parameters a route takes, its dependencies' (`min_position`) included."""
    names = {param.alias for param in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= _query_names(dependency)
    return names


def _unknown_query(taken: set[str], request: Request) -> ProblemError | None:
    unknown = sorted(set(request.query_params) - taken)
    if not unknown:
        return None
    takes = ", ".join(f"`{name}`" for name in sorted(taken)) or "none"
    return ProblemError(
        422,
        "invalid-input",
        "Invalid input",
        f"query.{unknown[0]}: this route takes no such parameter (it takes {takes})",
        field=f"query.{unknown[0]}",
    )


class StrictJSONRoute(APIRoute):
    """An APIRoute whose JSON body is parsed by `parse_json` before FastAPI reads it, and
    which refuses query parameters neither it nor its dependencies take."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        taken = _query_names(self.dependant)

        async def strict_handler(request: Request) -> Response:
            unknown = _unknown_query(taken, request)
            if unknown is not None:
                raise unknown
            if is_json(request):
                body = await request.body()
                # FastAPI reports syntax errors itself, with their position.
                if body:
                    with suppress(json.JSONDecodeError):
                        # Starlette's Request.json() returns this cached value.
                        request._json = parse_json(body)
            return await handler(request)

        return strict_handler
