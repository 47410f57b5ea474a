"""Typed dependencies: the ledger, the caller's grant, If-Match and Idempotency-Key.

A dependency that does no I/O is `async`: FastAPI runs a plain `def` one on its thread
pool, and each such hop cost a request more than the work it wraps.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.json_body import parse_json
from api.problems import ProblemError, invalid_token
from api.standbys import READ_FROM_HEADER, ReadStore, ReadStores
from application.authority import authorise as authorise_grant
from application.ledger import GoalLedger
from application.reporting_lines import with_reporting_lines
from domain.access import AccessGrant, TokenRefusedError
from domain.authority import Command
from storage.requests import IdempotentRequest
from storage.views import ViewDatabase

MAX_IDEMPOTENCY_KEY = 255
_ETAG = re.compile(r'^(?:W/)?"(\d{1,18})"$')


async def get_ledger(request: Request) -> GoalLedger:
    ledger: GoalLedger = request.app.state.ledger
    return ledger


LedgerDep = Annotated[GoalLedger, Depends(get_ledger)]


async def read_store(request: Request, response: Response) -> ReadStore:
    """The store this request reads read models and the feed from: a standby in turn, or
    the primary (ADR 31); one per request, named in `Goalpost-Read-From`."""
    reads: ReadStores = request.app.state.reads
    store = reads.pick()
    response.headers[READ_FROM_HEADER] = store.name
    return store


ReadStoreDep = Annotated[ReadStore, Depends(read_store)]


async def get_views(store: ReadStoreDep) -> ViewDatabase:
    return store.views


ViewsDep = Annotated[ViewDatabase, Depends(get_views)]


async def get_read_ledger(store: ReadStoreDep) -> GoalLedger:
    """The ledger on the store this request reads from: for reads that must see the log
    as the read models beside it do (the feed, evidence, the seal). Never for writes."""
    return store.ledger


ReadLedgerDep = Annotated[GoalLedger, Depends(get_read_ledger)]


_bearer = HTTPBearer(
    auto_error=False,
    description="A token from `goalpost tokens issue`; only its hash is stored.",
)


_COMMAND_ROUTE = "_goalpost_command_route"
E = TypeVar("E", bound=Callable[..., Any])


def command_route(endpoint: E) -> E:
    """Mark a route whose only use of the caller's grant is to hand it to one ledger command
    (and to name the actor of its Idempotency-Key). Its grant is the one this process last
    loaded, with no round trip to the store: the command's save refuses it if it has been
    revoked since, and a command that runs again checks it first (ADR 46)."""
    setattr(endpoint, _COMMAND_ROUTE, True)
    return endpoint


def current_grant(
    request: Request,
    ledger: LedgerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AccessGrant:
    """The grant of the bearer token; 401 without one, or saying why the token is refused."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        # No bearer credentials at all: a bare challenge, no error code (RFC 6750, 3.1).
        raise ProblemError(
            401,
            "unauthenticated",
            "Authentication required",
            "send a bearer token in the Authorization header",
            field="Authorization",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = credentials.credentials.strip()
    from_memory = bool(getattr(request.scope.get("endpoint"), _COMMAND_ROUTE, False))
    try:
        # A manager's reports are also whoever reports to them today (ADR 42).
        return with_reporting_lines(ledger, ledger.authenticate(token, from_memory=from_memory))
    except TokenRefusedError as refused:
        raise invalid_token(refused) from None


GrantDep = Annotated[AccessGrant, Depends(current_grant)]


def authorise(grant: AccessGrant, command: Command) -> None:
    """403 unless the grant's roles allow a command that changes no one owner's goal
    (reads, the feed, webhooks; ADR 23). Commands that change goals authorise the grant
    themselves, on the goals they load (application/authority.py)."""
    authorise_grant(grant, command)


async def expected_version(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description='The goal\'s version as its ETag gave it, e.g. "3"; a stale one gets 412.',
        ),
    ] = None,
) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    match = _ETAG.match(if_match.strip())
    if match is None:
        raise ProblemError(
            400,
            "bad-if-match",
            "Malformed If-Match",
            'If-Match must be an ETag such as "3"',
            field="If-Match",
        )
    return int(match.group(1))


ExpectedVersionDep = Annotated[int | None, Depends(expected_version)]


async def idempotent_request(
    request: Request,
    grant: GrantDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Retrying with the same key and body returns the first response.",
        ),
    ] = None,
) -> IdempotentRequest | None:
    if idempotency_key is None:
        return None
    key = idempotency_key.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise ProblemError(
            400,
            "bad-idempotency-key",
            "Malformed Idempotency-Key",
            f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} printable characters",
            field="Idempotency-Key",
        )
    body = await request.body()
    try:
        # Same JSON, same request, whatever the key order or spacing; numbers exact.
        canonical = json.dumps(parse_json(body), sort_keys=True, separators=(",", ":"), default=str)
    except (ValueError, ProblemError):
        # Not JSON Goalpost accepts: the route refuses it; the fingerprint is the bytes.
        canonical = body.decode("utf-8", "replace")
    fingerprint = hashlib.sha256(
        f"{request.method} {request.url.path}\n{canonical}".encode()
    ).hexdigest()
    return IdempotentRequest(actor=grant.subject, key=key, fingerprint=fingerprint)


IdempotencyDep = Annotated[IdempotentRequest | None, Depends(idempotent_request)]
