"""Telling clients they are reading a demo store (ADR 44): a header on every response.

Whether a store is a demo store can change only while it is empty (it is marked before its
first event, and the mark is never removed), so once the store holds history the answer is
final and each process keeps it instead of asking the store again.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from application.demo_store import is_demo_store
from application.ledger import GoalLedger

DEMO_HEADER = b"goalpost-demo-store"


class DemoStoreMark:
    """Whether the ledger's store is a demo store; asked of the store until it is final."""

    def __init__(self, ledger: GoalLedger) -> None:
        self.ledger = ledger
        self.final: bool | None = None

    def __call__(self) -> bool:
        if self.final is not None:
            return self.final
        try:
            demo = is_demo_store(self.ledger)
            if demo or (self.ledger.recorder.max_notification_id() or 0) > 0:
                self.final = demo
        except Exception:  # a store that does not answer is no demo store for this response
            return False
        return demo


class DemoStoreHeader:
    """Adds `Goalpost-Demo-Store: true` to every response from a demo store."""

    def __init__(self, app: ASGIApp, mark: DemoStoreMark) -> None:
        self.app = app
        self.mark = mark

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        demo = self.mark.final
        if demo is None:
            demo = await run_in_threadpool(self.mark)
        if not demo:
            await self.app(scope, receive, send)
            return

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (DEMO_HEADER, b"true")]
            await send(message)

        await self.app(scope, receive, marked)
