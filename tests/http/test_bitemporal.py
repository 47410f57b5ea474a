"""Reads answer "what was true on date D" (as_of) and "what did we know at time T" (known_at)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from tests.http.conftest import Goals, Headers, check_in_body, ok, problem

pytestmark = pytest.mark.postgres


def test_a_corrected_check_in_read_as_known_then_and_now(
    client: httpx.Client, quarter: dict[str, Any], admin: Headers
) -> None:
    kr = f"/v1/key-results/{quarter['key_result']['id']}"
    objective = f"/v1/objectives/{quarter['objective']['id']}"

    # Mid-August, the analyst checks in NPS at 41 (effective 15 August).
    check_in = client.post(f"{kr}/check-ins", json=check_in_body("41"), headers=admin).json()

    # T: the moment the check-in was recorded, as the server stamped it.
    recorded_at = ok(client.get(kr, headers=admin))["last_check_in"]["recorded_at"]
    moment = datetime.fromisoformat(recorded_at)

    # Later, the survey export turns out wrong: 41 is corrected to 44, with a reason.
    ok(
        client.post(
            f"{kr}/corrections",
            json={"check_in_id": check_in["check_in_id"], "value": "44", "reason": "export bug"},
            headers=admin,
        )
    )

    # Now: the corrected value, scored; the original is still shown beside it.
    now = ok(client.get(kr, headers=admin))
    assert now["version"] == 3 and now["known_at"] is None
    assert now["value"] == "44" and now["score"] == "0.6667"
    assert now["last_check_in"]["original_value"] == "41"

    # As known at T: the original value, at the version then known (ETag too).
    then = client.get(kr, params={"known_at": recorded_at}, headers=admin)
    body = ok(then)
    assert body["version"] == 2 and then.headers["ETag"] == '"2"'
    assert body["value"] == "41" and body["score"] == "0.5000"
    assert body["last_check_in"]["corrected"] is False
    assert datetime.fromisoformat(body["known_at"]) == moment

    # The same instant written with another UTC offset gives the same answer.
    elsewhere = moment.astimezone(timezone(timedelta(hours=-5))).isoformat()
    same = ok(client.get(kr, params={"known_at": elsewhere}, headers=admin))
    assert same["value"] == "41" and same["version"] == 2

    # The objective and the cycle answer as known at T as well.
    line = ok(client.get(objective, params={"known_at": recorded_at}, headers=admin))
    assert line["key_results"][0]["value"] == "41"
    board = ok(client.get("/v1/cycles/2026-Q3", params={"known_at": recorded_at}, headers=admin))
    assert board["objectives"][0]["key_results"][0]["value"] == "41"
    assert ok(client.get(objective, headers=admin))["key_results"][0]["value"] == "44"

    # As of 14 August, the day before the check-in took effect: the baseline, score 0.
    before = ok(client.get(kr, params={"as_of": "2026-08-14"}, headers=admin))
    assert before["as_of"] == "2026-08-14"
    assert before["value"] == "32" and before["score"] == "0.0000"
    assert before["last_check_in"] is None and before["traffic_light"] == "red"
    # As of the effective day itself, the check-in counts.
    assert ok(client.get(kr, params={"as_of": "2026-08-15"}, headers=admin))["value"] == "44"
    # Both axes at once: on 15 August, as known at T.
    both = ok(
        client.get(kr, params={"as_of": "2026-08-15", "known_at": recorded_at}, headers=admin)
    )
    assert both["value"] == "41"

    # Before the key result was recorded at all, it was not known: 404.
    problem(client.get(kr, params={"known_at": "2026-01-01T00:00:00Z"}, headers=admin), 404)


def test_a_backdated_check_in_changes_the_past_only_as_known_later(
    client: httpx.Client, quarter: dict[str, Any], admin: Headers
) -> None:
    kr = f"/v1/key-results/{quarter['key_result']['id']}"
    # A check-in effective 20 August, then (recorded later) one backdated to 10 August.
    client.post(
        f"{kr}/check-ins", json=check_in_body("41", effective_on="2026-08-20"), headers=admin
    )
    first_known = ok(client.get(kr, headers=admin))["last_check_in"]["recorded_at"]
    client.post(
        f"{kr}/check-ins", json=check_in_body("35", effective_on="2026-08-10"), headers=admin
    )

    # As of 12 August, today's knowledge has the backdated value...
    assert ok(client.get(kr, params={"as_of": "2026-08-12"}, headers=admin))["value"] == "35"
    # ...but what was known before it was recorded said: still at the baseline.
    earlier = ok(
        client.get(kr, params={"as_of": "2026-08-12", "known_at": first_known}, headers=admin)
    )
    assert earlier["value"] == "32"
    # The latest effective value is unchanged by the backdated one.
    assert ok(client.get(kr, headers=admin))["value"] == "41"


def test_a_corrected_kpi_reading_read_as_known_then_and_now(
    client: httpx.Client, goals: Goals, admin: Headers
) -> None:
    kpi = goals.kpi("analyst")
    path = f"/v1/kpis/{kpi['id']}"
    # A reading of 3.5 hours: out of the healthy range.
    reading = client.post(
        f"{path}/readings", json={"value": "3.5", "effective_on": "2026-08-03"}, headers=admin
    ).json()
    recorded_at = ok(client.get(path, headers=admin))["last_reading"]["recorded_at"]
    # It was 1.5 really: corrected.
    ok(
        client.post(
            f"{path}/readings/corrections",
            json={"reading_id": reading["reading_id"], "value": "1.5", "reason": "timezone bug"},
            headers=admin,
        )
    )
    # Now healthy; as known at the reading's recording, unhealthy at 3.5.
    assert ok(client.get(path, headers=admin))["healthy"] is True
    then = ok(client.get(path, params={"known_at": recorded_at}, headers=admin))
    assert then["last_reading"]["value"] == "3.5" and then["healthy"] is False
    # As of the day before the reading: no reading, no verdict.
    before = ok(client.get(path, params={"as_of": "2026-08-02"}, headers=admin))
    assert before["last_reading"] is None and before["healthy"] is None
