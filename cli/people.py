"""`goalpost people import`: people, teams and managers from an HR system's CSV export."""

from __future__ import annotations

import _csv
import csv
import re
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from application.people_import import (
    PeopleImportError,
    PeopleImportReport,
    PersonRow,
    import_people,
)
from cli.common import OPERATOR, CommandLineError, ledger_session, user_errors
from domain.values import check_identifier

COLUMNS = ("person_id", "display_name", "email", "team", "manager_id", "effective_on")
HEADER = ",".join(COLUMNS)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

people_app = typer.Typer(
    help="People and teams (ADR 40).\n\nExample: goalpost people import hris.csv",
    no_args_is_help=True,
)


@people_app.command("import")
def import_people_file(
    path: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, help=f"CSV file whose first line is the header {HEADER}."
        ),
    ],
    actor: Annotated[
        str, typer.Option(metavar="NAME", help="Who ran the import; each event records it.")
    ] = OPERATOR,
) -> None:
    """Import people from an HRIS export; only changes are recorded, a re-run records nothing.

    Each row: how the person stands from effective_on (one team, or none when empty; a
    manager, or none when empty). Nothing is stored unless every row is valid; an error
    names the file's line.

    Example: goalpost people import hris.csv --actor hr-ops
    """
    with user_errors():
        check_identifier(actor, "--actor")
        rows, places = read_people(path)
    with ledger_session() as ledger:
        try:
            report = import_people(ledger, actor=actor, rows=rows)
        except PeopleImportError as error:
            raise CommandLineError(f"{path} {places[error.index]}: {error.reason}") from None
        typer.echo(render_people_import(report))


def read_people(path: Path) -> tuple[list[PersonRow], list[str]]:
    """The file's rows and where each stands ("line 4"); a bad file fails at once."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
            return _rows(path, reader)
        except csv.Error as error:
            raise CommandLineError(f"{path} line {reader.line_num}: {error}") from None
        except UnicodeDecodeError:
            raise CommandLineError(
                f"{path} is not UTF-8 text; save it as CSV UTF-8 with the header {HEADER}"
            ) from None


def _rows(path: Path, reader: _csv.Reader) -> tuple[list[PersonRow], list[str]]:
    header = next(reader, None)
    if header is None:
        raise CommandLineError(f"{path} is empty; its first line must be the header {HEADER}")
    if sorted(header) != sorted(COLUMNS):
        raise CommandLineError(f"{path} line 1 must be the header {HEADER} (in any order)")
    rows: list[PersonRow] = []
    places: list[str] = []
    last_line = reader.line_num
    for fields in reader:
        first_line, last_line = last_line + 1, reader.line_num
        if not fields:
            continue
        place = (
            f"line {first_line}" if last_line == first_line else f"lines {first_line}-{last_line}"
        )
        if len(fields) != len(header):
            raise CommandLineError(
                f"{path} {place}: {len(fields)} fields where the header has {len(header)}"
            )
        row = dict(zip(header, fields, strict=True))
        day = row["effective_on"].strip()
        if not _DAY.fullmatch(day):
            raise CommandLineError(
                f"{path} {place}: effective_on must be a date as YYYY-MM-DD, not {day!r}"
            )
        try:
            effective_on = date.fromisoformat(day)
        except ValueError:
            raise CommandLineError(f"{path} {place}: effective_on {day!r} is no date") from None
        rows.append(
            PersonRow(
                person_id=row["person_id"].strip(),
                display_name=row["display_name"],
                email=row["email"].strip() or None,
                team=row["team"].strip() or None,
                manager_id=row["manager_id"].strip() or None,
                effective_on=effective_on,
            )
        )
        places.append(place)
    return rows, places


def render_people_import(report: PeopleImportReport) -> str:
    changes = [
        ("people registered", report.registered),
        ("names changed", report.details_changed),
        ("team joins", report.joined),
        ("team leaves", report.left),
        ("manager changes", report.manager_changes),
        ("teams formed", report.teams_formed),
    ]
    lines = [f"{what}: {count}" for what, count in changes]
    if report.erased_withheld:
        lines.append(f"rows whose name was not kept (person erased): {report.erased_withheld}")
    lines.append(
        f"Read {report.rows} rows; {report.unchanged_rows} changed nothing; "
        f"recorded {report.events} events."
    )
    return "\n".join(lines)
