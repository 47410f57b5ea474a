"""RFC 9457 problem details for every error the API answers with."""

from __future__ import annotations

import logging
from typing import Any

from eventsourcing.persistence import PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.access import TokenRefusedError
from domain.errors import (
    ConcurrencyError,
    ConflictError,
    DomainError,
    ForbiddenError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    NotFoundError,
    StaleVersionError,
)

PROBLEM_JSON = "application/problem+json"

log = logging.getLogger("goalpost.api")


class FieldProblem(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """An error, as RFC 9457 describes it; `field` names the input at fault."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    field: str | None = None
    errors: list[FieldProblem] | None = None
    current_version: int | None = None


class ProblemError(Exception):
    """Raised by the API layer itself (auth, headers) to answer with a problem."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.field = field
        self.headers = headers or {}


def invalid_token(refused: TokenRefusedError) -> ProblemError:
    """401 for a refused bearer token: unknown, expired or revoked, and nothing else (not
    whose, not since when)."""
    description = refused.refusal.description
    return ProblemError(
        401,
        "invalid-token",
        "Invalid token",
        description,
        field="Authorization",
        headers={
            "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{description}"'
        },
    )


def problem_response(
    request: Request,
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    problem = Problem(
        type=f"/problems/{slug}",
        title=title,
        status=status,
        detail=detail,
        instance=request.url.path,
        **extra,
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


# One status per domain-error family; the most specific class wins.
_FAMILIES: list[tuple[type[DomainError], int, str, str]] = [
    (ForbiddenError, 403, "forbidden", "Not allowed"),
    (IdempotencyKeyReusedError, 422, "idempotency-key-reused", "Idempotency-Key reused"),
    (StaleVersionError, 412, "stale-version", "The goal has changed since you read it"),
    (ConcurrencyError, 409, "concurrent-change", "Another change won the race"),
    (ConflictError, 409, "conflict", "The goal's state does not allow this"),
    (NotFoundError, 404, "not-found", "Not found"),
    (InvalidInputError, 422, "invalid-input", "Invalid input"),
]


def _field_name(location: tuple[Any, ...]) -> str:
    # ("body", "measurement", "source") -> "measurement.source"; query/header keep their kind.
    parts = list(location)
    if parts and parts[0] == "body":
        parts = parts[1:]
        # A JSON syntax error is located by character offset, not by field.
        if parts and isinstance(parts[0], int):
            parts = []
    return ".".join(str(p) for p in parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(TokenRefusedError)
    async def token_refused(request: Request, error: TokenRefusedError) -> JSONResponse:
        # A command refuses a grant taken from memory that was revoked since (ADR 46).
        return await api_problem(request, invalid_token(error))

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError) -> JSONResponse:
        status, slug, title = next(
            ((status, slug, title) for family, status, slug, title in _FAMILIES
             if isinstance(error, family)),
            (400, "bad-request", "Bad request"),
        )  # fmt: skip
        extra: dict[str, Any] = {}
        headers: dict[str, str] = {}
        if isinstance(error, StaleVersionError):
            extra["current_version"] = error.current_version
            headers["ETag"] = f'"{error.current_version}"'
        field = error.field
        if field is None and isinstance(error, NotFoundError) and request.path_params:
            # A goal named in the path that does not exist: the path parameter is at fault.
            field = next(iter(request.path_params))
        if field is not None:
            extra["field"] = field
            extra["errors"] = [FieldProblem(field=field, message=error.message)]
        return problem_response(
            request, status, slug, title, error.message, headers=headers, **extra
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            FieldProblem(field=_field_name(tuple(e.get("loc", ()))), message=str(e.get("msg")))
            for e in error.errors()
        ]
        first = errors[0] if errors else FieldProblem(field="body", message="invalid request")
        return problem_response(
            request,
            422,
            "invalid-input",
            "Invalid input",
            f"{first.field}: {first.message}",
            field=first.field,
            errors=errors,
        )

    @app.exception_handler(PersistenceError)
    async def store_error(request: Request, error: PersistenceError) -> JSONResponse:
        # A store that does not answer, or read-model tables another release defined.
        log.error("the store failed a request", exc_info=error)
        return problem_response(
            request,
            503,
            "store-unavailable",
            "The store cannot answer",
            f"the store failed this request ({type(error).__name__}); retry shortly (a write "
            "retried with the same Idempotency-Key is stored at most once)",
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(ProblemError)
    async def api_problem(request: Request, error: ProblemError) -> JSONResponse:
        return problem_response(
            request,
            error.status,
            error.slug,
            error.title,
            error.detail,
            headers=error.headers,
            field=error.field,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        slug = {404: "not-found", 405: "method-not-allowed", 413: "too-large"}.get(
            error.status_code, "http-error"
        )
        extra: dict[str, Any] = {}
        if error.status_code in (400, 413):
            # FastAPI answers 400 only when it cannot parse the body at all.
            extra["field"] = "body"
            extra["errors"] = [FieldProblem(field="body", message=str(error.detail))]
        return problem_response(
            request,
            error.status_code,
            slug,
            str(error.detail),
            str(error.detail),
            headers=dict(error.headers or {}),
            **extra,
        )


def document(app: FastAPI) -> None:
    """Publish the Problem schema that every route's problem+json responses refer to."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(problem.pop("$defs", {}))
            components["Problem"] = problem
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
