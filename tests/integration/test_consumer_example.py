"""The integrators' example consumer, run against the real app: resumes without gaps, and runs
as the README shows, keeping its cursor out of the working directory."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from application.ledger import GoalLedger
from tests.http.conftest import initialised_ledger, serve

EXAMPLE = Path(__file__).parents[2] / "docs" / "integrators" / "consumer.py"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("goalpost_consumer_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_example_consumer_reads_everything_once_across_restarts(
    ledger: GoalLedger, tmp_path: Path
) -> None:
    consumer = _example()
    token, _ = ledger.issue_token(actor="ops", subject="hrms-sync", roles=["service"])
    client = TestClient(create_app(ledger), headers={"Authorization": f"Bearer {token}"})
    cursor_file = tmp_path / "cursor"
    received: list[dict[str, Any]] = []

    # A cycle and an objective exist; the consumer's first run reads them.
    ledger.open_cycle(
        actor="ops", key="2026-Q3", starts_on=date(2026, 7, 1), ends_on=date(2026, 9, 30)
    )
    ledger.create_objective(
        actor="ops", cycle_id="2026-Q3", title="Retention", owner="cs", kind="committed"
    )
    consumer.follow(client, cursor_file, received.append, poll_seconds=0, max_pages=2)
    assert len(received) == 3

    # More happens while it is down; the next run starts from its saved cursor.
    ledger.create_objective(
        actor="ops", cycle_id="2026-Q3", title="Upmarket", owner="sales", kind="aspirational"
    )
    consumer.follow(client, cursor_file, received.append, poll_seconds=0, max_pages=2)

    # Every event once, in log order.
    positions = [e["position"] for e in received]
    assert positions == sorted(set(positions))
    assert len(received) == 5
    assert received[-1]["type"] == "goalpost.cycle.objective_added.v1"


def _run_example(url: str, token: str, env: dict[str, str], cwd: Path) -> list[str]:
    """The example as the README runs it: a script, under this virtualenv's Python."""
    finished = subprocess.run(
        [sys.executable, str(EXAMPLE), "--url", url, "--token", token, "--once"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    return finished.stdout.splitlines()


def test_the_example_runs_as_a_script_and_keeps_its_cursor_out_of_the_work_tree(
    sqlite_url: str, tmp_path: Path
) -> None:
    ledger = initialised_ledger(sqlite_url)
    token, _ = ledger.issue_token(actor="ops", subject="hrms-sync", roles=["service"])
    ledger.open_cycle(
        actor="ops", key="2026-Q3", starts_on=date(2026, 7, 1), ends_on=date(2026, 9, 30)
    )
    ledger.create_objective(
        actor="ops", cycle_id="2026-Q3", title="Retention", owner="cs", kind="committed"
    )
    types = [
        "goalpost.cycle.opened.v1",
        "goalpost.objective.created.v1",
        "goalpost.cycle.objective_added.v1",
    ]
    work, home, state = tmp_path / "clone", tmp_path / "home", tmp_path / "state"
    work.mkdir()
    home.mkdir()
    base = {"PATH": os.environ.get("PATH", ""), "HOME": str(home)}
    with serve(ledger) as live:
        # Run from a clone with XDG_STATE_HOME unset: the cursor goes under ~/.local/state.
        printed = _run_example(live.url, token, base, work)
        assert [line.split()[1] for line in printed] == types
        cursor = home / ".local" / "state" / "goalpost" / "consumer.cursor"
        assert int(cursor.read_text()) > 0
        # A second run resumes from that cursor: nothing new, nothing printed again.
        assert _run_example(live.url, token, base, work) == []

        # With XDG_STATE_HOME set, the cursor lives there instead, and the run starts afresh.
        elsewhere = _run_example(live.url, token, {**base, "XDG_STATE_HOME": str(state)}, work)
        assert [line.split()[1] for line in elsewhere] == types
        assert (state / "goalpost" / "consumer.cursor").read_text() == cursor.read_text()

    # The working directory is left as it was.
    assert list(work.iterdir()) == []
