"""`goalpost serve`: the HTTP API on the store GOALPOST_DATABASE_URL names."""

from __future__ import annotations

import asyncio
import socket
from typing import Annotated

import typer
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from application.demo_store import is_demo_store
from application.stores import open_ledger
from cli.common import CommandLineError, database_url, describe_store, user_errors
from storage.reach import check_store
from storage.settings import Settings, read_database_urls


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with Nagle's algorithm off on every connection.

    With several workers uvicorn binds the listening socket itself with protocol 0,
    and asyncio only turns on TCP_NODELAY for sockets whose protocol is IPPROTO_TCP;
    each keep-alive response then waited ~40 ms for the client's delayed ACK
    (uvicorn issue #3149).
    """

    # Narrowed to Transport as uvicorn's own H11Protocol narrows it (asyncio passes one).
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL only).")] = 1,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs) on the store GOALPOST_DATABASE_URL names.

    On the embedded SQLite store the read models are kept up to date in this process;
    on PostgreSQL run `goalpost worker` beside it.

    Example: goalpost serve --port 8080
    """
    with user_errors():
        url = database_url()
        if workers > 1 and url.startswith("sqlite"):
            raise CommandLineError("several workers need PostgreSQL; SQLite is single-process")
        # Each worker process opens the store again; a wrong setting fails here, once.
        check_store(url)
        # The standbys reads go to (ADR 31), likewise: named right and answering.
        standbys = read_database_urls(url, Settings().read_database_url)
        for standby in standbys:
            check_store(standby)
        typer.echo(f"Serving {describe_store(url)} on http://{host}:{port} (docs at /docs)")
        if store_is_demo(url):
            typer.echo("This is a demo store: its story carries past record times (ADR 44).")
        for number, standby in enumerate(standbys, start=1):
            typer.echo(f"Reading from standby-{number}: {describe_store(standby)}")
    uvicorn.run(
        "api.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=NoDelayH11Protocol,
        log_level="info",
    )


def store_is_demo(url: str) -> bool:
    ledger = open_ledger(url)
    try:
        return is_demo_store(ledger)
    finally:
        ledger.close()
