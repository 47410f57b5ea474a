"""Webhook delivery: each subscription's events, in log order, signed, at least once.

A dispatcher leases one subscription at a time (see `projections.webhooks`), reads the
feed after the subscription's stored position, and POSTs each matching event as a
CloudEvent, signed per the Standard Webhooks convention. The position advances only
after a 2xx, in the store, so a dispatcher killed at any point resumes where the store
says: an event may be delivered again (same `webhook-id`), never skipped or reordered.
A failure schedules a retry with capped exponential backoff and full jitter; after
`max_failures` failures in a row the subscription is paused until a service resumes it.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import socket
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any, Self
from uuid import UUID

import httpx
from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from standardwebhooks import Webhook as Signer

from application.ledger import GoalLedger
from delivery.cloud_events import GOAL_TOPICS, TOPICS_BY_TYPE
from delivery.destinations import public_only
from delivery.fan_out import NO_TOPIC, FanOut
from delivery.feed import read_page
from storage.subscriptions import Lease, WebhookState, WebhookStore
from storage.views import ViewDatabase
from storage.waker import Waker

log = logging.getLogger("goalpost.webhooks")

CONTENT_TYPE = "application/cloudevents+json"
USER_AGENT = "goalpost-webhooks/1"
MAX_ERROR_BODY = 200
MAX_ANSWER_BYTES = 64 * 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class DispatchSettings(BaseSettings):
    """GOALPOST_WEBHOOK_*: timeouts, leases, retries and pausing of webhook delivery."""

    model_config = SettingsConfigDict(env_prefix="GOALPOST_WEBHOOK_")

    timeout_seconds: float = 5.0
    """Each of connect, send and receive of one delivery."""
    lease_seconds: float = 40.0
    """How long a claimed subscription stays with its dispatcher without a word from it;
    also how long a killed dispatcher's subscriptions wait before another takes them."""
    retry_base_seconds: float = 2.0
    retry_cap_seconds: float = 3600.0
    max_failures: int = 15
    """Failed attempts in a row before the subscription is paused."""
    concurrency: int = 4
    """Subscriptions one dispatcher process delivers to at the same time."""
    poll_seconds: float = 1.0
    """Longest wait for new events or due retries when nothing wakes the dispatcher."""
    batch: int = 100
    """Events read from the feed at a time."""
    max_per_claim: int = 1000
    """Events one claim handles before the subscription goes back in line (fairness)."""
    allow_private: bool = False
    """Deliver to private, loopback and link-local addresses too (api/destinations.py)."""
    fan_out: bool = True
    """Move subscriptions past the events they do not match in bulk, from an index of
    their filters (ADR 43); off, each subscription walks every event itself."""

    @model_validator(mode="after")
    def _lease_outlasts_a_delivery(self) -> Self:
        if min(self.timeout_seconds, self.retry_base_seconds, self.poll_seconds) <= 0:
            raise ValueError("timeouts, retry base and poll interval must be positive")
        if self.lease_seconds <= 2 * self.request_budget:
            raise ValueError(
                "GOALPOST_WEBHOOK_LEASE_SECONDS must exceed six times the timeout, "
                "so a delivery always ends while its lease holds"
            )
        if self.max_failures < 1 or self.concurrency < 1 or self.batch < 1:
            raise ValueError("max_failures, concurrency and batch must be at least 1")
        return self

    @property
    def request_budget(self) -> float:
        """The longest one delivery may take: connect, send and receive each time out."""
        return 3 * self.timeout_seconds


def backoff(failures: int, base: float, cap: float) -> float:
    """Seconds before the next attempt after `failures` in a row: full jitter, capped."""
    ceiling = min(cap, base * 2 ** min(failures - 1, 62))
    return random.uniform(0, ceiling)


def signed_headers(secret: str, message_id: str, body: str, moment: float) -> dict[str, str]:
    """Standard Webhooks headers for one message; `moment` is a Unix time."""
    seconds = int(moment)
    signature = Signer(secret).sign(message_id, datetime.fromtimestamp(seconds, UTC), body)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(seconds),
        "webhook-signature": signature,
    }


