"""The operator's command line on a real store: set up, load the demo quarter, read scores."""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from application.ledger import GoalLedger
from application.stores import open_ledger
from cli.common import describe_store
from cli.main import app
from domain.reports import CycleScoreboard
from domain.scoring import rounded
from tests.conftest import PG_HOST, PG_PORT, PG_USER
from tests.demo_day import CYCLE, DEMO_DAY

LEAKY_BUCKET = "Stop the leaky bucket"
UPMARKET = "Earn the right to sell upmarket"


def goalpost(url: str, *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"GOALPOST_DATABASE_URL": url})


@pytest.fixture
def demo_url(store_url: str) -> str:
    """A store with the demo quarter loaded through the command line."""
    assert goalpost(store_url, "db", "init").exit_code == 0
    loaded = goalpost(store_url, "demo", "--today", DEMO_DAY.isoformat())
    assert loaded.exit_code == 0, loaded.output
    return store_url


@pytest.fixture
def ledger_on(demo_url: str) -> Iterator[GoalLedger]:
    ledger = open_ledger(demo_url)
    try:
        yield ledger
    finally:
        ledger.close()


def objective_scores(board: CycleScoreboard) -> dict[str, Decimal]:
    return {o.title: o.score for o in board.objectives if o.score is not None}


def test_init_demo_scores_print_what_the_domain_computes(
    store_url: str, ledger_on: GoalLedger
) -> None:
    # The operator initialises the store; the message names it.
    init = goalpost(store_url, "db", "init")
    assert init.exit_code == 0, init.output
    assert "store" in init.stdout

    # They read the scoreboard of the quarter the demo loaded.
    result = goalpost(store_url, "scores")
    assert result.exit_code == 0, result.output
    printed = result.stdout

    # Both company objectives are there, scored exactly as the domain scores them.
    board = ledger_on.cycle_scoreboard(CYCLE)
    scores = objective_scores(board)
    assert LEAKY_BUCKET in printed
    assert UPMARKET in printed
    for title, score in scores.items():
        assert f"{title}  (" in printed
        assert f"Score {rounded(score):f}" in printed
    assert f"Net confidence: {rounded(board.net_confidence or Decimal(0)):+f}" in printed
    # The re-baselined objective shows its score against the original plans too.
    leaky = next(o for o in board.objectives if o.title == LEAKY_BUCKET)
    assert leaky.score_against_original_plan is not None
    assert leaky.score_against_original_plan < (leaky.score or Decimal(0))
    assert f"(against the original plan {rounded(leaky.score_against_original_plan):f})" in printed
    # Each owner's figures: the CEO owns both company objectives.
    assert "By owner (goals not retired):" in printed
    ceo = board.rollup("ceo")
    assert ceo.objectives == 2 and ceo.score is not None
    assert re.search(rf"^\s+ceo\s+2\s+{rounded(ceo.score):f}\s", printed, re.MULTILINE)

    # The story's outcome: leaky bucket and upmarket both near 0.8 (onboarding graduated
    # and churn carried forward count at their final scores).
    assert Decimal("0.75") <= scores[LEAKY_BUCKET] <= Decimal("0.85")
    assert Decimal("0.75") <= scores[UPMARKET] <= Decimal("0.85")

    # The graduated and the carried key result stay listed, with their reason codes and
    # reasons.
    retired = [
        kr.status.retired
        for o in board.objectives
        for kr in o.key_results
        if kr.status.retired is not None
    ]
    assert sorted(r.reason_code.value for r in retired) == ["carried_forward", "graduated_to_kpi"]
    for retirement in retired:
        assert retirement.reason_code.value in printed
        assert retirement.reason in printed

    # The re-baselined key result shows its original plan and its score against it.
    rebaselined = [
        kr
        for o in board.objectives
        for kr in o.key_results
        if kr.status.plan.target != kr.status.original_plan.target
    ]
    assert len(rebaselined) == 1
    original = rebaselined[0].status.original_plan
    assert f"{original.baseline:f} → {original.target:f}" in printed
    assert f"{rounded(rebaselined[0].status.score_against_original_plan):f}" in printed

    # KPI health follows: the KPI out of range twice running is an OKR candidate.
    candidates = [line for line in ledger_on.kpi_lines() if line.okr_candidate]
    assert candidates
    for line in candidates:
        assert any(
            line.name in row and row.rstrip().endswith("yes") for row in printed.splitlines()
        )


