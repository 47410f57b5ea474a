"""Access grants: who may do what, until when. Issuing and revoking a token are events too."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Container
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.base import LedgerAggregate, derived_id
from domain.errors import ConflictError, DomainError, InvalidInputError
from domain.values import MAX_REASON, check_identifier, check_text

TOKEN_PREFIX = "gp_"  # noqa: S105 - a visible prefix, not a secret
# A token nobody rotates stops working on its own (ADR 27); operators choose longer or
# shorter with `goalpost tokens issue --expires-in`, up to the maximum.
DEFAULT_TOKEN_LIFETIME = timedelta(days=90)
MAX_TOKEN_LIFETIME = timedelta(days=3650)


class Role(StrEnum):
    MEMBER = "member"
    MANAGER = "manager"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"
    SERVICE = "service"
    ADMIN = "admin"


class TokenRefusal(StrEnum):
    """Why a bearer token is refused; the 401 says which, and nothing more."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"

    @property
    def description(self) -> str:
        return {
            TokenRefusal.UNKNOWN: "the token is unknown",
            TokenRefusal.EXPIRED: "the token has expired",
            TokenRefusal.REVOKED: "the token was revoked",
        }[self]


class TokenRefusedError(DomainError):
    """The token authenticates no one: unknown, expired or revoked."""

    def __init__(self, refusal: TokenRefusal) -> None:
        super().__init__(refusal.description, field="Authorization")
        self.refusal = refusal


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def grant_id_for(token: str) -> UUID:
    """Only the hash is ever stored; the grant is found again from the token alone."""
    return derived_id("access-grant", token_hash(token))


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class AccessGrant(LedgerAggregate):
    """The rights one bearer token carries: an actor, roles, and whose goals it may write."""

    # The teams its subject belongs to besides the one the token names: none of its own;
    # the API widens a copy with the people graph's memberships of today (ADR 42).
    member_of: Container[str] = frozenset()

    class Issued(LedgerAggregate.Created):
        # Version 2 added `expires_at`; tokens issued before it never expire.
        class_version = 2
        token_sha256: str
        subject: str
        roles: list[str]
        team: str | None
        reports: list[str]
        expires_at: datetime | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["expires_at"] = None

    class Revoked(LedgerAggregate.Event):
        reason: str

        def apply(self, aggregate: AccessGrant) -> None:
            aggregate.revoked_at = self.timestamp
            aggregate.revoked_by = self.actor

    def __init__(
        self,
        *,
        actor: str,
        token_sha256: str,
        subject: str,
        roles: list[str],
        team: str | None,
        reports: list[str],
        expires_at: datetime | None,
    ) -> None:
        self.token_sha256 = token_sha256
        self.subject = subject
        self.roles = frozenset(Role(r) for r in roles)
        self.team = team
        self.reports = frozenset(reports)
        self.expires_at = expires_at
        self.issued_by = actor
        self.revoked_at: datetime | None = None
        self.revoked_by: str | None = None

    @classmethod
    def issue(
        cls,
        *,
        actor: str,
        token: str,
        subject: str,
        roles: list[Role | str],
        team: str | None = None,
        reports: list[str] | None = None,
        expires_in: timedelta = DEFAULT_TOKEN_LIFETIME,
    ) -> AccessGrant:
        if not roles:
            raise InvalidInputError("a token needs at least one role", field="roles")
        checked_roles = []
        for role in roles:
            try:
                checked_roles.append(Role(role).value)
            except ValueError:
                allowed = ", ".join(r.value for r in Role)
                raise InvalidInputError(f"role must be one of: {allowed}", field="roles") from None
        if not timedelta(0) < expires_in <= MAX_TOKEN_LIFETIME:
            raise InvalidInputError(
                f"a token's lifetime must be positive and at most {MAX_TOKEN_LIFETIME.days} days",
                field="expires_in",
            )
        digest = token_hash(token)
        issued_at = cls.Issued.create_timestamp()
        return cls._create(
            cls.Issued,
            id=derived_id("access-grant", digest),
            timestamp=issued_at,
            expires_at=issued_at + expires_in,
            actor=actor,
            token_sha256=digest,
            subject=check_identifier(subject, "actor"),
            roles=sorted(set(checked_roles)),
            team=check_identifier(team, "team") if team is not None else None,
            reports=sorted({check_identifier(r, "reports") for r in reports or []}),
        )

    def refusal(self, now: datetime) -> TokenRefusal | None:
        """Why the token is refused at this moment, or None while it is good."""
        if self.revoked_at is not None:
            return TokenRefusal.REVOKED
        if self.expires_at is not None and now >= self.expires_at:
            return TokenRefusal.EXPIRED
        return None

    def revoke(self, *, actor: str, reason: str) -> None:
        if self.revoked_at is not None:
            raise ConflictError(f"token of {self.subject} was already revoked")
        self.trigger_event(
            self.Revoked,
            actor=actor,
            reason=check_text(reason, "reason", max_len=MAX_REASON, multiline=True),
        )

    def has(self, role: Role) -> bool:
        return role in self.roles or Role.ADMIN in self.roles
