"""The FastAPI application: routers, problem handlers, body limit, health."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import problems
from api.routes import (
    audit,
    cycles,
    events,
    evidence,
    history,
    key_results,
    kpis,
    objectives,
    webhooks,
)
from domain.application import GoalLedger
from projections.database import ViewDatabase
from storage.ledger import open_ledger

MAX_BODY_BYTES = 64 * 1024


class BodyLimit:
    """Refuses bodies over the limit with 413, whether announced or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, send)
            return
        received = 0
        too_large = False

        async def limited() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise _TooLargeError
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, tracking_send)
        except _TooLargeError:
            if not started:
                await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body = json.dumps(
            {
                "type": "/problems/too-large",
                "title": "Request body too large",
                "status": 413,
                "detail": f"request bodies are limited to {self.max_bytes} bytes",
                "instance": scope.get("path"),
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", problems.PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLargeError(Exception):
    pass


def create_app(ledger: GoalLedger) -> FastAPI:
    """The API over one ledger; the caller owns the ledger's lifetime."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        ledger.close()

    app = FastAPI(
        title="Goalpost",
        version="1",
        summary="Event-sourced OKRs and KPIs: goal history nobody can quietly rewrite.",
        description=(
            "Every write is an immutable event. Writes take `Idempotency-Key` (a retry "
            "makes no second event) and `If-Match` with the goal's version (`ETag`). "
            "Errors are RFC 9457 `application/problem+json`. Authenticate with "
            "`Authorization: Bearer <token>` (`goalpost tokens issue`)."
        ),
        lifespan=lifespan,
    )
    app.state.ledger = ledger
    problems.install(app)
    app.state.views = ViewDatabase(ledger)
    # Read-model routers first: their fixed paths (/v1/kpis/health) precede /{id} routes.
    for module in (
        history, evidence, audit, events, webhooks, cycles, objectives, key_results, kpis
    ):  # fmt: skip
        app.include_router(module.router)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"model": problems.Problem}})
    def readyz(response: Response) -> dict[str, str | int | None]:
        """The store answers; reports the log's last position."""
        try:
            position = ledger.recorder.max_notification_id()
        except Exception as error:  # any store failure means not ready
            response.status_code = 503
            return {"status": "unavailable", "detail": type(error).__name__}
        return {"status": "ready", "position": position}

    app.add_middleware(BodyLimit)
    return app


def app_from_environment() -> FastAPI:
    """For `uvicorn --factory`: the ledger on the store GOALPOST_DATABASE_URL names."""
    return create_app(open_ledger())
