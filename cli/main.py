"""`goalpost`: the operator's command line. Every command reads GOALPOST_DATABASE_URL."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, NoReturn
from uuid import UUID

import typer
import uvicorn
from eventsourcing.persistence import PersistenceError, ProgrammingError

from cli import audit, webhooks
from cli.demo import CYCLE as DEMO_CYCLE
from cli.demo import demo_loaded, load_demo
from cli.render import render_kpis, render_scoreboard
from domain.application import CheckInImport, GoalLedger
from domain.errors import AlreadyExistsError, DomainError, NotFoundError
from projections.registry import worker_for
from storage.ledger import init_store, open_ledger
from storage.settings import Settings, StoreUrlError, store_env

USAGE_ERROR = 2
STORE_ERROR = 1

app = typer.Typer(
    help="Goalpost operator commands. The store comes from GOALPOST_DATABASE_URL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Manage the event store.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.command("verify")(audit.verify)
app.command("dispatch")(webhooks.dispatch)


class CommandLineError(Exception):
    """An option's value the command cannot use; reported like a domain error."""


def fail(message: str, code: int = USAGE_ERROR) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Mistakes in input or setup end in one line on stderr, never a traceback."""
    try:
        yield
    except (CommandLineError, StoreUrlError) as e:
        fail(str(e))
    except DomainError as e:
        # Domain messages already name the field at fault.
        fail(e.message)
    except ProgrammingError as e:
        # On PostgreSQL only `db init` creates tables, so a missing table is the usual cause.
        fail(f"the store failed: {_first_line(e)} (run `goalpost db init` first)", STORE_ERROR)
    except PersistenceError as e:
        fail(f"the store failed: {_first_line(e)}", STORE_ERROR)


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


@contextmanager
def ledger_session() -> Iterator[GoalLedger]:
    with user_errors():
        ledger = open_ledger(database_url())
        try:
            yield ledger
        finally:
            ledger.close()


def database_url() -> str:
    return Settings().database_url


def describe_store(url: str) -> str:
    """The store a URL names, without its password."""
    env = store_env(url)
    if "SQLITE_DBNAME" in env:
        return f"SQLite store {env['SQLITE_DBNAME']}"
    return (
        f"PostgreSQL store {env['POSTGRES_USER']}@{env['POSTGRES_HOST']}:"
        f"{env['POSTGRES_PORT']}/{env['POSTGRES_DBNAME']} (schema {env['POSTGRES_SCHEMA']})"
    )


def parse_day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandLineError(f"{option} must be a date as YYYY-MM-DD, not {text!r}") from None


def parse_moment(text: str | None, option: str) -> datetime | None:
    """A timestamp without an offset is read as UTC, the clock events are recorded in."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandLineError(
            f"{option} must be an ISO 8601 timestamp such as 2026-09-30T18:00:00Z, not {text!r}"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@db_app.command("init")
def db_init() -> None:
    """Create the event tables, indexes and append-only triggers (safe to run again)."""
    with user_errors():
        url = database_url()
        init_store(url)
        ledger = open_ledger(url)
        try:
            worker_for(ledger).create_tables()
        finally:
            ledger.close()
        typer.echo(f"Initialised {describe_store(url)}")


@app.command()
def demo() -> None:
    """Load the demo quarter (2026-Q3 of a 60-person SaaS company), once."""
    with ledger_session() as ledger:
        if demo_loaded(ledger):
            typer.echo(f"Cycle {DEMO_CYCLE} already exists; the demo quarter was not loaded again.")
            return
        try:
            summary = load_demo(ledger)
        except AlreadyExistsError:
            # Another process opened the cycle between the check and the load.
            typer.echo(f"Cycle {DEMO_CYCLE} already exists; the demo quarter was not loaded again.")
            return
        typer.echo(
            f"Loaded demo quarter {summary.cycle}: {summary.objectives} objectives, "
            f"{summary.key_results} key results, {summary.check_ins} check-ins, "
            f"{summary.kpis} KPIs with {summary.readings} readings. "
            "See them with `goalpost scores`."
        )