def test_the_demo_records_one_of_each_change_of_plan(ledger_on: GoalLedger) -> None:
    board = ledger_on.cycle_scoreboard(CYCLE)
    key_results = [
        ledger_on.get_key_result(kr.id) for o in board.objectives for kr in o.key_results
    ]

    # Exactly one re-baseline, one graduation, one carry-forward and one corrected
    # check-in, each with a reason.
    assert sum(len(kr.plans) - 1 for kr in key_results) == 1
    assert sum(kr.is_retired for kr in key_results) == 2
    corrections = [c for kr in key_results for ci in kr.check_ins.values() for c in ci.corrections]
    assert len(corrections) == 1
    assert corrections[0].reason

    # Owners are roles and teams, and every key result was checked in weekly.
    assert all(kr.owner.startswith(("head-of-", "team-", "ceo", "cto")) for kr in key_results)
    assert all(len(kr.check_ins) == 13 for kr in key_results)


@pytest.mark.parametrize("as_of", ["2026-07-17", "2026-08-21", "2026-09-30"])
def test_scores_as_of_a_date_match_the_domain(
    demo_url: str, ledger_on: GoalLedger, as_of: str
) -> None:
    result = goalpost(demo_url, "scores", "--cycle", CYCLE, "--as-of", as_of)
    assert result.exit_code == 0, result.output
    board = ledger_on.cycle_scoreboard(CYCLE, as_of=date.fromisoformat(as_of))
    assert f"Scores as of {as_of}" in result.stdout
    for score in objective_scores(board).values():
        assert f"Score {rounded(score):f}" in result.stdout