class _Scopes:
    """Each goal's owner and cycle, from its first event; both are fixed at creation."""

    def __init__(self, ledger: GoalLedger, maxsize: int = 50_000) -> None:
        self._ledger = ledger
        self._maxsize = maxsize
        self._cache: OrderedDict[UUID, tuple[str | None, str | None]] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, goal_id: UUID) -> tuple[str | None, str | None]:
        with self._lock:
            cached = self._cache.get(goal_id)
        if cached is not None:
            return cached
        stored = self._ledger.recorder.select_events(goal_id, lte=1, limit=1)
        scope: tuple[str | None, str | None] = (None, None)
        if stored:
            created = self._ledger.mapper.to_domain_event(stored[0])
            owner = getattr(created, "owner", None)
            # A cycle's own events belong to that cycle.
            cycle = getattr(created, "cycle_id", None) or getattr(created, "key", None)
            scope = (owner, cycle)
        with self._lock:
            self._cache[goal_id] = scope
            while len(self._cache) > self._maxsize:
                self._cache.popitem(last=False)
        return scope


class _Signal:
    """Wakes idle delivery threads when the log grows (or on stop)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.generation = 0

    def pulse(self) -> None:
        with self._condition:
            self.generation += 1
            self._condition.notify_all()

    def wait(self, seen: int, timeout: float) -> None:
        with self._condition:
            self._condition.wait_for(lambda: self.generation != seen, timeout)


class _Outcome:
    def __init__(
        self, ok: bool, error: str = "", *, status: int | None = None, gone: bool = False
    ) -> None:
        self.ok = ok
        self.error = error
        # The receiver's HTTP status; None where no answer came (refused, timed out).
        self.status = status
        self.gone = gone


class WebhookDispatcher:
    """Delivers goal events to webhook subscribers; safe to run in several processes."""

    def __init__(
        self,
        ledger: GoalLedger,
        settings: DispatchSettings | None = None,
        *,
        client: httpx.Client | None = None,
    ) -> None:
        self.ledger = ledger
        self.settings = settings or DispatchSettings()
        self.store = WebhookStore(ViewDatabase(ledger))
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self._scopes = _Scopes(ledger)
        self._fan_out = FanOut(ledger, self.store, self._scopes.of)
        # What the last fan-out found wanted, claimed first; and whether it is done moving
        # the rest (until then, a claim of anything else may take one it is moving).
        self._matched: frozenset[UUID] = frozenset()
        self._matched_lock = threading.Lock()
        self._moved = threading.Event()
        self._moved.set()
        self._own_client = client is None
        timeout = self.settings.timeout_seconds
        transport = httpx.HTTPTransport(
            limits=httpx.Limits(max_connections=2 * self.settings.concurrency),
            # Headers and body go out in two writes: without this, a kept-alive
            # connection waits on the receiver's delayed ACK before the body.
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )
        if not self.settings.allow_private:
            transport = public_only(transport)
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            # Deliveries go where the subscription says, never through an environment proxy.
            trust_env=False,
            headers={"user-agent": USER_AGENT},
            transport=transport,
        )

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    # Rounds

    def run_once(self, stop: threading.Event | None = None) -> int:
        """Each subscription that is due, once, until caught up or failing; events delivered."""
        stop = stop or threading.Event()
        self.store.ensure_tables()
        self.fan_out()
        round_started = self.store.clock.now()
        delivered = 0
        while not stop.is_set():
            worked = self._claim_and_work(stop, claimed_before=round_started)
            if worked is None:
                break
            delivered += worked
        return delivered

    def run_forever(self, stop: threading.Event) -> None:
        """Deliver until `stop` is set; wakes on new events (NOTIFY on PostgreSQL) or polls."""
        self.store.ensure_tables()
        signal = _Signal()
        threads = [
            threading.Thread(
                target=self._deliver_loop, args=(stop, signal), name=f"webhooks-{n}", daemon=True
            )
            for n in range(self.settings.concurrency)
        ]
        for thread in threads:
            thread.start()
        waker = Waker(self.ledger.recorder)
        try:
            while not stop.is_set():
                # Listening before the threads look again: nothing stored after their look
                # goes unnoticed, even after the LISTEN connection was lost and remade.
                waker.listen()
                self.fan_out(signal)
                signal.pulse()
                waker.wait(self.settings.poll_seconds, stop)
        finally:
            waker.close()
            signal.pulse()
            for thread in threads:
                thread.join()

    def fan_out(self, signal: _Signal | None = None) -> int:
        """Move subscriptions past new events they do not match; how many moved. The
        delivery threads are woken for the matching ones before the others are moved."""
        if not self.settings.fan_out:
            return 0

        def found(matched: frozenset[UUID]) -> None:
            with self._matched_lock:
                self._matched = matched
            if signal is not None:
                signal.pulse()

        self._moved.clear()
        try:
            return self._fan_out.route(on_matched=found)
        except Exception:
            # The subscriptions still walk the log on their own, only slower.
            log.exception("webhook fan-out failed; subscriptions walk the log meanwhile")
            return 0
        finally:
            self._moved.set()

    def _claim(self, head: int, claimed_before: datetime | None) -> Lease | None:
        """A subscription the last fan-out found wanted; else, once the fan-out has moved
        the others, any that is due."""
        settings = self.settings
        matched = self._matched
        if matched:
            lease = self.store.claim(
                self.holder, head, settings.lease_seconds, claimed_before, among=matched
            )
            if lease is not None:
                return lease
            with self._matched_lock:
                if self._matched is matched:
                    self._matched = frozenset()
        if not self._moved.wait(settings.poll_seconds):
            return None
        return self.store.claim(self.holder, head, settings.lease_seconds, claimed_before)

    def _deliver_loop(self, stop: threading.Event, signal: _Signal) -> None:
        while not stop.is_set():
            seen = signal.generation
            try:
                worked = self._claim_and_work(stop)
            except Exception:
                log.exception("webhook delivery round failed; trying again after a pause")
                stop.wait(self.settings.poll_seconds)
                continue
            if worked is None:
                signal.wait(seen, self.settings.poll_seconds)

    def _claim_and_work(
        self, stop: threading.Event, claimed_before: datetime | None = None
    ) -> int | None:
        """Work one claimed subscription; None when none was due."""
        head = self.ledger.recorder.max_notification_id() or 0
        lease = self._claim(head, claimed_before)
        if lease is None:
            return None
        try:
            delivered = self._work(lease, stop)
        except BaseException:
            # Let another dispatcher (or this one) take it again without waiting the lease out.
            try:
                self.store.release(lease)
            except Exception:
                log.exception("could not release webhook %s", lease.webhook.id)
            raise
        if delivered and lease.webhook.last_error is not None:
            # The failures logged before are over: say so once, as the error is cleared.
            log.info(
                "webhook %s: %d events delivered after failed attempts; last_error cleared",
                lease.webhook.id,
                delivered,
            )
        return delivered

    # One subscription

    def _work(self, lease: Lease, stop: threading.Event) -> int:
        """Deliver in order from the stored position; stops at a failure or a lost lease."""
        webhook = lease.webhook
        topics = (
            [TOPICS_BY_TYPE.get(t, NO_TOPIC) for t in webhook.event_types]
            if webhook.event_types
            else GOAL_TOPICS
        )
        position = webhook.position
        handled = delivered = 0
        settings = self.settings
        current: Lease | None = lease
        while current is not None and handled < settings.max_per_claim and not stop.is_set():
            page = read_page(self.ledger, position, settings.batch, topics)
            for event in page.events:
                if stop.is_set():
                    break
                handled += 1
                if not self._wanted(webhook.owner, webhook.cycle_id, event):
                    continue
                if current.expires - time.monotonic() < 2 * settings.request_budget:
                    current = self.store.renew(current, settings.lease_seconds)
                    if current is None:
                        return delivered
                outcome = self._post(webhook.url, webhook.secret, event)
                if not outcome.ok:
                    self._failed(current, outcome, event["position"])
                    return delivered
                current = self.store.delivered(current, event["position"], settings.lease_seconds)
                if current is None:
                    # Taken over or deleted: the new holder resumes from the stored position.
                    return delivered
                position = event["position"]
                delivered += 1
            else:
                if page.next_after > position:
                    current = self.store.skipped(current, page.next_after, settings.lease_seconds)
                    position = page.next_after
                if not page.events:
                    break
                continue
            break  # stopping mid-page
        if current is not None:
            self.store.release(current)
        return delivered

    def _wanted(self, owner: str | None, cycle_id: str | None, event: dict[str, Any]) -> bool:
        if owner is None and cycle_id is None:
            return True
        goal_id = UUID(str(event["id"]).rsplit(":", 1)[0])
        goal_owner, goal_cycle = self._scopes.of(goal_id)
        return (owner is None or goal_owner == owner) and (
            cycle_id is None or goal_cycle == cycle_id
        )

    def _post(self, url: str, secret: str, event: dict[str, Any]) -> _Outcome:
        body = json.dumps(event, separators=(",", ":"))
        headers = signed_headers(secret, str(event["id"]), body, time.time())
        headers["content-type"] = CONTENT_TYPE
        try:
            with self.client.stream("POST", url, content=body.encode(), headers=headers) as reply:
                # A short answer is read to its end, so the connection is kept for the next.
                excerpt = b""
                for chunk in reply.iter_bytes():
                    excerpt += chunk
                    if len(excerpt) > MAX_ANSWER_BYTES:
                        break
                if 200 <= reply.status_code < 300:
                    return _Outcome(True, status=reply.status_code)
                text = excerpt[:MAX_ERROR_BODY].decode("utf-8", "replace").strip()
                error = f"HTTP {reply.status_code}" + (f": {text}" if text else "")
                if 300 <= reply.status_code < 400:
                    error += " (redirects are not followed)"
                # 410 Gone: the receiver says this endpoint is no more (Standard Webhooks).
                return _Outcome(
                    False, error, status=reply.status_code, gone=reply.status_code == 410
                )
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            return _Outcome(False, f"{type(error).__name__}: {error}".rstrip(": "))

    def _failed(self, lease: Lease, outcome: _Outcome, position: int) -> None:
        """Record the failed attempt, and log it: subscription, status, event, what next."""
        settings = self.settings
        failures = lease.webhook.attempts + 1
        retry_in = backoff(failures, settings.retry_base_seconds, settings.retry_cap_seconds)
        # The store schedules the retry on the same clock, a moment later.
        retry_at = self.store.clock.now() + timedelta(seconds=retry_in)
        state = self.store.failed(
            lease, outcome.error, retry_in, settings.max_failures, pause_now=outcome.gone
        )
        status = "no HTTP status" if outcome.status is None else f"status {outcome.status}"
        # The error quotes the receiver's answer: its control characters must not forge
        # log lines or drive the operator's terminal.
        error = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", outcome.error)
        attempt = (
            f"webhook {lease.webhook.id}: attempt {failures} failed "
            f"({status}, event {position}): {error}"
        )
        if state is WebhookState.PAUSED:
            why = "410 Gone" if outcome.gone else f"{failures} failed attempts in a row"
            log.warning("%s; paused after %s until a service resumes it", attempt, why)
        elif state is not None:
            log.warning("%s; next attempt at %s (in %.1f s)", attempt, utc_text(retry_at), retry_in)
        else:
            # Deleted, or its lease ran out and another dispatcher holds it now.
            log.warning("%s; no longer ours, no retry scheduled here", attempt)


def utc_text(moment: datetime) -> str:
    """A time as the API writes it (UTC, `Z`), to the millisecond, for the log."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