@app.command()
def scores(
    cycle: Annotated[
        str | None, typer.Option(help="Cycle key, such as 2026-Q3. Default: every cycle.")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            metavar="YYYY-MM-DD",
            help="What was true on this date. Default: today, or a cycle's last day once over.",
        ),
    ] = None,
    known_at: Annotated[
        str | None,
        typer.Option(
            metavar="ISO-TIMESTAMP",
            help="What had been recorded by this time (UTC unless an offset is given).",
        ),
    ] = None,
) -> None:
    """Print the scoreboard of each cycle, then the KPI health table."""
    with ledger_session() as ledger:
        day = parse_day(as_of, "--as-of")
        moment = parse_moment(known_at, "--known-at")
        keys = [cycle] if cycle is not None else ledger.cycle_keys()
        boards = []
        for key in keys:
            try:
                boards.append(ledger.cycle_scoreboard(key, as_of=day, known_at=moment))
            except NotFoundError:
                if cycle is not None:
                    when = f" by {moment.isoformat()}" if moment is not None else ""
                    raise CommandLineError(f"no cycle {cycle} was recorded{when}") from None
                # Listing every cycle at an earlier known_at skips those not yet opened then.
                if moment is None:
                    raise
        if not boards:
            typer.echo("No cycles yet. Load the demo quarter with `goalpost demo`.")
        for board in boards:
            typer.echo(render_scoreboard(board))
            typer.echo("")
        kpi_lines = ledger.kpi_lines(as_of=day, known_at=moment)
        directions = {line.id: ledger.get_kpi(line.id, moment).direction for line in kpi_lines}
        typer.echo(render_kpis(kpi_lines, directions))


tokens_app = typer.Typer(help="Issue and revoke API bearer tokens.", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")

# Operator commands act with the operator's authority; events record it as this actor.
OPERATOR = "operator"


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
) -> None:
    """Issue a bearer token; it is printed once, alone on the last line, and only its hash kept."""
    with ledger_session() as ledger:
        token, _ = ledger.issue_token(
            actor=OPERATOR, subject=actor, roles=list(role), team=team, reports=report or []
        )
        typer.echo(f"Issued a token for {actor} ({', '.join(sorted(set(role)))}):")
        typer.echo(token)


@tokens_app.command("revoke")
def tokens_revoke(
    token: Annotated[str, typer.Argument(help="The token to revoke.")],
    reason: Annotated[str, typer.Option(help="Why; kept in the history.")],
) -> None:
    """Revoke a bearer token; requests with it are refused from now on."""
    with ledger_session() as ledger:
        ledger.revoke_token(actor=OPERATOR, token=token, reason=reason)
        typer.echo("Revoked.")


@app.command("import-check-ins")
def import_check_ins(
    path: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            help="CSV with columns key_result_id, value, confidence, effective_on, note.",
        ),
    ],
) -> None:
    """Import historical check-ins from CSV; rows already imported are skipped."""
    with ledger_session() as ledger, path.open(newline="", encoding="utf-8") as handle:
        try:
            rows = [
                CheckInImport(
                    key_result_id=UUID(row["key_result_id"]),
                    value=row["value"],
                    confidence=row["confidence"],
                    effective_on=date.fromisoformat(row["effective_on"]),
                    note=row.get("note") or "",
                )
                for row in csv.DictReader(handle)
            ]
        except (KeyError, ValueError) as error:
            raise CommandLineError(f"{path}: unreadable row ({error})") from None
        report = ledger.import_check_ins(actor=OPERATOR, rows=rows)
        typer.echo(
            f"Imported {report.imported} check-ins; {report.already_present} were already there."
        )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL only).")] = 1,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs) on the store GOALPOST_DATABASE_URL names."""
    with user_errors():
        url = database_url()
        if workers > 1 and url.startswith("sqlite"):
            raise CommandLineError("several workers need PostgreSQL; SQLite is single-process")
        typer.echo(f"Serving {describe_store(url)} on http://{host}:{port} (docs at /docs)")
    uvicorn.run(
        "api.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )
