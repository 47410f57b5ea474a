"""The FastAPI application: routers, problem handlers, body limit, health."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, nullcontext

from eventsourcing.persistence import PersistenceError
from fastapi import FastAPI, Response
from fastapi.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import consistency, docs_pages, heap, problems
from api.demo_mark import DemoStoreHeader, DemoStoreMark
from api.routes import (
    audit,
    calibration,
    changes,
    cycles,
    events,
    evidence,
    history,
    key_results,
    kpi_health,
    kpi_key_results,
    kpis,
    objectives,
    ownership,
    people,
    review_cycles,
    scores,
    webhooks,
)
from api.schemas.health import Readiness, ReadModelPosition, StandbyPosition
from api.standbys import ReadStores, StandbyStatus, standby_metrics, standby_status, unavailable
from application.ledger import GoalLedger
from application.stores import open_ledger, open_read_ledgers
from processes.kpi_check_ins import BackgroundKpiProcess
from processes.signals import BackgroundSignals
from projections.base import ReadModelStatus, read_model_status
from projections.registry import READ_MODELS, background_worker_for
from storage.views import ViewDatabase

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
        if declared is not None:
            # The server holds the client to the length it declared.
            if not declared.isdigit() or int(declared) > self.max_bytes:
                await self._refuse(scope, send)
                return
            await self.app(scope, receive, send)
            return
        # A streamed body (no declared length): read it here, up to the limit, and hand
        # the app the whole of it; past the limit the request is refused unread.
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._refuse(scope, send)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body = json.dumps(
            {
                "type": "/problems/too-large",
                "title": "Request body too large",
                "status": 413,
                "detail": f"request bodies are limited to {self.max_bytes} bytes",
                "instance": scope.get("path"),
                "field": "body",
                "errors": [{"field": "body", "message": "request body too large"}],
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


def _read_models(views: ViewDatabase) -> tuple[int, list[ReadModelStatus]]:
    return read_model_status(views, [model.name for model in READ_MODELS])


def _standbys(reads: ReadStores) -> list[StandbyStatus]:
    return [
        standby_status(store, [model.name for model in READ_MODELS]) for store in reads.standbys
    ]


def _readiness(
    ledger: GoalLedger, reads: ReadStores, max_stall: float, response: Response
) -> Readiness:
    """`/readyz`: 503 while the store does not answer, a read model is another release's,
    failing or stalled, or a standby reads are sent to does not answer (ADR 31)."""
    try:
        position = ledger.recorder.max_notification_id() or 0
    except Exception as error:  # any store failure means not ready
        response.status_code = 503
        return Readiness(status="unavailable", detail=type(error).__name__)
    try:
        head, found = _read_models(reads.primary.views)
    except PersistenceError as error:
        # Writes work without read models; their routes answer once `db init` made them.
        return Readiness(
            status="ready", position=position, detail=f"read models: {type(error).__name__}"
        )
    ours = {model.name: model.definition() for model in READ_MODELS}
    other = [s for s in found if s.definition not in (None, ours[s.name])]
    unready = consistency.unready(found, max_stall)
    standbys = _standbys(reads)
    if unready is None and (down := unavailable(standbys)) is not None:
        unready = ("standby-unavailable", down)
    if other:
        # Another release's tables: this process would fail reading them (ADR 17).
        response.status_code = 503
        return Readiness(
            status="upgrading",
            position=max(position, head),
            detail="; ".join(
                f"read model {s.name} is live in definition {s.definition}, this release "
                f"reads {ours[s.name]}: run `goalpost db init` or "
                f"`goalpost projections rebuild {s.name}` with this release"
                for s in other
            ),
        )
    if unready:
        response.status_code = 503
    return Readiness(
        status=unready[0] if unready else "ready",
        position=max(position, head),
        read_models={s.name: ReadModelPosition.of(s) for s in found},
        standbys={s.name: StandbyPosition.of(s, max(position, head)) for s in standbys} or None,
        detail=unready[1] if unready else None,
    )


@contextmanager
def embedded_workers(ledger: GoalLedger) -> Iterator[None]:
    """The read models' worker, the KPI process (ADR 38) and the signals (ADR 39) on
    threads of this process: the embedded store's one-command demo."""
    background = background_worker_for(ledger)
    background.start()
    kpi_process = BackgroundKpiProcess(ledger)
    kpi_process.start()
    signals = BackgroundSignals(ledger)
    signals.start()
    try:
        yield
    finally:
        signals.stop()
        kpi_process.stop()
        background.stop()