def test_running_the_demo_twice_records_nothing_more(demo_url: str, ledger_on: GoalLedger) -> None:
    # The demo loads only into an empty store; a second run says so and fails.
    before = ledger_on.recorder.max_notification_id()
    again = goalpost(demo_url, "demo")
    assert again.exit_code == 1, again.output
    assert "already holds history" in again.stderr

    # Nothing was appended: not one event.
    assert ledger_on.recorder.max_notification_id() == before


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["--as-of", "2026-13-01"], "--as-of"),
        (["--as-of", "last week"], "--as-of"),
        (["--known-at", "yesterday"], "--known-at"),
        (["--cycle", "2025-Q1"], "2025-Q1"),
        (["--cycle", CYCLE, "--known-at", "2020-01-01T00:00:00Z"], CYCLE),
    ],
)
def test_user_errors_give_one_line_and_exit_2(
    demo_url: str, args: list[str], mentions: str
) -> None:
    result = goalpost(demo_url, "scores", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert mentions in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_an_unknown_store_url_is_a_one_line_error() -> None:
    result = goalpost("mysql://localhost/goalpost", "scores")
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_store_description_never_shows_the_password() -> None:
    described = describe_store("postgresql://goalpost:s3cret@db.internal:5433/goals?schema=q3")
    assert "s3cret" not in described
    assert "goalpost@db.internal:5433/goals" in described


def test_importing_check_ins_from_csv_twice_stores_them_once(
    store_url: str, tmp_path: Path
) -> None:
    # A key result exists, with no check-ins yet.
    ledger = open_ledger(store_url, create_tables=True)
    try:
        ledger.open_cycle(
            actor="ceo", key="2026-Q2", starts_on=date(2026, 4, 1), ends_on=date(2026, 6, 30)
        )
        objective = ledger.create_objective(
            actor="ceo", cycle_id="2026-Q2", title="Reliability", owner="cto", kind="committed"
        )
        key_result = ledger.create_key_result(
            actor="cto",
            objective_id=objective.id,
            title="P1 incidents",
            owner="cto",
            unit="incidents",
            direction="decrease",
            baseline="9",
            target="3",
            measurement_source="incident tracker",
            measurement_query="P1 count",
            effective_on=date(2026, 4, 1),
        )
    finally:
        ledger.close()

    # The team exported a spreadsheet of last quarter's weekly check-ins.
    csv_file = tmp_path / "check-ins.csv"
    csv_file.write_text(
        "key_result_id,value,confidence,effective_on,note\n"
        f"{key_result.id},8,on_track,2026-04-10,first runbook\n"
        f"{key_result.id},6,on_track,2026-05-15,alert tuning\n"
        f"{key_result.id},5.0,at_risk,2026-06-26,one regression\n",
        encoding="utf-8",
    )

    # Imported once, then again by mistake: the second run adds nothing.
    first = goalpost(store_url, "import-check-ins", str(csv_file))
    assert first.exit_code == 0, first.output
    assert "Imported 3 check-ins; 0 were already there." in first.stdout
    again = goalpost(store_url, "import-check-ins", str(csv_file))
    assert again.exit_code == 0, again.output
    assert "Imported 0 check-ins; 3 were already there." in again.stdout

    # The key result scores from its latest imported value: 9 -> 3 at 5 is 2/3.
    ledger = open_ledger(store_url)
    try:
        imported = ledger.get_key_result(key_result.id)
        assert len(imported.check_ins) == 3
        status = imported.status(ledger.get_cycle("2026-Q2"), date(2026, 6, 30))
        assert rounded(status.score) == Decimal("0.6667")
    finally:
        ledger.close()

    # A row the key result's rules refuse stores nothing and names the row.
    csv_file.write_text(
        "key_result_id,value,confidence,effective_on,note\n"
        f"{key_result.id},4,on_track,2026-06-27,fine\n"
        f"{key_result.id},4,maybe,2026-06-28,bad confidence\n",
        encoding="utf-8",
    )
    refused = goalpost(store_url, "import-check-ins", str(csv_file))
    assert refused.exit_code == 2
    assert "check-ins.csv line 3: confidence must be one of" in refused.stderr
    ledger = open_ledger(store_url)
    try:
        assert len(ledger.get_key_result(key_result.id).check_ins) == 3
    finally:
        ledger.close()


# Where the store cannot be reached: each command, run as the operator runs it, ends
# within seconds in one line on stderr that says which store and why (the target is
# 5 s; the bound leaves room for a busy machine's interpreter start).
QUICKLY = 10.0
CLI = "from cli.main import app; app()"


def goalpost_process(
    url: str, *args: str, cwd: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], float]:
    """`goalpost ARGS` in a process of its own, and the seconds it took."""
    started = time.monotonic()
    finished = subprocess.run(
        [sys.executable, "-c", CLI, *args],
        env={**os.environ, "GOALPOST_DATABASE_URL": url},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    return finished, time.monotonic() - started


def one_line(finished: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in finished.stderr, finished.stderr
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1, finished.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A port bound but not listening: connections to it are refused."""
    with socket.socket() as bound:
        bound.bind((PG_HOST, 0))
        yield bound.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers, like a hung server."""
    with socket.socket() as listening:
        listening.bind((PG_HOST, 0))
        listening.listen(16)
        yield listening.getsockname()[1]


@pytest.mark.parametrize(
    ("command", "exit_code"),
    [
        (["scores"], 1),
        (["db", "init"], 1),
        (["serve", "--port", "0"], 1),
        (["worker", "--once"], 1),
        (["dispatch", "--once"], 1),
        # Its own documented code: the seal could not be read.
        (["verify"], 2),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else str(v),
)
def test_every_command_fails_at_once_when_postgresql_refuses_connections(
    refusing_port: int, command: list[str], exit_code: int
) -> None:
    # Nothing listens where the URL points (PostgreSQL is down).
    url = f"postgresql://{PG_USER}@{PG_HOST}:{refusing_port}/goalpost"
    finished, seconds = goalpost_process(url, *command)

    # One line naming host, port, database and the cause, soon; no "Serving".
    assert finished.returncode == exit_code, finished.stderr
    line = one_line(finished)
    assert f"{PG_HOST}:{refusing_port}" in line
    assert "database goalpost" in line
    assert "connection refused" in line
    assert "Serving" not in finished.stdout
    assert seconds < QUICKLY


@pytest.mark.postgres
@pytest.mark.parametrize("command", [["scores"], ["serve", "--port", "0"]], ids=" ".join)
def test_a_database_that_does_not_exist_is_named_with_its_cause(command: list[str]) -> None:
    # The server runs, but the database in the URL was never created.
    dbname = f"goalpost_missing_{secrets.token_hex(4)}"
    url = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{dbname}"
    finished, seconds = goalpost_process(url, *command)

    assert finished.returncode == 1, finished.stderr
    line = one_line(finished)
    assert f"{PG_HOST}:{PG_PORT}" in line and f"database {dbname}" in line
    assert "database does not exist" in line
    assert "Serving" not in finished.stdout
    assert seconds < QUICKLY


@pytest.mark.postgres
def test_a_role_the_server_does_not_know_fails_authentication() -> None:
    # The URL names a user the server has no role for.
    user = f"nobody_{secrets.token_hex(4)}"
    url = f"postgresql://{user}@{PG_HOST}:{PG_PORT}/postgres"
    finished, seconds = goalpost_process(url, "scores")

    assert finished.returncode == 1, finished.stderr
    line = one_line(finished)
    assert f"{PG_HOST}:{PG_PORT}" in line and "database postgres" in line
    assert "authentication failed" in line and user in line
    assert seconds < QUICKLY


def test_a_server_that_never_answers_times_out_after_connect_timeout(silent_port: int) -> None:
    # Something accepts the connection and says nothing: the URL's connect_timeout bounds it.
    url = f"postgresql://{PG_USER}@{PG_HOST}:{silent_port}/goalpost?connect_timeout=2"
    finished, seconds = goalpost_process(url, "serve", "--port", "0")

    assert finished.returncode == 1, finished.stderr
    line = one_line(finished)
    assert f"{PG_HOST}:{silent_port}" in line and "database goalpost" in line
    assert "timeout" in line
    assert "Serving" not in finished.stdout
    assert seconds < QUICKLY


@pytest.mark.parametrize("command", [["scores"], ["serve", "--port", "0"]], ids=" ".join)
def test_a_sqlite_file_in_a_folder_that_does_not_exist_is_an_error(
    tmp_path: Path, command: list[str]
) -> None:
    # The operator mistyped the folder of the SQLite file.
    missing = tmp_path / "mistyped"
    finished, seconds = goalpost_process(f"sqlite:///{missing / 'goalpost.sqlite'}", *command)

    # One line naming the folder; no folder, no file, nothing served.
    assert finished.returncode == 1, finished.stderr
    line = one_line(finished)
    assert f"folder {missing} does not exist" in line
    assert not missing.exists()
    assert "Serving" not in finished.stdout
    assert seconds < QUICKLY


def test_a_sqlite_url_with_a_host_opens_no_file_in_the_working_directory(
    tmp_path: Path,
) -> None:
    # Two slashes make "data" a host: the path would be goalpost.sqlite, here.
    finished, _ = goalpost_process("sqlite://data/goalpost.sqlite", "scores", cwd=tmp_path)

    assert finished.returncode == 2, finished.stderr
    assert "sqlite:///" in one_line(finished)
    assert list(tmp_path.iterdir()) == []
