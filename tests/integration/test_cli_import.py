"""`goalpost import-check-ins` on a real store: what it prints, who it records, how it refuses.

The spreadsheet a team exports is the input: errors name the file's own line (the header
is line 1), a file that is not the expected CSV fails before anything is stored, and the
person who ran the import is the check-ins' actor.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from uuid import UUID

import pytest
from typer.testing import CliRunner, Result

from application.stores import open_ledger
from cli.main import app

HEADER = "key_result_id,value,confidence,effective_on,note"


@dataclass(frozen=True)
class Quarter:
    """A store with last quarter's two key results, neither checked in yet."""

    url: str
    incidents: str
    deploys: str

    def import_(self, csv_file: Path, *args: str) -> Result:
        return CliRunner().invoke(
            app,
            ["import-check-ins", str(csv_file), *args],
            env={"GOALPOST_DATABASE_URL": self.url},
        )

    def check_ins(self, key_result_id: str) -> list[tuple[str, str, str]]:
        """Each stored check-in as (effective_on, value, actor), in the order of their days."""
        ledger = open_ledger(self.url)
        try:
            stored = ledger.get_key_result(UUID(key_result_id)).check_ins
            return sorted((str(c.effective_on), f"{c.value:f}", c.actor) for c in stored)
        finally:
            ledger.close()


@pytest.fixture
def quarter(store_url: str) -> Iterator[Quarter]:
    ledger = open_ledger(store_url, create_tables=True)
    try:
        ledger.open_cycle(
            actor="ceo", key="2026-Q2", starts_on=date(2026, 4, 1), ends_on=date(2026, 6, 30)
        )
        objective = ledger.create_objective(
            actor="ceo", cycle_id="2026-Q2", title="Reliability", owner="cto", kind="committed"
        )
        ids = [
            ledger.create_key_result(
                actor="cto",
                objective_id=objective.id,
                title=title,
                owner="cto",
                unit=unit,
                direction=direction,
                baseline=baseline,
                target=target,
                measurement_source="tracker",
                measurement_query="count",
                effective_on=date(2026, 4, 1),
            ).id
            for title, unit, direction, baseline, target in (
                ("P1 incidents", "incidents", "decrease", "9", "3"),
                ("Deploys a week", "deploys", "increase", "2", "10"),
            )
        ]
    finally:
        ledger.close()
    yield Quarter(store_url, str(ids[0]), str(ids[1]))


def write(tmp_path: Path, text: str, name: str = "check-ins.csv") -> Path:
    csv_file = tmp_path / name
    csv_file.write_text(text, encoding="utf-8", newline="")
    return csv_file