def create_app(
    ledger: GoalLedger,
    *,
    run_projections: bool = False,
    read_ledgers: Sequence[GoalLedger] = (),
) -> FastAPI:
    """The API over one ledger; the caller owns the ledger's lifetime.

    `read_ledgers`: ledgers on hot standbys of the ledger's store, which serve the
    read-model routes and the feed (ADR 31); the app closes them when it stops.

    With `run_projections`, the projection worker, the KPI process and the signals run on
    threads of this process from startup to shutdown (the embedded store's one-command
    demo); otherwise `goalpost worker`, `goalpost processes run` and `goalpost signals
    run` do, each in a process of its own.
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            with embedded_workers(ledger) if run_projections else nullcontext():
                yield
        finally:
            reads.close()
            ledger.close()

    app = FastAPI(
        title="Goalpost",
        version="1",
        summary="Event-sourced OKRs and KPIs: goal history nobody can quietly rewrite.",
        description=(
            "Every write is an immutable event. Writes take `Idempotency-Key` (a retry "
            "makes no second event) and `If-Match` with the goal's version (`ETag`). "
            "Errors are RFC 9457 `application/problem+json`. Authenticate with "
            "`Authorization: Bearer <token>` (`goalpost tokens issue`). The events the "
            "feed, stream and webhooks carry: [AsyncAPI 3.0](asyncapi.json) "
            "(`/asyncapi.json`)."
        ),
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    docs_pages.install(app)
    app.state.ledger = ledger
    demo_mark = DemoStoreMark(ledger)
    readiness = consistency.ReadinessSettings()
    problems.install(app)
    problems.document(app)
    consistency.install(app)
    app.state.views = views = ViewDatabase(ledger)
    app.state.reads = reads = ReadStores.of(ledger, views, read_ledgers)
    # Read-model routers first: their fixed paths (/v1/kpis/health) precede /{id} routes.
    for module in (
        history, kpi_health, changes, evidence, audit, events, webhooks, scores,
        calibration, cycles, objectives, key_results, kpis, ownership, review_cycles,
    ):  # fmt: skip
        app.include_router(module.router)
    app.include_router(kpi_key_results.router)
    app.include_router(people.router)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        response_model=Readiness,
        response_model_exclude_none=True,
        responses={503: {"model": Readiness}},
    )
    def readyz(response: Response) -> Readiness:
        """The store answers; the log's last position and each read model's position and lag;
        each standby's replay lag and positions."""
        found = _readiness(ledger, reads, readiness.ready_max_stall_seconds, response)
        if found.status != "unavailable" and demo_mark():
            return found.model_copy(update={"demo_store": True})
        return found

    @app.get("/metrics", tags=["health"], response_class=PlainTextResponse)
    def metrics() -> str:
        """Log and read-model positions and lag, in the Prometheus text format."""
        try:
            head, found = _read_models(views)
        except PersistenceError:
            head, found = ledger.recorder.max_notification_id() or 0, []
        lines = [
            "# HELP goalpost_log_position The log's last position.",
            "# TYPE goalpost_log_position gauge",
            f"goalpost_log_position {head}",
            "# HELP goalpost_read_model_position The log position a read model reflects.",
            "# TYPE goalpost_read_model_position gauge",
            *(f'goalpost_read_model_position{{read_model="{s.name}"}} {s.position}' for s in found),
            "# HELP goalpost_read_model_lag Positions a read model is behind the log.",
            "# TYPE goalpost_read_model_lag gauge",
            *(f'goalpost_read_model_lag{{read_model="{s.name}"}} {s.lag}' for s in found),
            "# HELP goalpost_read_model_generation A read model's live generation.",
            "# TYPE goalpost_read_model_generation gauge",
            *(
                f'goalpost_read_model_generation{{read_model="{s.name}"}} {s.generation}'
                for s in found
            ),
            *consistency.failure_metrics(found),
            *(standby_metrics(_standbys(reads), head) if reads.standbys else []),
        ]
        return "\n".join(lines) + "\n"

    app.add_middleware(BodyLimit)
    app.add_middleware(DemoStoreHeader, mark=demo_mark)
    return app


def app_from_environment() -> FastAPI:
    """For `uvicorn --factory`: the ledger on the store GOALPOST_DATABASE_URL names.

    On the embedded SQLite store the read models are kept in-process, so `goalpost
    serve` is the whole demo; on PostgreSQL `goalpost worker` runs beside the API.
    """
    ledger = open_ledger()
    try:
        read_ledgers = open_read_ledgers()
    except BaseException:
        ledger.close()
        raise
    app = create_app(
        ledger,
        run_projections=getattr(ledger.recorder, "dialect", None) == "sqlite",
        read_ledgers=read_ledgers,
    )
    heap.settle()
    return app
