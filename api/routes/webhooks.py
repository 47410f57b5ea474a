"""Webhook subscriptions for services: create, list, read with delivery state, resume, delete."""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
from typing import Annotated
from urllib.parse import urlsplit
from uuid import UUID

import httpx
from fastapi import APIRouter, Depends, Request, Response, status

from api.deps import GrantDep, IdempotencyDep, LedgerDep, ViewsDep, authorise
from api.json_body import StrictJSONRoute
from api.routes.common import PROBLEMS
from api.routes.filters import known_cycle, known_owner
from api.schemas.webhooks import WebhookCreate, WebhookCreated, WebhookList, WebhookPublic
from application.ledger import GoalLedger
from delivery.cloud_events import TOPICS_BY_TYPE
from delivery.destinations import refused_host
from delivery.dispatcher import DispatchSettings
from domain.access import AccessGrant, Role
from domain.authority import Command
from domain.errors import InvalidInputError, NotFoundError
from storage.subscriptions import Webhook, WebhookSpec, WebhookStore

router = APIRouter(
    prefix="/v1/webhooks", tags=["webhooks"], responses=PROBLEMS, route_class=StrictJSONRoute
)

SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret
SECRET_BYTES = 32
MIN_SECRET_BYTES, MAX_SECRET_BYTES = 24, 64
PENDING_COUNT_LIMIT = 1000
_STORE_LOCK = threading.Lock()


def get_webhooks(request: Request, views: ViewsDep) -> WebhookStore:
    """One store per app, made (and its tables created) on first use."""
    store: WebhookStore | None = getattr(request.app.state, "webhooks", None)
    if store is None:
        with _STORE_LOCK:
            store = getattr(request.app.state, "webhooks", None)
            if store is None:
                store = WebhookStore(views)
                request.app.state.webhooks = store
    return store


WebhooksDep = Annotated[WebhookStore, Depends(get_webhooks)]


def _invalid(field: str, message: str) -> InvalidInputError:
    return InvalidInputError(message, field=field)


def check_url(url: str) -> str:
    if any(c.isspace() or not c.isprintable() for c in url):
        raise _invalid("url", "url must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
        # What the dispatcher will send to: refused here rather than at every delivery.
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL):
        raise _invalid("url", "url is malformed (host, port or encoding)") from None
    if parts.scheme not in ("http", "https"):
        raise _invalid("url", "url must start with http:// or https://")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise _invalid("url", "url must not carry a user name or password")
    if not host:
        raise _invalid("url", "url must name a host")
    if port == 0:
        raise _invalid("url", "url must not name port 0")
    refused = refused_host(host)
    if refused is not None and not DispatchSettings().allow_private:
        # Host names are checked again at each delivery, on the address connected to.
        raise _invalid(
            "url",
            f"url must name a public destination: {refused} "
            "(GOALPOST_WEBHOOK_ALLOW_PRIVATE=true allows it)",
        )
    return url


def check_secret(secret: str | None) -> str:
    if secret is None:
        return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()
    if not secret.startswith(SECRET_PREFIX):
        raise _invalid("secret", f"secret must start with {SECRET_PREFIX}")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise _invalid("secret", "secret must be whsec_ followed by base64") from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise _invalid(
            "secret", f"secret must encode {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes"
        )
    return secret


def check_event_types(event_types: list[str]) -> list[str]:
    unknown = [t for t in event_types if t not in TOPICS_BY_TYPE]
    if unknown:
        raise _invalid(
            "event_types",
            f"unknown event type {unknown[0]!r}; the feed's types are listed in the API docs",
        )
    return sorted(set(event_types))


def _head(ledger: GoalLedger) -> int:
    return ledger.recorder.max_notification_id() or 0


