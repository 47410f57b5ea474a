"""`goalpost import-check-ins`: historical check-ins from a CSV file, each error by its line."""

from __future__ import annotations

import _csv
import csv
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer

from application.imports import ImportRowError
from application.values import CheckInImport, ImportReport
from cli.common import OPERATOR, CommandLineError, ledger_session, user_errors
from cli.render import table
from domain.values import check_identifier

COLUMNS = ("key_result_id", "value", "confidence", "effective_on", "note")
HEADER = ",".join(COLUMNS)
# date.fromisoformat would also take 20260410 and 2026-W15-1; a file says YYYY-MM-DD.
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def import_check_ins(
    path: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            help=f"CSV file whose first line is the header {HEADER}.",
        ),
    ],
    actor: Annotated[
        str,
        typer.Option(
            metavar="NAME",
            help="Who ran the import; each check-in records it as its actor.",
        ),
    ] = OPERATOR,
) -> None:
    """Import historical check-ins from CSV; rows already imported are skipped.

    Nothing is stored unless every row is valid; an error names the file's line.
    Example: goalpost import-check-ins history.csv --actor analyst
    """
    # The file is read through and checked before the store is opened; the import reads
    # it again, a row at a time, so neither holds the file in memory.
    with user_errors():
        check_identifier(actor, "--actor")
        for _ in read_check_ins(path):
            pass
    with ledger_session() as ledger:
        try:
            report = ledger.import_check_ins(
                actor=actor, rows=(row for _, row in read_check_ins(path))
            )
        except ImportRowError as error:
            raise CommandLineError(
                f"{path} {place_of(path, error.index)}: {error.reason}"
            ) from None
        typer.echo(render_import(report, actor))


def read_check_ins(path: Path) -> Iterator[tuple[str, CheckInImport]]:
    """The file's rows as check-ins to import, each with where it stands in the file
    ("line 4", "lines 5-6"); a row that cannot be read fails there."""
    # utf-8-sig: spreadsheets save "CSV UTF-8" with a byte-order mark before the header.
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
            yield from _rows(path, reader)
        except csv.Error as error:
            raise CommandLineError(f"{path} line {reader.line_num}: {error}") from None
        except UnicodeDecodeError:
            raise CommandLineError(
                f"{path} is not UTF-8 text; save it as CSV UTF-8 with the header {HEADER}"
            ) from None


def place_of(path: Path, index: int) -> str:
    """Where the file's row `index` (from 0, blank lines not counted) stands."""
    for n, (place, _) in enumerate(read_check_ins(path)):
        if n == index:
            return place
    return f"row {index + 1}"  # the file changed since: say what the import knew


def _rows(path: Path, reader: _csv.Reader) -> Iterator[tuple[str, CheckInImport]]:
    header = next(reader, None)
    if header is None:
        raise CommandLineError(f"{path} is empty; its first line must be the header {HEADER}")
    _check_header(path, header)
    # A quoted field may hold line breaks, so a row spans the lines after the last one
    # read up to the reader's line now.
    last_line = reader.line_num
    for fields in reader:
        first_line, last_line = last_line + 1, reader.line_num
        if not fields:
            continue  # a blank line
        place = f"line {first_line}"
        if last_line > first_line:
            place = f"lines {first_line}-{last_line}"
        if len(fields) != len(header):
            raise CommandLineError(
                f"{path} {place}: {len(fields)} fields where the header has {len(header)}"
            )
        yield place, _check_in(dict(zip(header, fields, strict=True)), f"{path} {place}")


def _check_header(path: Path, header: list[str]) -> None:
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if not (missing or unknown or repeated):
        return
    if len(missing) == len(COLUMNS):
        found = "it has none of those columns: is the header row missing?"
    else:
        found = "; ".join(
            f"{what} {', '.join(names)}"
            for what, names in (("missing", missing), ("unknown", unknown), ("repeated", repeated))
            if names
        )
    raise CommandLineError(f"{path} line 1 must be the header {HEADER} ({found})")


def _check_in(row: dict[str, str], where: str) -> CheckInImport:
    """One row as typed values; the value, confidence and note are the domain's to judge."""
    try:
        key_result_id = UUID(row["key_result_id"])
    except ValueError:
        raise CommandLineError(
            f"{where}: key_result_id must be a key result's id (a UUID), "
            f"not {row['key_result_id']!r}"
        ) from None
    try:
        if not _DAY.fullmatch(row["effective_on"]):
            raise ValueError
        effective_on = date.fromisoformat(row["effective_on"])
    except ValueError:
        raise CommandLineError(
            f"{where}: effective_on must be a date as YYYY-MM-DD, not {row['effective_on']!r}"
        ) from None
    return CheckInImport(
        key_result_id=key_result_id,
        value=row["value"],
        confidence=row["confidence"],
        effective_on=effective_on,
        note=row["note"],
    )


def render_import(report: ImportReport, actor: str) -> str:
    """Per key result what was stored now and what was there before, then the totals."""
    lines: list[str] = []
    if report.key_results:
        lines += table(
            ("key result", "title", "imported", "already there"),
            (
                (str(kr.key_result_id), kr.title, str(kr.imported), str(kr.already_present))
                for kr in report.key_results
            ),
        )
    lines.append(
        f"Imported {report.imported} check-ins; {report.already_present} were already there."
        + (f" Recorded as actor {actor}." if report.imported else "")
    )
    return "\n".join(lines)
