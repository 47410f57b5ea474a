"""Token lifetimes and revocation (ADR 27), on both stores: expiry, listing, revoking."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent
from typer.testing import CliRunner, Result

from application.ledger import GoalLedger
from application.stores import open_ledger
from cli.main import app
from domain.access import (
    DEFAULT_TOKEN_LIFETIME,
    AccessGrant,
    Role,
    TokenRefusal,
    TokenRefusedError,
    token_hash,
)
from domain.errors import InvalidInputError, NotFoundError


def refusal(ledger: GoalLedger, token: str, now: datetime | None = None) -> TokenRefusal | None:
    try:
        ledger.authenticate(token, now)
    except TokenRefusedError as refused:
        return refused.refusal
    return None


def revocations(ledger: GoalLedger, grant_id: Any) -> list[str]:
    """The reasons of a grant's Revoked events, oldest first."""
    return [
        event.reason
        for event in ledger.events.get(grant_id)
        if isinstance(event, AccessGrant.Revoked)
    ]


def test_a_token_issued_before_expiry_existed_still_loads_and_never_expires(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An `Issued` event as the release before expiry stored it: no `expires_at`, version 1.

    The old release is the real mapper writing today's event with what version 1 did
    not have taken out of its state (the version marker and the field), so the row is
    stored through the real save path, record-time index and all.
    """
    old_release = open_ledger(store_url, create_tables=True)
    to_stored_event = old_release.mapper.to_stored_event

    def as_version_1(event: Any) -> StoredEvent:
        stored = to_stored_event(event)
        if not isinstance(event, AccessGrant.Issued):
            return stored
        state = json.loads(stored.state)
        del state["class_version"], state["expires_at"]
        return StoredEvent(
            originator_id=stored.originator_id,
            originator_version=stored.originator_version,
            topic=stored.topic,
            state=json.dumps(state).encode(),
        )

    monkeypatch.setattr(old_release.mapper, "to_stored_event", as_version_1)
    try:
        token, saved = old_release.issue_token(
            actor="operator", subject="analyst", roles=["member"]
        )
    finally:
        old_release.close()
    monkeypatch.undo()

    # The stored row is what version 1 wrote.
    ledger = open_ledger(store_url)
    try:
        row = ledger.recorder.select_events(saved.id)[0]
        assert b"class_version" not in row.state
        assert b"expires_at" not in row.state

        # This release reads it, upcast: the token has no expiry, today or in ten years.
        grant = ledger.authenticate(token)
        assert grant.subject == "analyst"
        assert grant.expires_at is None
        assert refusal(ledger, token, datetime.now(UTC) + timedelta(days=3650)) is None
        assert [g.expires_at for g in ledger.grants("analyst")] == [None]

        # It is revoked like any other, and refused from then on.
        ledger.revoke_grant(actor="operator", grant_id=saved.id, reason="rotated")
        assert refusal(ledger, token) is TokenRefusal.REVOKED

        # Tokens issued now carry their version and their expiry.
        _, fresh = ledger.issue_token(actor="operator", subject="buyer", roles=["member"])
        state = json.loads(ledger.recorder.select_events(fresh.id)[0].state)
        assert state["class_version"] == 2
        assert state["expires_at"] is not None
    finally:
        ledger.close()


def test_a_token_works_until_its_lifetime_is_over(ledger: GoalLedger) -> None:
    # A token for a day.
    token, saved = ledger.issue_token(
        actor="operator", subject="analyst", roles=[Role.MEMBER], expires_in=timedelta(days=1)
    )
    grant = ledger.get_grant(saved.id)
    assert grant.expires_at == grant.created_on + timedelta(days=1)
    # It works a moment before the day is out, and not from the moment it is.
    assert refusal(ledger, token, grant.created_on + timedelta(hours=23, minutes=59)) is None
    assert refusal(ledger, token, grant.created_on + timedelta(days=1)) is TokenRefusal.EXPIRED
    # Unsaid, a token lives 90 days.
    _, default = ledger.issue_token(actor="operator", subject="analyst", roles=[Role.MEMBER])
    issued = ledger.get_grant(default.id)
    assert timedelta(days=90) == DEFAULT_TOKEN_LIFETIME
    assert issued.expires_at == issued.created_on + DEFAULT_TOKEN_LIFETIME
    # A token that never works, or works for more than ten years, is refused.
    for lifetime in (timedelta(0), timedelta(days=-1), timedelta(days=3651)):
        with pytest.raises(InvalidInputError) as refused:
            ledger.issue_token(
                actor="operator", subject="analyst", roles=[Role.MEMBER], expires_in=lifetime
            )
        assert refused.value.field == "expires_in"
    # Unknown tokens are told apart from expired and revoked ones.
    assert refusal(ledger, "gp_never-issued") is TokenRefusal.UNKNOWN
    assert refusal(ledger, "no-prefix") is TokenRefusal.UNKNOWN


def test_revoking_by_grant_or_every_token_of_an_actor_is_an_event_each(
    ledger: GoalLedger,
) -> None:
    # The analyst has three tokens (one already expired), the buyer one.
    analysts = [
        ledger.issue_token(actor="operator", subject="analyst", roles=[Role.MEMBER]),
        ledger.issue_token(actor="operator", subject="analyst", roles=[Role.MANAGER]),
        ledger.issue_token(
            actor="operator",
            subject="analyst",
            roles=[Role.MEMBER],
            expires_in=timedelta(microseconds=1),
        ),
    ]
    buyers_token, _ = ledger.issue_token(actor="operator", subject="buyer", roles=[Role.REVIEWER])
    assert [g.id for g in ledger.grants("analyst")] == [saved.id for _, saved in analysts]
    assert [g.subject for g in ledger.grants()] == ["analyst", "analyst", "analyst", "buyer"]

    # The operator revokes her first by its grant id.
    first = analysts[0][1].id
    ledger.revoke_grant(actor="operator", grant_id=first, reason="laptop lost")
    assert revocations(ledger, first) == ["laptop lost"]
    # Then every token she has left, the expired one too, in one go.
    revoked = ledger.revoke_grants_of(
        actor="operator", subject="analyst", reason="left the company"
    )
    assert revoked == [analysts[1][1].id, analysts[2][1].id]
    for token, _ in analysts:
        assert refusal(ledger, token) is TokenRefusal.REVOKED
    assert revocations(ledger, first) == ["laptop lost"]
    assert revocations(ledger, analysts[1][1].id) == ["left the company"]
    # A second run has nothing left to revoke; the buyer's token is untouched.
    assert ledger.revoke_grants_of(actor="operator", subject="analyst", reason="again") == []
    assert refusal(ledger, buyers_token) is None
    # A name that never had a token is an error, not a quiet nothing (a typo, likely).
    with pytest.raises(NotFoundError):
        ledger.revoke_grants_of(actor="operator", subject="accountant", reason="left")


def goalpost(url: str, *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"GOALPOST_DATABASE_URL": url})


def issued(result: Result) -> tuple[str, str]:
    """The grant id the issue line names, and the token on the last line."""
    assert result.exit_code == 0, result.output
    first, token = result.stdout.strip().splitlines()
    return first.split(", grant ")[1].split(",")[0], token


def test_tokens_are_issued_listed_and_revoked_from_the_command_line(store_url: str) -> None:
    assert goalpost(store_url, "db", "init").exit_code == 0
    # The operator issues the analyst a token for twelve hours, and two more with the default
    # 90 days.
    before = datetime.now(UTC)
    short = goalpost(
        store_url,
        "tokens",
        "issue",
        "--actor",
        "analyst",
        "--role",
        "member",
        "--expires-in",
        "12h",
    )
    short_id, short_token = issued(short)
    expires = datetime.fromisoformat(short.stdout.split("expires ")[1].split(":\n")[0])
    assert before + timedelta(hours=12) - timedelta(seconds=1) <= expires
    assert expires <= datetime.now(UTC) + timedelta(hours=12)
    manager_id, manager_token = issued(
        goalpost(store_url, "tokens", "issue", "--actor", "analyst", "--role", "manager")
    )
    bob_id, _ = issued(
        goalpost(store_url, "tokens", "issue", "--actor", "buyer", "--role", "auditor")
    )

    # The list shows every grant: id, actor, roles, issued, expires, revoked; never a secret.
    listed = goalpost(store_url, "tokens", "list")
    assert listed.exit_code == 0, listed.output
    header, *rows = listed.stdout.strip().splitlines()
    assert header.split() == ["grant", "id", "actor", "roles", "issued", "expires", "revoked"]
    assert [row.split()[:3] for row in rows] == [
        [short_id, "analyst", "member"],
        [manager_id, "analyst", "manager"],
        [bob_id, "buyer", "auditor"],
    ]
    assert all(row.split()[-1] == "-" for row in rows)
    for token in (short_token, manager_token):
        assert token not in listed.stdout
        assert token_hash(token) not in listed.stdout
    # Filtered by actor.
    only_bob = goalpost(store_url, "tokens", "list", "--actor", "buyer")
    assert [row.split()[0] for row in only_bob.stdout.strip().splitlines()[1:]] == [bob_id]

    # Revoking by grant id, by the token itself (as before), and all of an actor's.
    by_id = goalpost(store_url, "tokens", "revoke", "--grant-id", short_id, "--reason", "rotated")
    assert by_id.exit_code == 0, by_id.output
    by_token = goalpost(store_url, "tokens", "revoke", manager_token, "--reason", "promoted")
    assert by_token.exit_code == 0, by_token.output
    everything = goalpost(
        store_url, "tokens", "revoke", "--actor", "buyer", "--all", "--reason", "audit over"
    )
    assert everything.exit_code == 0, everything.output
    assert "Revoked 1 token(s) of buyer." in everything.stdout
    revoked = goalpost(store_url, "tokens", "list").stdout.strip().splitlines()[1:]
    assert all(row.split()[-1] != "-" for row in revoked)

    # Each revocation is an event in its grant's history, with its reason.
    ledger = open_ledger(store_url)
    try:
        assert revocations(ledger, UUID(short_id)) == ["rotated"]
        assert revocations(ledger, UUID(manager_id)) == ["promoted"]
        assert revocations(ledger, UUID(bob_id)) == ["audit over"]
    finally:
        ledger.close()


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["issue", "--actor", "analyst", "--role", "member", "--expires-in", "90"], "--expires-in"),
        (["issue", "--actor", "analyst", "--role", "member", "--expires-in", "0d"], "--expires-in"),
        (
            ["issue", "--actor", "analyst", "--role", "member", "--expires-in", "never"],
            "--expires-in",
        ),
        (["issue", "--actor", "analyst", "--role", "member", "--expires-in", "3651d"], "3650 days"),
        (["revoke", "--reason", "r"], "--grant-id"),
        (["revoke", "--actor", "analyst", "--reason", "r"], "--all"),
        (["revoke", "--all", "--reason", "r"], "--actor"),
        (["revoke", "--grant-id", "not-a-uuid", "--reason", "r"], "not-a-uuid"),
        (["revoke", "--actor", "nobody", "--all", "--reason", "r"], "nobody"),
    ],
)
def test_token_commands_refuse_what_they_cannot_do_in_one_line(
    store_url: str, args: list[str], mentions: str
) -> None:
    assert goalpost(store_url, "db", "init").exit_code == 0
    result = goalpost(store_url, "tokens", *args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ")
    assert mentions in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
