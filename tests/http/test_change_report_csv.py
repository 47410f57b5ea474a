"""The change report as CSV, as an auditor filters it in a spreadsheet, on PostgreSQL.

Value, target, baseline and weight have columns of their own, before and after; every
cell the CSV shares with the JSON report reads exactly as the JSON field does, timestamps
included (UTC, with `Z`).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import httpx
import pytest

from domain.access import Role
from projections.registry import worker_for
from tests.http.conftest import (
    CHANGE_REPORT_COLUMNS,
    CYCLE,
    Headers,
    LiveServer,
    Tokens,
    check_in_body,
)

pytestmark = pytest.mark.postgres

COMPARED = ("value", "target", "baseline", "weight")


def post(client: httpx.Client, path: str, body: dict[str, Any], headers: Headers) -> Any:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_the_csv_gives_compared_fields_columns_and_the_jsons_timestamps(
    client: httpx.Client, live: LiveServer, quarter: dict[str, Any], tokens: Tokens
) -> None:
    analyst = tokens.headers("analyst", Role.MEMBER)
    auditor = tokens.headers("auditor-b", Role.AUDITOR)
    nps = f"/v1/key-results/{quarter['key_result']['id']}"
    # The analyst checks in 41 for 15 August, recorded months later: backdated.
    check_in = post(client, f"{nps}/check-ins", check_in_body("41"), analyst)
    # She re-baselines NPS from 32 -> 50 to 30 -> 45, and doubles its weight.
    post(
        client,
        f"{nps}/rebaseline",
        {"baseline": "30", "target": "45", "reason": "vendor changed", "reason_code": "other"},
        analyst,
    )
    post(
        client,
        f"{nps}/reweight",
        {"weight": "2", "reason": "the board's priority", "reason_code": "priorities_changed"},
        analyst,
    )
    # The check-in's 41 was an export bug: corrected to 44.
    post(
        client,
        f"{nps}/corrections",
        {"check_in_id": check_in["check_in_id"], "value": "44", "reason": "export bug"},
        analyst,
    )
    # The read models catch up with the log, here and now.
    worker = worker_for(live.ledger)
    worker.create_tables()
    worker.run_until_caught_up()

    # The auditor reads the report as JSON, then as CSV.
    changes = f"/v1/cycles/{CYCLE['id']}/changes"
    report = client.get(changes, headers=auditor)
    assert report.status_code == 200, report.text
    rows = report.json()["items"]
    as_csv = client.get(changes, params={"format": "csv"}, headers=auditor)
    assert as_csv.status_code == 200, as_csv.text
    table = list(csv.reader(io.StringIO(as_csv.text)))
    assert table[0] == CHANGE_REPORT_COLUMNS
    lines = [dict(zip(CHANGE_REPORT_COLUMNS, line, strict=True)) for line in table[1:]]
    assert [line["event"] for line in lines] == [
        "check_in_recorded",
        "rebaselined",
        "reweighted",
        "check_in_corrected",
    ]
    assert [line["position"] for line in lines] == [str(r["position"]) for r in rows]

    # Each change in the columns an auditor filters on; the rest of each is empty.
    def compared(line: dict[str, str]) -> dict[str, str]:
        return {
            f"{name}_{side}": line[f"{name}_{side}"]
            for name in COMPARED
            for side in ("before", "after")
            if line[f"{name}_{side}"]
        }

    recorded, rebaselined, reweighted, corrected = lines
    assert compared(recorded) == {"value_before": "32", "value_after": "41"}
    assert compared(rebaselined) == {
        "target_before": "50",
        "target_after": "45",
        "baseline_before": "32",
        "baseline_after": "30",
    }
    assert compared(reweighted) == {"weight_before": "1", "weight_after": "2"}
    assert compared(corrected) == {"value_before": "41", "value_after": "44"}

    # Every cell the CSV shares with the JSON is the JSON's text: timestamps with `Z`.
    for line, row in zip(lines, rows, strict=True):
        for column in CHANGE_REPORT_COLUMNS:
            if column in ("before", "after"):
                # Still the whole of each, for what has no column (confidence, note).
                assert json.loads(line[column]) == row[column]
            elif column == "flags":
                assert (line[column].split(";") if line[column] else []) == row["flags"]
            elif column in row:
                expected = row[column]
                assert line[column] == ("" if expected is None else str(expected)), column
            else:
                name, side = column.rsplit("_", 1)
                assert line[column] == (row[side].get(name) or ""), column
        assert line["recorded_at"].endswith("Z")
    assert "+00:00" not in as_csv.text
