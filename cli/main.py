"""`goalpost`: the operator's command line. Every command reads GOALPOST_DATABASE_URL."""

from __future__ import annotations

import csv
import logging
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Annotated, NoReturn
from uuid import UUID

import typer
import uvicorn
from eventsourcing.persistence import PersistenceError, ProgrammingError

from application.ledger import CheckInImport, GoalLedger
from application.stores import grant_app_role, init_store, open_ledger
from cli import audit, webhooks
from cli.demo import CYCLE as DEMO_CYCLE
from cli.demo import demo_loaded, load_demo
from cli.render import render_kpis, render_scoreboard
from domain.access import DEFAULT_TOKEN_LIFETIME, AccessGrant
from domain.errors import AlreadyExistsError, DomainError, NotFoundError
from projections.base import ReadModelStatus
from projections.rebuild import Rebuild, RebuildInterruptedError, RebuildSupersededError
from projections.registry import READ_MODELS, read_model_named, worker_for
from projections.seal import SealRebuildRefusedError
from projections.worker import DEFAULT_BATCH, DEFAULT_POLL_SECONDS
from storage.reach import StoreUnreachableError, check_store
from storage.settings import Settings, StoreUrlError, store_env
from storage.subscriptions import create_tables as create_webhook_tables

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
    except StoreUnreachableError as e:
        # Already one line naming the store and the cause.
        fail(str(e), STORE_ERROR)
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
def db_init(
    app_role: Annotated[
        str | None,
        typer.Option(
            help="PostgreSQL: the role the API and workers connect as. It may append to "
            "the history but never change it, disable its triggers or drop it; run this "
            "as the tables' owner (ADR 22).",
        ),
    ] = None,
) -> None:
    """Create the event tables, indexes and append-only triggers (safe to run again)."""
    with user_errors():
        url = database_url()
        init_store(url)
        ledger = open_ledger(url)
        try:
            worker = worker_for(ledger)
            worker.create_tables()
            # Explicitly too, for deployments whose serving role may not create tables.
            create_webhook_tables(worker.database)
        finally:
            ledger.close()
        typer.echo(f"Initialised {describe_store(url)}")
        if app_role is not None:
            given = grant_app_role(url, app_role)
            typer.echo(
                f"Role {app_role} may read and append to the history, and owns "
                f"{len(given)} read-model tables"
            )


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