def _pending(ledger: GoalLedger, webhook: Webhook, head: int) -> int:
    if webhook.position >= head:
        return 0
    topics = [TOPICS_BY_TYPE[t] for t in webhook.event_types if t in TOPICS_BY_TYPE]
    if webhook.event_types and not topics:
        return 0
    waiting = ledger.recorder.select_notifications(
        start=webhook.position,
        stop=head,
        limit=PENDING_COUNT_LIMIT,
        topics=topics,
        inclusive_of_start=False,
    )
    return len(waiting)


def _mine(store: WebhookStore, grant: AccessGrant, webhook_id: UUID) -> Webhook:
    """The subscription, if the caller made it (admins: any); others' are not found."""
    authorise(grant, Command.MANAGE_WEBHOOKS)
    webhook = store.get(webhook_id)
    if webhook is None or not (grant.has(Role.ADMIN) or webhook.created_by == grant.subject):
        raise NotFoundError(f"no webhook {webhook_id}")
    return webhook


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreated,
)
def create_webhook(
    body: WebhookCreate,
    grant: GrantDep,
    ledger: LedgerDep,
    views: ViewsDep,
    store: WebhooksDep,
    request: IdempotencyDep,
    response: Response,
) -> WebhookCreated:
    """Subscribe a URL to goal events; the answer shows the signing secret, once.

    An `owner` who owns no goal yet, or a `cycle_id` not opened, is a 404 naming the
    field: a filter that matches nothing would deliver nothing, silently.
    """
    authorise(grant, Command.MANAGE_WEBHOOKS)
    if body.cycle_id is not None:
        known_cycle(ledger, body.cycle_id, None, "cycle_id")
    if body.owner is not None:
        known_owner(views, ledger, body.owner, None, "owner")
    head = _head(ledger)
    if body.after is not None and body.after > head:
        raise _invalid("after", f"after must not be past the log's head ({head})")
    spec = WebhookSpec(
        created_by=grant.subject,
        url=check_url(body.url),
        secret=check_secret(body.secret),
        event_types=check_event_types(body.event_types),
        owner=body.owner,
        cycle_id=body.cycle_id,
        position=head if body.after is None else body.after,
    )
    webhook = store.add(spec, request)
    response.headers["Location"] = f"/v1/webhooks/{webhook.id}"
    return WebhookCreated.of(webhook, head)


@router.get("")
def list_webhooks(grant: GrantDep, ledger: LedgerDep, store: WebhooksDep) -> WebhookList:
    """The caller's subscriptions (an admin's: everyone's), oldest first."""
    authorise(grant, Command.MANAGE_WEBHOOKS)
    head = _head(ledger)
    mine = None if grant.has(Role.ADMIN) else grant.subject
    return WebhookList(webhooks=[WebhookPublic.of(w, head) for w in store.list(created_by=mine)])


@router.get("/{webhook_id}")
def get_webhook(
    webhook_id: UUID, grant: GrantDep, ledger: LedgerDep, store: WebhooksDep
) -> WebhookPublic:
    """One subscription with its delivery state: position, lag, failures, next retry."""
    webhook = _mine(store, grant, webhook_id)
    head = _head(ledger)
    return WebhookPublic.of(webhook, head, _pending(ledger, webhook, head))


@router.post("/{webhook_id}/resume")
def resume_webhook(
    webhook_id: UUID, grant: GrantDep, ledger: LedgerDep, store: WebhooksDep
) -> WebhookPublic:
    """Deliver again from where it stopped: active, failures forgotten, next attempt now."""
    _mine(store, grant, webhook_id)
    resumed = store.resume(webhook_id)
    if resumed is None:
        raise NotFoundError(f"no webhook {webhook_id}")
    head = _head(ledger)
    return WebhookPublic.of(resumed, head, _pending(ledger, resumed, head))


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(webhook_id: UUID, grant: GrantDep, store: WebhooksDep) -> Response:
    """Stop delivering and forget the subscription."""
    _mine(store, grant, webhook_id)
    if not store.delete(webhook_id):
        raise NotFoundError(f"no webhook {webhook_id}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
