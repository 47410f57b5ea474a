"""A webhook receiver for tests and the bench: a real HTTP server on 127.0.0.1 only.

It records every request (path, headers, raw body, arrival time) in arrival order, can be
slow or failing on purpose, and counts requests in flight per path, so tests can see
whether two deliveries to one subscription ever overlapped.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook

LOCALHOST = "127.0.0.1"


@dataclass(frozen=True)
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    arrived: float  # time.time()
    status: int

    @property
    def event(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def position(self) -> int:
        return int(self.event["position"])

    def verify(self, secret: str) -> dict[str, Any]:
        """The payload, if the signature holds under `secret` (the library raises otherwise)."""
        verified: dict[str, Any] = Webhook(secret).verify(self.body, self.headers)
        return verified


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A dispatcher killed mid-request, or closing an idle keep-alive connection.
        pass


class Receiver:
    """Answers `status(path)` (200 unless told otherwise) after `delay` seconds."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.status: Callable[[str], int] = lambda _path: 200
        self.deliveries: list[Delivery] = []
        self.max_in_flight: dict[str, int] = defaultdict(int)
        self._in_flight: dict[str, int] = defaultdict(int)
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body are two writes; Nagle would hold the body for an ACK.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                path = self.path
                with receiver._changed:
                    receiver._in_flight[path] += 1
                    receiver.max_in_flight[path] = max(
                        receiver.max_in_flight[path], receiver._in_flight[path]
                    )
                try:
                    body = self.rfile.read(int(self.headers.get("content-length", "0")))
                    status = receiver.status(path)
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    with receiver._changed:
                        receiver.deliveries.append(
                            Delivery(path, headers, body, time.time(), status)
                        )
                        receiver._changed.notify_all()
                    if receiver.delay:
                        time.sleep(receiver.delay)
                    answer = b"ok" if status < 300 else b"receiver says no"
                    if status in (204, 304):
                        answer = b""  # these answers have no body
                    self.send_response(status)
                    self.send_header("content-length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                finally:
                    with receiver._changed:
                        receiver._in_flight[path] -= 1

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = _QuietServer((LOCALHOST, 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://{LOCALHOST}:{self.port}{path}"

    def received(self, path: str | None = None) -> list[Delivery]:
        with self._changed:
            return [d for d in self.deliveries if path is None or d.path == path]

    def wait_until(self, condition: Callable[[list[Delivery]], bool], timeout: float) -> bool:
        """Wait for deliveries to satisfy `condition`; False if the time ran out first."""
        with self._changed:
            return self._changed.wait_for(lambda: condition(list(self.deliveries)), timeout)

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def receiving(delay: float = 0.0) -> Iterator[Receiver]:
    receiver = Receiver(delay).start()
    try:
        yield receiver
    finally:
        receiver.stop()
