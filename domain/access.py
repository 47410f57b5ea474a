"""Access grants: who may do what. Issuing and revoking a token are events too."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from domain.base import LedgerAggregate, derived_id
from domain.errors import ConflictError, InvalidInputError
from domain.values import MAX_REASON, check_identifier, check_text

TOKEN_PREFIX = "gp_"  # noqa: S105 - a visible prefix, not a secret


class Role(StrEnum):
    MEMBER = "member"
    MANAGER = "manager"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"
    SERVICE = "service"
    ADMIN = "admin"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def grant_id_for(token: str) -> UUID:
    """Only the hash is ever stored; the grant is found again from the token alone."""
    return derived_id("access-grant", token_hash(token))


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class AccessGrant(LedgerAggregate):
    """The rights one bearer token carries: an actor, roles, and whose goals it may write."""

    class Issued(LedgerAggregate.Created):
        token_sha256: str
        subject: str
        roles: list[str]
        team: str | None
        reports: list[str]

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
    ) -> None:
        self.token_sha256 = token_sha256
        self.subject = subject
        self.roles = frozenset(Role(r) for r in roles)
        self.team = team
        self.reports = frozenset(reports)
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
        digest = token_hash(token)
        return cls._create(
            cls.Issued,
            id=derived_id("access-grant", digest),
            actor=actor,
            token_sha256=digest,
            subject=check_identifier(subject, "actor"),
            roles=sorted(set(checked_roles)),
            team=check_identifier(team, "team") if team is not None else None,
            reports=sorted({check_identifier(r, "reports") for r in reports or []}),
        )

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

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

    def may_write_for(self, owner: str) -> bool:
        """Members write their own (and their team's) goals; managers also their reports'."""
        if Role.ADMIN in self.roles:
            return True
        mine = owner == self.subject or (self.team is not None and owner == self.team)
        if Role.MEMBER in self.roles and mine:
            return True
        return Role.MANAGER in self.roles and (mine or owner in self.reports)
