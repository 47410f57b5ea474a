"""Webhook subscriptions and their delivery state, on the ledger's own store.

Subscriptions are operational configuration that holds signing secrets and changes in
place (paused, resumed, deleted), so they are a mutable table beside the read models,
not events. Each has one delivery row: its position in the log (the last event it was
sent, or skipped as not matching), its failures, and the lease a dispatcher holds while
it delivers. A lease is taken with one conditional UPDATE, so two dispatchers never
deliver one subscription at the same time; every later write of the holder names the
lease token it got, so a holder whose lease was taken over writes nothing.

Times that leases and retries compare are the database's clock on PostgreSQL (several
hosts, one clock), read once a minute and advanced with the local monotonic clock.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError, PersistenceError

from domain.errors import IdempotencyKeyReusedError
from storage.requests import IdempotentRequest
from storage.views import ViewDatabase, ViewTransaction

CLOCK_RESYNC_SECONDS = 60.0
MAX_ERROR_CHARS = 500

TABLES = (
    "CREATE TABLE IF NOT EXISTS {webhooks} ("
    " id {uuid} PRIMARY KEY,"
    " created_by {text} NOT NULL,"
    " created_at {time} NOT NULL,"
    " url {text} NOT NULL,"
    " secret {text} NOT NULL,"
    " event_types {json} NOT NULL,"
    " owner {text},"
    " cycle_id {text},"
    " idempotency_key {text},"
    " request_fingerprint {text})",
    # NULL keys never clash, so requests without Idempotency-Key are never refused.
    "CREATE UNIQUE INDEX IF NOT EXISTS goalpost_webhooks_request"
    " ON {webhooks} (created_by, idempotency_key)",
    "CREATE TABLE IF NOT EXISTS {webhook_deliveries} ("
    " webhook_id {uuid} PRIMARY KEY REFERENCES {webhooks} (id),"
    " position {int} NOT NULL,"
    " state {text} NOT NULL,"
    " attempts {int} NOT NULL,"
    " delivered {int} NOT NULL,"
    " last_error {text},"
    " last_attempt_at {time},"
    " next_attempt_at {time},"
    " last_delivered_at {time},"
    " paused_at {time},"
    " claimed_at {time} NOT NULL,"
    " leased_by {text},"
    " leased_until {time})",
)


class WebhookState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


@dataclass(frozen=True)
class WebhookSpec:
    """What a service asks for; validated by the API before it gets here."""

    created_by: str
    url: str
    secret: str
    event_types: list[str]
    owner: str | None
    cycle_id: str | None
    position: int


@dataclass(frozen=True)
class Webhook:
    """One subscription with its delivery state."""

    id: UUID
    created_by: str
    created_at: datetime
    url: str
    secret: str
    event_types: list[str]
    owner: str | None
    cycle_id: str | None
    position: int
    state: WebhookState
    attempts: int
    delivered: int
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    last_delivered_at: datetime | None
    paused_at: datetime | None
    leased_until: datetime | None


@dataclass(frozen=True)
class Lease:
    """A subscription claimed for delivery: only the holder of `token` writes its state."""

    webhook: Webhook
    token: str
    expires: float  # time.monotonic() by which the lease has surely not run out


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _json_list(value: Any) -> list[str]:
    loaded = json.loads(value) if isinstance(value, str) else value
    return [str(v) for v in loaded]


def _webhook(row: dict[str, Any]) -> Webhook:
    created_at = _time(row["created_at"])
    assert created_at is not None  # NOT NULL column
    return Webhook(
        id=_uuid(row["id"]),
        created_by=row["created_by"],
        created_at=created_at,
        url=row["url"],
        secret=row["secret"],
        event_types=_json_list(row["event_types"]),
        owner=row["owner"],
        cycle_id=row["cycle_id"],
        position=int(row["position"]),
        state=WebhookState(row["state"]),
        attempts=int(row["attempts"]),
        delivered=int(row["delivered"]),
        last_error=row["last_error"],
        last_attempt_at=_time(row["last_attempt_at"]),
        next_attempt_at=_time(row["next_attempt_at"]),
        last_delivered_at=_time(row["last_delivered_at"]),
        paused_at=_time(row["paused_at"]),
        leased_until=_time(row["leased_until"]),
    )


_SELECT = (
    "SELECT w.id, w.created_by, w.created_at, w.url, w.secret, w.event_types, w.owner,"
    " w.cycle_id, d.position, d.state, d.attempts, d.delivered, d.last_error,"
    " d.last_attempt_at, d.next_attempt_at, d.last_delivered_at, d.paused_at, d.leased_until"
    " FROM {webhooks} w JOIN {webhook_deliveries} d ON d.webhook_id = w.id"
)
_INSERT_WEBHOOK = (
    "INSERT INTO {webhooks} (id, created_by, created_at, url, secret, event_types, owner,"
    " cycle_id, idempotency_key, request_fingerprint)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_INSERT_DELIVERY = (
    "INSERT INTO {webhook_deliveries} (webhook_id, position, state, attempts, delivered,"
    " claimed_at) VALUES (%s, %s, 'active', 0, 0, %s)"
)
# The oldest-claimed subscription that is active, due, unleased and behind the log.
# `claimed_at < %s` lets one round of `run_once` take each subscription at most once.
_CLAIM = (
    "UPDATE {webhook_deliveries} SET leased_by = %s, leased_until = %s, claimed_at = %s"
    " WHERE webhook_id = (SELECT webhook_id FROM {webhook_deliveries}"
    "  WHERE state = 'active' AND position < %s AND claimed_at < %s"
    "  AND (next_attempt_at IS NULL OR next_attempt_at <= %s)"
    "  AND (leased_until IS NULL OR leased_until < %s){only}"
    "  ORDER BY claimed_at LIMIT 1{lock})"
    # Checked again on the row itself: the loser of a race updates nothing.
    " AND (leased_until IS NULL OR leased_until < %s)"
    " RETURNING webhook_id"
)
_RENEW = (
    "UPDATE {webhook_deliveries} SET leased_until = %s"
    " WHERE webhook_id = %s AND leased_by = %s RETURNING webhook_id"
)
_DELIVERED = (
    "UPDATE {webhook_deliveries} SET position = %s, attempts = 0, next_attempt_at = NULL,"
    " last_error = NULL, delivered = delivered + 1, last_delivered_at = %s, last_attempt_at = %s,"
    " leased_until = %s"
    " WHERE webhook_id = %s AND leased_by = %s AND position < %s RETURNING webhook_id"
)
# The fan-out (ADR 43) may have moved the position past these events already: the lease
# still holds then, and the position never goes back.
_SKIPPED = (
    "UPDATE {webhook_deliveries} SET leased_until = %s,"
    " position = CASE WHEN position < %s THEN %s ELSE position END"
    " WHERE webhook_id = %s AND leased_by = %s RETURNING webhook_id"
)
_FAILED = (
    "UPDATE {webhook_deliveries} SET attempts = attempts + 1, last_error = %s,"
    " last_attempt_at = %s,"
    " state = CASE WHEN %s OR attempts + 1 >= %s THEN 'paused' ELSE state END,"
    " paused_at = CASE WHEN %s OR attempts + 1 >= %s THEN %s ELSE paused_at END,"
    " next_attempt_at = CASE WHEN %s OR attempts + 1 >= %s THEN NULL ELSE %s END,"
    " leased_by = NULL, leased_until = NULL"
    " WHERE webhook_id = %s AND leased_by = %s RETURNING attempts, state"
)
_RELEASE = (
    "UPDATE {webhook_deliveries} SET leased_by = NULL, leased_until = NULL"
    " WHERE webhook_id = %s AND leased_by = %s"
)
_RESUME = (
    "UPDATE {webhook_deliveries} SET state = 'active', attempts = 0, next_attempt_at = NULL,"
    " paused_at = NULL WHERE webhook_id = %s RETURNING webhook_id"
)


def create_tables(database: ViewDatabase) -> None:
    """Create the webhook tables if they are missing; safe to run again, from any process."""
    try:
        _create(database)
    except PersistenceError:
        # Two processes creating at once can clash in PostgreSQL's catalog; the loser
        # finds the tables there on its second try.
        _create(database)


def _create(database: ViewDatabase) -> None:
    # These tables are never rebuilt from the log, so they have no generations to resolve.
    with database.bare_transaction() as tx:
        for statement in TABLES:
            tx.execute(statement)


class _Clock:
    """The database's clock on PostgreSQL, UTC here on SQLite (one host, one file)."""

    def __init__(self, database: ViewDatabase) -> None:
        self._database = database
        self._reference: tuple[datetime, float] | None = None

    def now(self) -> datetime:
        if self._database.dialect != "postgresql":
            return datetime.now(UTC)
        reference = self._reference
        if reference is None or time.monotonic() - reference[1] > CLOCK_RESYNC_SECONDS:
            before = time.monotonic()
            with self._database.bare_transaction() as tx:
                row = tx.query("SELECT clock_timestamp() AS now")[0]
            after = time.monotonic()
            reference = (row["now"], (before + after) / 2)
            self._reference = reference
        return reference[0] + timedelta(seconds=time.monotonic() - reference[1])


