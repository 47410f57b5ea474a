"""Typed dependencies: the ledger, the caller's grant, If-Match and Idempotency-Key."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.json_body import parse_json
from api.problems import ProblemError
from domain.access import AccessGrant, Role
from domain.application import GoalLedger, IdempotentRequest
from projections.database import ViewDatabase

MAX_IDEMPOTENCY_KEY = 255
_ETAG = re.compile(r'^(?:W/)?"(\d{1,18})"$')


def get_ledger(request: Request) -> GoalLedger:
    ledger: GoalLedger = request.app.state.ledger
    return ledger


LedgerDep = Annotated[GoalLedger, Depends(get_ledger)]


def get_views(request: Request) -> ViewDatabase:
    views: ViewDatabase = request.app.state.views
    return views


ViewsDep = Annotated[ViewDatabase, Depends(get_views)]


_bearer = HTTPBearer(
    auto_error=False,
    description="A token from `goalpost tokens issue`; only its hash is stored.",
)


def current_grant(
    ledger: LedgerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AccessGrant:
    """The active grant of the bearer token; 401 without one."""
    grant = (
        ledger.authenticate(credentials.credentials.strip())
        if credentials is not None and credentials.scheme.lower() == "bearer"
        else None
    )
    if grant is None:
        raise ProblemError(
            401,
            "unauthenticated",
            "Authentication required",
            "send a valid, unrevoked bearer token in the Authorization header",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return grant


GrantDep = Annotated[AccessGrant, Depends(current_grant)]


def forbid(detail: str) -> ProblemError:
    return ProblemError(403, "forbidden", "Not allowed", detail)


def require_role(grant: AccessGrant, *roles: Role) -> None:
    if not any(grant.has(role) for role in roles):
        wanted = " or ".join(r.value for r in roles)
        raise forbid(f"this needs the {wanted} role")


def require_writer(grant: AccessGrant, owner: str) -> None:
    """Members write their own goals, managers their reports' too, admins everything."""
    if not grant.may_write_for(owner):
        raise forbid(f"{grant.subject} may not change goals owned by {owner}")


def expected_version(
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