def one_line_error(result: Result) -> str:
    """The refusal every user error gets: exit 2, one line on stderr, nothing on stdout."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_an_import_names_who_ran_it_and_prints_each_key_result_then_the_total(
    quarter: Quarter, tmp_path: Path
) -> None:
    # The analyst imports the team's spreadsheet: two rows for incidents, one for deploys.
    csv_file = write(
        tmp_path,
        f"{HEADER}\n"
        f"{quarter.incidents},8,on_track,2026-04-10,first runbook\n"
        f"{quarter.deploys},4,at_risk,2026-04-17,pipeline flaky\n"
        f"{quarter.incidents},6,on_track,2026-05-15,alert tuning\n",
    )
    first = quarter.import_(csv_file, "--actor", "analyst")
    assert first.exit_code == 0, first.output

    # Each key result on a line of its own, in the file's order: id, title, the counts.
    lines = first.stdout.splitlines()
    assert lines[0].split() == ["key", "result", "title", "imported", "already", "there"]
    assert lines[2].split() == [quarter.incidents, "P1", "incidents", "2", "0"]
    assert lines[3].split() == [quarter.deploys, "Deploys", "a", "week", "1", "0"]
    assert lines[4] == "Imported 3 check-ins; 0 were already there. Recorded as actor analyst."
    # The check-ins record the analyst as their actor.
    assert quarter.check_ins(quarter.incidents) == [
        ("2026-04-10", "8", "analyst"),
        ("2026-05-15", "6", "analyst"),
    ]

    # A week later the sheet has grown by a row; run without --actor, the operator's.
    with csv_file.open("a", encoding="utf-8", newline="") as more:
        more.write(f"{quarter.deploys},6,on_track,2026-05-22,\n")
    again = quarter.import_(csv_file)
    assert again.exit_code == 0, again.output
    lines = again.stdout.splitlines()
    assert lines[2].split() == [quarter.incidents, "P1", "incidents", "0", "2"]
    assert lines[3].split() == [quarter.deploys, "Deploys", "a", "week", "1", "1"]
    assert lines[4] == "Imported 1 check-ins; 3 were already there. Recorded as actor operator."
    assert quarter.check_ins(quarter.deploys) == [
        ("2026-04-17", "4", "analyst"),
        ("2026-05-22", "6", "operator"),
    ]


def test_an_actor_that_is_not_a_name_is_refused_before_anything_is_stored(
    quarter: Quarter, tmp_path: Path
) -> None:
    csv_file = write(tmp_path, f"{HEADER}\n{quarter.incidents},8,on_track,2026-04-10,\n")
    error = one_line_error(quarter.import_(csv_file, "--actor", "Support Analyst"))
    assert "--actor must be 1-120 letters, digits or . _ @ -" in error
    assert quarter.check_ins(quarter.incidents) == []


def test_errors_name_the_line_of_the_file_counting_the_header_and_multi_line_notes(
    quarter: Quarter, tmp_path: Path
) -> None:
    good = f"{quarter.incidents},8,on_track,2026-04-10,first runbook\n"
    # A note quoted over two lines (lines 3-4), then a blank line (5): rows 2 and 3 of the
    # data start on lines 3 and 6 of the file.
    spanning = f'{quarter.incidents},7,on_track,2026-04-17,"two steps:\nrunbook, then drill"\n\n'
    cases = {
        # The key result's own rule refuses the confidence: reported by the domain.
        f"{quarter.incidents},6,maybe,2026-05-15,\n": (
            "line 6: confidence must be one of: on_track, at_risk, off_track"
        ),
        # The row's fields cannot even be read as a check-in.
        "not-an-id,6,on_track,2026-05-15,\n": (
            "line 6: key_result_id must be a key result's id (a UUID), not 'not-an-id'"
        ),
        f"{quarter.incidents},6,on_track,15/05/2026,\n": (
            "line 6: effective_on must be a date as YYYY-MM-DD, not '15/05/2026'"
        ),
        f"{quarter.incidents},6,on_track,2026-05-15,,extra\n": (
            "line 6: 6 fields where the header has 5"
        ),
        # A bad row that itself spans lines is named by the lines it takes.
        f'{quarter.incidents},6,maybe,2026-05-15,"two\nlines"\n': "lines 6-7: confidence",
        # A key result that does not exist.
        "00000000-0000-4000-8000-000000000000,6,on_track,2026-05-15,\n": (
            "line 6: no key result 00000000-0000-4000-8000-000000000000"
        ),
    }
    for bad, expected in cases.items():
        csv_file = write(tmp_path, f"{HEADER}\n{good}{spanning}{bad}")
        error = one_line_error(quarter.import_(csv_file))
        assert f"{csv_file} {expected}" in error, error
        # Nothing of the file was stored, not even its good rows.
        assert quarter.check_ins(quarter.incidents) == []

    # Without the bad row, the spanning note arrives whole.
    imported = quarter.import_(write(tmp_path, f"{HEADER}\n{good}{spanning}"))
    assert imported.exit_code == 0, imported.output
    ledger = open_ledger(quarter.url)
    try:
        notes = {c.note for c in ledger.get_key_result(UUID(quarter.incidents)).check_ins}
    finally:
        ledger.close()
    assert notes == {"first runbook", "two steps:\nrunbook, then drill"}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        pytest.param("", "is empty; its first line must be the header " + HEADER, id="empty"),
        pytest.param(
            "{kr},8,on_track,2026-04-10,first runbook\n",
            f"line 1 must be the header {HEADER} (it has none of those columns: "
            "is the header row missing?)",
            id="no-header",
        ),
        pytest.param(
            "key_result_id,value,confidence,effective_on\n{kr},8,on_track,2026-04-10\n",
            f"line 1 must be the header {HEADER} (missing note)",
            id="missing-column",
        ),
        pytest.param(
            f"{HEADER},owner\n{{kr}},8,on_track,2026-04-10,,analyst\n",
            f"line 1 must be the header {HEADER} (unknown owner)",
            id="unknown-column",
        ),
        pytest.param(
            "key_result_id,value,confidence,effective_on,date,note\n"
            "{kr},8,on_track,2026-04-10,2026-04-10,\n",
            f"line 1 must be the header {HEADER} (unknown date)",
            id="misnamed-column",
        ),
        pytest.param(
            f"{HEADER},value\n{{kr}},8,on_track,2026-04-10,,9\n",
            f"line 1 must be the header {HEADER} (repeated value)",
            id="repeated-column",
        ),
    ],
)
def test_a_file_without_the_expected_header_fails_and_says_which_header(
    quarter: Quarter, tmp_path: Path, text: str, says: str
) -> None:
    csv_file = write(tmp_path, text.replace("{kr}", quarter.incidents))
    error = one_line_error(quarter.import_(csv_file))
    assert error == f"error: {csv_file} {says}"
    assert quarter.check_ins(quarter.incidents) == []


def test_columns_in_any_order_and_a_spreadsheets_byte_order_mark_are_read(
    quarter: Quarter, tmp_path: Path
) -> None:
    # "CSV UTF-8" from a spreadsheet starts with a byte-order mark; the columns are reordered.
    csv_file = tmp_path / "from-a-spreadsheet.csv"
    csv_file.write_text(
        "\ufeffnote,effective_on,confidence,value,key_result_id\r\n"
        f"caught up,2026-04-10,on_track,8,{quarter.incidents}\r\n",
        encoding="utf-8",
        newline="",
    )
    result = quarter.import_(csv_file)
    assert result.exit_code == 0, result.output
    assert quarter.check_ins(quarter.incidents) == [("2026-04-10", "8", "operator")]
    # A header and no rows imports nothing, and says so without a table.
    empty = quarter.import_(write(tmp_path, f"{HEADER}\n", "header-only.csv"))
    assert empty.exit_code == 0, empty.output
    assert empty.stdout == "Imported 0 check-ins; 0 were already there.\n"