class WebhookStore:
    """Subscriptions and delivery state; creates its tables on first use."""

    def __init__(self, database: ViewDatabase) -> None:
        self.database = database
        self.clock = _Clock(database)
        self._ready = False
        self._lock = threading.Lock()
        claim = _CLAIM.replace(
            "{lock}", " FOR UPDATE SKIP LOCKED" if database.dialect == "postgresql" else ""
        )
        self._claim = claim.replace("{only}", "")
        # Among given subscriptions only (ADR 43), named by one array or JSON parameter.
        self._claim_only = claim.replace(
            "{only}",
            " AND webhook_id = ANY(%s::uuid[])"
            if database.dialect == "postgresql"
            else " AND webhook_id IN (SELECT value FROM json_each(%s))",
        )

    def ensure_tables(self) -> None:
        if self._ready:
            return
        with self._lock:
            if not self._ready:
                create_tables(self.database)
                self._ready = True

    # These tables have one generation only (they are never rebuilt from the log), so
    # their statements skip resolving read-model generations: one round trip each.

    def _query(self, template: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return self._write(template, params)

    def _write(
        self, template: str, params: Sequence[Any], *, durable: bool = True
    ) -> list[dict[str, Any]]:
        self.ensure_tables()
        with self.database.bare_transaction() as tx:
            if not durable and self.database.dialect == "postgresql":
                tx.execute("SET LOCAL synchronous_commit TO OFF")
            return tx.query(template, params)

    # What the API does

    def add(self, spec: WebhookSpec, request: IdempotentRequest | None = None) -> Webhook:
        """Store a new subscription; a retried request returns the one it made first."""
        if request is not None:
            found = self._replay(request)
            if found is not None:
                return found
        webhook_id = uuid4()
        now = self.clock.now()
        try:
            self.ensure_tables()
            with self.database.bare_transaction() as tx:
                self._insert(tx, webhook_id, spec, now, request)
        except IntegrityError:
            # The same Idempotency-Key, stored by a concurrent request a moment ago.
            found = self._replay(request) if request is not None else None
            if found is None:
                raise
            return found
        created = self.get(webhook_id)
        assert created is not None  # just committed
        return created

    def _insert(
        self,
        tx: ViewTransaction,
        webhook_id: UUID,
        spec: WebhookSpec,
        now: datetime,
        request: IdempotentRequest | None,
    ) -> None:
        tx.execute(
            _INSERT_WEBHOOK,
            (
                webhook_id,
                spec.created_by,
                now,
                spec.url,
                spec.secret,
                list(spec.event_types),
                spec.owner,
                spec.cycle_id,
                request.key if request else None,
                request.fingerprint if request else None,
            ),
        )
        tx.execute(_INSERT_DELIVERY, (webhook_id, spec.position, now))

    def _replay(self, request: IdempotentRequest) -> Webhook | None:
        rows = self._query(
            "SELECT id, request_fingerprint FROM {webhooks}"
            " WHERE created_by = %s AND idempotency_key = %s",
            (request.actor, request.key),
        )
        if not rows:
            return None
        if rows[0]["request_fingerprint"] != request.fingerprint:
            raise IdempotencyKeyReusedError(
                "this Idempotency-Key was used for a different request", field="Idempotency-Key"
            )
        return self.get(_uuid(rows[0]["id"]))

    def get(self, webhook_id: UUID) -> Webhook | None:
        rows = self._query(_SELECT + " WHERE w.id = %s", (webhook_id,))
        return _webhook(rows[0]) if rows else None

    def list(self, created_by: str | None = None) -> list[Webhook]:
        """Everyone's subscriptions, or one creator's, oldest first."""
        if created_by is None:
            rows = self._query(_SELECT + " ORDER BY w.created_at, w.id")
        else:
            rows = self._query(
                _SELECT + " WHERE w.created_by = %s ORDER BY w.created_at, w.id", (created_by,)
            )
        return [_webhook(row) for row in rows]

    def delete(self, webhook_id: UUID) -> bool:
        self.ensure_tables()
        with self.database.bare_transaction() as tx:
            tx.execute("DELETE FROM {webhook_deliveries} WHERE webhook_id = %s", (webhook_id,))
            deleted = tx.query("DELETE FROM {webhooks} WHERE id = %s RETURNING id", (webhook_id,))
        return bool(deleted)

    def resume(self, webhook_id: UUID) -> Webhook | None:
        """Active again, failures forgotten, due at once."""
        if not self._write(_RESUME, (webhook_id,)):
            return None
        return self.get(webhook_id)

    # What the dispatcher does

    def claim(
        self,
        holder: str,
        head: int,
        lease_seconds: float,
        claimed_before: datetime | None = None,
        *,
        among: Collection[UUID] | None = None,
    ) -> Lease | None:
        """Lease one subscription that has something to do, or None; `among`: one of these."""
        token = f"{holder}/{uuid4().hex[:12]}"
        started = time.monotonic()
        now = self.clock.now()
        before = claimed_before if claimed_before is not None else now + timedelta(days=1)
        until = now + timedelta(seconds=lease_seconds)
        params: list[Any] = [token, until, now, head, before, now, now]
        if among is None:
            rows = self._write(self._claim, (*params, now))
        else:
            listed: Any = (
                "{" + ",".join(str(i) for i in among) + "}"
                if self.database.dialect == "postgresql"
                else [str(i) for i in among]
            )
            rows = self._write(self._claim_only, (*params, listed, now))
        if not rows:
            return None
        webhook = self.get(_uuid(rows[0]["webhook_id"]))
        if webhook is None:  # deleted in between
            return None
        return Lease(webhook, token, started + lease_seconds)

    def renew(self, lease: Lease, lease_seconds: float) -> Lease | None:
        """A fresh lease, or None when it was taken over or the subscription deleted."""
        started = time.monotonic()
        until = self.clock.now() + timedelta(seconds=lease_seconds)
        if not self._write(_RENEW, (until, lease.webhook.id, lease.token)):
            return None
        return Lease(lease.webhook, lease.token, started + lease_seconds)

    def delivered(self, lease: Lease, position: int, lease_seconds: float) -> Lease | None:
        """Advance past a delivered event, renewing the lease in the same statement."""
        started = time.monotonic()
        now = self.clock.now()
        until = now + timedelta(seconds=lease_seconds)
        # Not waiting for the disk: a server crash may forget the last few positions, and
        # at least once allows sending those events again. Order holds either way.
        rows = self._write(
            _DELIVERED,
            (position, now, now, until, lease.webhook.id, lease.token, position),
            durable=False,
        )
        return Lease(lease.webhook, lease.token, started + lease_seconds) if rows else None

    def skipped(self, lease: Lease, position: int, lease_seconds: float) -> Lease | None:
        """Advance past events the subscription does not want."""
        started = time.monotonic()
        until = self.clock.now() + timedelta(seconds=lease_seconds)
        rows = self._write(
            _SKIPPED, (until, position, position, lease.webhook.id, lease.token), durable=False
        )
        return Lease(lease.webhook, lease.token, started + lease_seconds) if rows else None

    def failed(
        self,
        lease: Lease,
        error: str,
        retry_in: float,
        max_failures: int,
        *,
        pause_now: bool = False,
    ) -> WebhookState | None:
        """Record a failed attempt and give the lease up; paused after `max_failures`."""
        now = self.clock.now()
        retry_at = now + timedelta(seconds=retry_in)
        rows = self._write(
            _FAILED,
            (
                error[:MAX_ERROR_CHARS],
                now,
                pause_now, max_failures,
                pause_now, max_failures, now,
                pause_now, max_failures, retry_at,
                lease.webhook.id,
                lease.token,
            ),
        )  # fmt: skip
        return WebhookState(rows[0]["state"]) if rows else None

    def release(self, lease: Lease) -> None:
        self._write(_RELEASE + " RETURNING webhook_id", (lease.webhook.id, lease.token))
