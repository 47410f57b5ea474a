"""What `goalpost dispatch` tells the operator when deliveries fail, and when they recover.

Each failed attempt is a log line naming the subscription, the receiver's status (or that
none came), the event, and when the next attempt is due; the first delivery after failures
says the error is cleared, and the subscription's `last_error` is cleared with it.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
from datetime import datetime

import httpx
import pytest

from application.ledger import GoalLedger
from delivery.dispatcher import WebhookDispatcher
from tests.integration.test_webhooks import FAST, Quarter, fast_settings, subscribe
from tests.webhook_receiver import receiving

CLI = "from cli.main import app; app()"
NEXT_AT = re.compile(r"next attempt at (\S+) \(in ([0-9.]+) s\)")


def test_each_failed_attempt_is_logged_with_status_event_and_when_the_next_is_due(
    ledger: GoalLedger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="goalpost.webhooks")
    with receiving() as receiver:
        # The receiver is down.
        receiver.status = lambda _path: 503
        Quarter(ledger)
        store, webhook = subscribe(ledger, receiver.url("/down"))
        dispatcher = WebhookDispatcher(ledger, fast_settings(max_failures=5))
        try:
            dispatcher.run_once()
            failing = store.get(webhook.id)
            assert failing is not None and failing.next_attempt_at is not None
            event = receiver.received()[0].position
            lines = [r.getMessage() for r in caplog.records if str(webhook.id) in r.getMessage()]
            assert len(lines) == 1
            assert lines[0].startswith(
                f"webhook {webhook.id}: attempt 1 failed (status 503, event {event}): HTTP 503"
            )
            # The next attempt's time, in the API's form, is the one the subscription shows.
            found = NEXT_AT.search(lines[0])
            assert found is not None, lines[0]
            assert found.group(1).endswith("Z")
            logged_at = datetime.fromisoformat(found.group(1))
            assert abs((logged_at - failing.next_attempt_at).total_seconds()) < 1.0

            # The receiver is back: the next delivery clears the error, and the log says so.
            receiver.status = lambda _path: 204
            store.resume(webhook.id)  # due now, rather than after the backoff
            delivered = dispatcher.run_once()
        finally:
            dispatcher.close()
    assert delivered > 0
    recovered = store.get(webhook.id)
    assert recovered is not None and recovered.last_error is None and recovered.attempts == 0
    lines = [r.getMessage() for r in caplog.records if str(webhook.id) in r.getMessage()]
    assert lines[-1] == (
        f"webhook {webhook.id}: {delivered} events delivered after failed attempts; "
        "last_error cleared"
    )


def test_a_receiver_that_never_answers_is_logged_without_a_status(
    ledger: GoalLedger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="goalpost.webhooks")
    # A port nothing listens on: the connection is refused, no HTTP status comes back.
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    Quarter(ledger)
    store, webhook = subscribe(ledger, f"http://127.0.0.1:{port}/hook")
    dispatcher = WebhookDispatcher(ledger, fast_settings())
    try:
        dispatcher.run_once()
    finally:
        dispatcher.close()
    lines = [r.getMessage() for r in caplog.records if str(webhook.id) in r.getMessage()]
    assert len(lines) == 1
    assert f"webhook {webhook.id}: attempt 1 failed (no HTTP status, event " in lines[0]
    assert "ConnectError" in lines[0] and NEXT_AT.search(lines[0])
    failing = store.get(webhook.id)
    assert failing is not None and (failing.last_error or "").startswith("ConnectError")


def test_a_receivers_answer_cannot_forge_log_lines(
    ledger: GoalLedger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="goalpost.webhooks")

    def forging(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text="oops\n2026-11-30 INFO webhook all fine\x1b[2J")

    Quarter(ledger)
    _, webhook = subscribe(ledger, "http://receiver.example/hook")
    client = httpx.Client(transport=httpx.MockTransport(forging))
    dispatcher = WebhookDispatcher(ledger, fast_settings(), client=client)
    try:
        dispatcher.run_once()
    finally:
        client.close()
    (line,) = [r.getMessage() for r in caplog.records if str(webhook.id) in r.getMessage()]
    assert "\n" not in line and "\x1b" not in line
    assert "HTTP 500: oops\\x0a2026-11-30 INFO webhook all fine\\x1b[2J; next attempt" in line


def test_goalpost_dispatch_prints_failed_attempts_and_the_recovery_on_stderr(
    ledger: GoalLedger, store_url: str
) -> None:
    env = {**os.environ, "GOALPOST_DATABASE_URL": store_url, **FAST}
    with receiving() as receiver:
        receiver.status = lambda _path: 500
        Quarter(ledger)
        store, webhook = subscribe(ledger, receiver.url("/flaky"))

        # The operator runs the dispatcher once while the receiver fails.
        failed = subprocess.run(
            [sys.executable, "-c", CLI, "dispatch", "--once"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert failed.returncode == 0, failed.stderr
        assert "Delivered 0 events" in failed.stdout
        assert re.search(
            rf"WARNING webhook {webhook.id}: attempt 1 failed \(status 500, event \d+\): "
            r"HTTP 500[^;\n]*; next attempt at \S+Z \(in [0-9.]+ s\)$",
            failed.stderr,
            re.MULTILINE,
        ), failed.stderr

        # Fixed, and run again once the retry is due: everything arrives, the error clears.
        receiver.status = lambda _path: 204
        store.resume(webhook.id)
        again = subprocess.run(
            [sys.executable, "-c", CLI, "dispatch", "--once"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert again.returncode == 0, again.stderr
    delivered = int(re.findall(r"Delivered (\d+) events", again.stdout)[0])
    assert delivered > 0
    assert (
        f"INFO webhook {webhook.id}: {delivered} events delivered after failed attempts; "
        "last_error cleared"
    ) in again.stderr
    current = store.get(webhook.id)
    assert current is not None and current.last_error is None
