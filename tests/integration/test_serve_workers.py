"""`goalpost serve --workers N` answers keep-alive requests without Nagle's delay."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.conftest import PG_HOST

# A response held back for the client's delayed ACK takes ~40 ms; one sent at once
# takes well under a millisecond here, so this leaves room for a loaded machine.
KEEP_ALIVE_MEDIAN_CEILING = 0.015


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((PG_HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(url: str, workers: int, log: Path) -> Iterator[httpx.Client]:
    """`goalpost serve` in its own process group, stopped (children too) whatever happens."""
    port = _free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                *(sys.executable, "-c", "from cli.main import app; app()", "serve"),
                *("--host", PG_HOST, "--port", str(port), "--workers", str(workers)),
            ],
            env={**os.environ, "GOALPOST_DATABASE_URL": url},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        with httpx.Client(base_url=f"http://{PG_HOST}:{port}", timeout=10) as client:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, log.read_text()
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            yield client
    finally:
        # uvicorn's supervisor stops its workers on SIGINT; the group kill is the backstop.
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.mark.postgres
def test_keep_alive_requests_to_several_workers_are_not_held_for_the_delayed_ack(
    pg_url: str, tmp_path: Path
) -> None:
    initialised = CliRunner().invoke(app, ["db", "init"], env={"GOALPOST_DATABASE_URL": pg_url})
    assert initialised.exit_code == 0, initialised.output
    with serving(pg_url, workers=2, log=tmp_path / "serve.log") as client:
        seconds = []
        # One client, one connection: each request rides the previous one's socket.
        for _ in range(20):
            started = time.perf_counter()
            assert client.get("/healthz").status_code == 200
            seconds.append(time.perf_counter() - started)
    assert statistics.median(seconds) < KEEP_ALIVE_MEDIAN_CEILING, seconds