tokens_app = typer.Typer(help="Issue, list and revoke API bearer tokens.", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")

# Operator commands act with the operator's authority; events record it as this actor.
OPERATOR = "operator"

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
    """Issue a bearer token; it is printed once, alone on the last line, and only its hash kept."""
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
    """Every token issued, oldest first: grant id, actor, roles, issued, expires, revoked."""
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
    """Revoke a token, a grant by its id, or every token of an actor; each is an event."""
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
    """Serve the HTTP API (OpenAPI at /docs) on the store GOALPOST_DATABASE_URL names.

    On the embedded SQLite store the read models are kept up to date in this process;
    on PostgreSQL run `goalpost worker` beside it.
    """
    with user_errors():
        url = database_url()
        if workers > 1 and url.startswith("sqlite"):
            raise CommandLineError("several workers need PostgreSQL; SQLite is single-process")
        # Each worker process opens the store again; a wrong setting fails here, once.
        check_store(url)
        typer.echo(f"Serving {describe_store(url)} on http://{host}:{port} (docs at /docs)")
    uvicorn.run(
        "api.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


# Projections: the worker, their status, rebuilds

projections_app = typer.Typer(help="Read models: status and rebuilds.", no_args_is_help=True)
app.add_typer(projections_app, name="projections")
log = logging.getLogger("goalpost.cli")


def log_to_stderr() -> None:
    """Progress and lag as timestamped lines on stderr."""
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@contextmanager
def stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGTERM and SIGINT ask to stop (the batch in progress finishes) instead of killing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _: FrameType | None) -> None:
        log.info("%s received: stopping after the batch in progress", signal.Signals(signum).name)
        stop()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for number, restored in previous.items():
            signal.signal(number, restored)


@app.command()
def worker(
    batch_size: Annotated[
        int, typer.Option(min=1, help="Events per transaction and read model.")
    ] = DEFAULT_BATCH,
    poll_interval: Annotated[
        float,
        typer.Option(
            min=0.01,
            help="Seconds between polls for new events (PostgreSQL is also woken by NOTIFY).",
        ),
    ] = DEFAULT_POLL_SECONDS,
    once: Annotated[
        bool, typer.Option("--once", help="Catch up with the log, then exit (for cron and tests).")
    ] = False,
) -> None:
    """Keep the read models up to date with the log until SIGTERM or Ctrl-C."""
    log_to_stderr()
    with ledger_session() as ledger:
        projections = worker_for(ledger, batch_size=batch_size, poll_interval=poll_interval)
        with stop_on_signals(projections.stop):
            if once:
                applied = projections.run_until_caught_up()
                head, found = projections.status()
                typer.echo(f"Applied {applied} events; log position {head}.")
                typer.echo(render_status(head, found))
                if any(s.failing for s in found):
                    # For cron: a read model stuck on an event is not "caught up".
                    raise typer.Exit(STORE_ERROR)
                return
            head, found = projections.status()
            log.info(
                "worker started at log position %d: %s",
                head,
                ", ".join(f"{s.name} {s.lag} behind" for s in found),
            )
            for line in failing_lines(found):
                log.warning("%s", line)
            projections.run_forever()
            log.info("worker stopped")


def render_status(head: int, found: list[ReadModelStatus]) -> str:
    ours = {model.name: model.definition() for model in READ_MODELS}
    rows = [("read model", "generation", "position", "behind", "rebuilding", "definition")]
    for s in found:
        rebuilding = (
            f"generation {s.building} at {s.building_position}" if s.building is not None else ""
        )
        definition = s.definition or "(not recorded)"
        if s.definition != ours.get(s.name):
            # ADR 17: this release's workers leave it alone until db init or a rebuild.
            definition += f"; this release has {ours.get(s.name)}"
        rows.append(
            (s.name, str(s.generation), str(s.position), str(s.lag), rebuilding, definition)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [f"Log position: {head}"]
    lines.extend("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                 for row in rows)  # fmt: skip
    lines.extend(failing_lines(found))
    return "\n".join(lines)


def failing_lines(found: list[ReadModelStatus]) -> list[str]:
    """One line per read model that cannot apply an event (ADR 25): where, since when, why."""
    return [
        f"FAILING: {s.name} cannot apply the event at position {s.health.failing_position} "
        f"(since {s.health.failing_since.isoformat(timespec='seconds')}, "
        f"{s.health.attempts} attempts): "
        f"{s.health.error}"
        for s in found
        if s.failing and s.health is not None and s.health.failing_since is not None
    ]


@projections_app.command("status")
def projections_status() -> None:
    """Each read model's live generation, the position it reflects and how far behind it is."""
    with ledger_session() as ledger:
        typer.echo(render_status(*worker_for(ledger).status()))


def rebuild_progress(name: str, every: float = 2.0) -> Callable[[int, int], None]:
    """Logs a rebuild's position every so often."""
    reported = time.monotonic()

    def progress(position: int, head: int) -> None:
        nonlocal reported
        if time.monotonic() - reported >= every:
            reported = time.monotonic()
            log.info("rebuilding %s: position %d of %d", name, position, head)

    return progress


@projections_app.command("rebuild")
def projections_rebuild(
    names: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="NAME...",
            help=f"Read models to rebuild: {', '.join(m.name for m in READ_MODELS)}.",
        ),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Rebuild every read model.")] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Events per transaction.")] = DEFAULT_BATCH,
) -> None:
    """Rebuild read models from the whole log beside the live ones, then switch to them.

    Reads keep answering from the live generation (and a running worker keeps it
    current) until the rebuilt one has caught up; the switch is one transaction.
    """
    log_to_stderr()
    with user_errors():
        if every == bool(names):
            raise CommandLineError("name the read models to rebuild, or pass --all")
        try:
            read_models = list(READ_MODELS) if every else [read_model_named(n) for n in names or ()]
        except KeyError as error:
            raise CommandLineError(str(error.args[0])) from None
    with ledger_session() as ledger:
        stopping = threading.Event()
        with stop_on_signals(stopping.set):
            for read_model in read_models:
                rebuild = Rebuild(ledger, read_model, batch_size=batch_size)
                progress = rebuild_progress(read_model.name)
                try:
                    done = rebuild.run(progress=progress, stopping=stopping)
                except (RebuildInterruptedError, RebuildSupersededError) as error:
                    fail(f"{error}; the live {read_model.name} is unchanged", STORE_ERROR)
                except SealRebuildRefusedError as error:
                    # The log no longer matches the live seal: keep the seal as evidence.
                    rebuild.abandon()
                    fail(
                        f"{error}; the live seal is kept: run `goalpost verify`",
                        STORE_ERROR,
                    )
                typer.echo(
                    f"Rebuilt {done.name}: generation {done.generation} (was {done.replaced}) "
                    f"is live at position {done.position}; {done.events} events in "
                    f"{done.seconds:.1f} s."
                )
