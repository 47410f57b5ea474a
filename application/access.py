"""Access: issuing, revoking and checking bearer tokens (the operator's, from the CLI)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from application.core import LedgerCore, command
from application.values import Saved
from domain.access import (
    DEFAULT_TOKEN_LIFETIME,
    TOKEN_PREFIX,
    AccessGrant,
    Role,
    TokenRefusal,
    TokenRefusedError,
    grant_id_for,
    new_token,
)
from domain.errors import NotFoundError


class AccessCommands(LedgerCore):
    def issue_token(
        self,
        *,
        actor: str,
        subject: str,
        roles: list[Role | str],
        team: str | None = None,
        reports: list[str] | None = None,
        expires_in: timedelta = DEFAULT_TOKEN_LIFETIME,
    ) -> tuple[str, Saved]:
        """A new bearer token; only its hash is stored, so it is shown this once."""
        token = new_token()
        grant = AccessGrant.issue(
            actor=actor,
            token=token,
            subject=subject,
            roles=roles,
            team=team,
            reports=reports,
            expires_in=expires_in,
        )
        return token, self._save(grant)

    def revoke_token(self, *, actor: str, token: str, reason: str) -> Saved:
        return self.revoke_grant(actor=actor, grant_id=grant_id_for(token), reason=reason)

    @command
    def revoke_grant(self, *, actor: str, grant_id: UUID, reason: str) -> Saved:
        grant = self.get_grant(grant_id)
        grant.revoke(actor=actor, reason=reason)
        return self._save(grant)

    def revoke_grants_of(self, *, actor: str, subject: str, reason: str) -> list[UUID]:
        """Revoke every grant of a subject not yet revoked (expired ones too), together."""
        issued = self.grants(subject)
        if not issued:
            raise NotFoundError(f"no token was ever issued for {subject}", field="actor")
        grants = [g for g in issued if g.revoked_at is None]
        for grant in grants:
            grant.revoke(actor=actor, reason=reason)
        if grants:
            self._save(*grants)
        return [g.id for g in grants]

    def grants(self, subject: str | None = None) -> list[AccessGrant]:
        """Every grant ever issued, or a subject's, in the order they were issued."""
        found = (self.get_grant(i) for i in self._created_ids(AccessGrant.Issued))
        return [g for g in found if subject is None or g.subject == subject]

    def authenticate(
        self, token: str, now: datetime | None = None, *, from_memory: bool = False
    ) -> AccessGrant:
        """The grant a token carries; TokenRefusedError says if unknown, expired or revoked.

        `from_memory`: the grant as this process last loaded it, without asking the store,
        only for a caller that hands it to one command and nothing else: the command
        refuses a grant revoked meanwhile, at its save or before it runs again (ADR 46).
        """
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            raise TokenRefusedError(TokenRefusal.UNKNOWN)
        try:
            grant = self.get_grant(grant_id_for(token), from_memory=from_memory)
        except NotFoundError:
            raise TokenRefusedError(TokenRefusal.UNKNOWN) from None
        refusal = grant.refusal(now if now is not None else datetime.now(UTC))
        if refusal is not None:
            raise TokenRefusedError(refusal)
        return grant
