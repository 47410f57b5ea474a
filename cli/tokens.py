"""`goalpost tokens`: issue, list and revoke API bearer tokens; each is an event."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID

import typer

from cli.common import OPERATOR, CommandLineError, ledger_session
from domain.access import DEFAULT_TOKEN_LIFETIME, AccessGrant

tokens_app = typer.Typer(
    help="Issue, list and revoke API bearer tokens.\n\n"
    "Example: goalpost tokens issue --actor head-of-cs --role member",
    no_args_is_help=True,
)

_LIFETIME = re.compile(r"(\d{1,7})([dhm])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_lifetime(text: str) -> timedelta:
    """`90d`, `12h` or `30m`: how long a token works from its issue."""
    match = _LIFETIME.fullmatch(text.strip().lower())
    if match is None or int(match.group(1)) == 0:
        raise CommandLineError(
            "--expires-in must be a whole number of days, hours or minutes, "
            f"such as 90d, 12h or 30m, not {text!r}"
        )
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _moment(value: datetime | None, none: str) -> str:
    return none if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_grants(grants: list[AccessGrant]) -> str:
    """One line a grant; never the token, nor its hash."""
    header = ("grant id", "actor", "roles", "issued", "expires", "revoked")
    rows = [header] + [
        (
            str(grant.id),
            grant.subject,
            ",".join(sorted(grant.roles)),
            _moment(grant.created_on, "-"),
            _moment(grant.expires_at, "never"),
            _moment(grant.revoked_at, "-"),
        )
        for grant in grants
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


@tokens_app.command("issue")
def tokens_issue(
    actor: Annotated[str, typer.Option(help="Who the token speaks for, e.g. head-of-cs.")],
    role: Annotated[
        list[str],
        typer.Option(help="member, manager, reviewer, auditor, service or admin; repeatable."),
    ],
    team: Annotated[
        str | None, typer.Option(help="A team whose goals a member may also write.")
    ] = None,
    report: Annotated[
        list[str] | None, typer.Option(help="A report whose goals a manager may write.")
    ] = None,
    expires_in: Annotated[
        str,
        typer.Option(
            help="How long the token works: days, hours or minutes, e.g. 90d, 12h, 30m "
            "(at most 3650d).",
        ),
    ] = f"{DEFAULT_TOKEN_LIFETIME.days}d",
) -> None:
    """Issue a bearer token; it is printed once, alone on the last line, and only its hash kept.

    Example: goalpost tokens issue --actor vp-cs --role manager --report head-of-cs
    """
    with ledger_session() as ledger:
        token, saved = ledger.issue_token(
            actor=OPERATOR,
            subject=actor,
            roles=list(role),
            team=team,
            reports=report or [],
            expires_in=parse_lifetime(expires_in),
        )
        grant = ledger.get_grant(saved.id)
        typer.echo(
            f"Issued a token for {actor} ({', '.join(sorted(set(role)))}), grant {grant.id}, "
            f"expires {_moment(grant.expires_at, 'never')}:"
        )
        typer.echo(token)


@tokens_app.command("list")
def tokens_list(
    actor: Annotated[str | None, typer.Option(help="Only this actor's tokens.")] = None,
) -> None:
    """Every token issued, oldest first: grant id, actor, roles, issued, expires, revoked.

    Example: goalpost tokens list --actor vp-cs
    """
    with ledger_session() as ledger:
        grants = ledger.grants(actor)
        if not grants:
            typer.echo("No tokens issued" + (f" for {actor}." if actor else "."))
            return
        typer.echo(render_grants(grants))


@tokens_app.command("revoke")
def tokens_revoke(
    reason: Annotated[str, typer.Option(help="Why; kept in the history.")],
    token: Annotated[str | None, typer.Argument(help="The token to revoke.")] = None,
    grant_id: Annotated[
        str | None, typer.Option(help="The grant to revoke, as `tokens list` shows it.")
    ] = None,
    actor: Annotated[str | None, typer.Option(help="With --all: whose tokens.")] = None,
    all_tokens: Annotated[
        bool, typer.Option("--all", help="Revoke every token of --actor not yet revoked.")
    ] = False,
) -> None:
    """Revoke a token, a grant by its id, or every token of an actor; each is an event.

    Example: goalpost tokens revoke --actor vp-cs --all --reason "left the company"
    """
    forms = [token is not None, grant_id is not None, actor is not None or all_tokens]
    with ledger_session() as ledger:
        if sum(forms) != 1 or (forms[2] and not (actor is not None and all_tokens)):
            raise CommandLineError(
                "name what to revoke: a token, --grant-id ID, or --actor NAME --all"
            )
        if token is not None:
            ledger.revoke_token(actor=OPERATOR, token=token, reason=reason)
            typer.echo("Revoked.")
        elif grant_id is not None:
            ledger.revoke_grant(actor=OPERATOR, grant_id=_grant_id(grant_id), reason=reason)
            typer.echo(f"Revoked grant {grant_id}.")
        elif actor is not None:
            revoked = ledger.revoke_grants_of(actor=OPERATOR, subject=actor, reason=reason)
            typer.echo(f"Revoked {len(revoked)} token(s) of {actor}.")


def _grant_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise CommandLineError(
            f"--grant-id must be a grant id from `tokens list`, not {text!r}"
        ) from None
