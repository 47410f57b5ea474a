"""The integrators' example consumer, run against the real app: resumes without gaps."""

from __future__ import annotations

import importlib.util
import sys
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from application.ledger import GoalLedger

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
