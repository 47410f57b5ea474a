"""A write loads the goal it changes once at most: the command authorises on what it
loaded. (A goal this process already holds is not read from the store at all on a
command's first attempt, ADR 46: its save checks it is unchanged.)

Counted at the store: every read of a goal's events goes through the PostgreSQL
recorder's `select_events`, which the test wraps (the real query still runs) to count
the reads per goal while one request is answered. A route that loaded the goal to
authorise and then called a command that loaded it again read it twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import pytest

from application.ledger import GoalLedger
from domain.access import Role
from domain.cycle import Cycle
from tests.http.conftest import CYCLE, Goals, Headers, Tokens, check_in_body, created

pytestmark = pytest.mark.postgres

REASON = {"reason": "the plan changed", "reason_code": "priorities_changed"}


@dataclass(frozen=True)
class Write:
    """A request, and the goal it changes."""

    path: str
    body: dict[str, Any] | None
    changes: str


def _key_result(goals: Goals) -> dict[str, Any]:
    return goals.key_result(goals.objective("analyst")["id"], "analyst")


def _close_cycle(goals: Goals) -> Write:
    return Write(f"/v1/cycles/{CYCLE['id']}/close", None, str(Cycle.create_id(CYCLE["id"])))


def _align_objective(goals: Goals) -> Write:
    parent, objective = goals.objective("ceo"), goals.objective("analyst")
    body = {"parent_id": parent["id"], **REASON}
    return Write(f"/v1/objectives/{objective['id']}/align", body, objective["id"])


def _retire_objective(goals: Goals) -> Write:
    objective = goals.objective("analyst")
    return Write(f"/v1/objectives/{objective['id']}/retire", REASON, objective["id"])


def _create_key_result(goals: Goals) -> Write:
    objective = goals.objective("analyst")
    body = {
        "objective_id": objective["id"],
        "title": "NPS from 32 to 50",
        "owner": "analyst",
        "unit": "points",
        "direction": "increase",
        "baseline": "32",
        "target": "50",
        "measurement": {"source": "survey", "query": "promoters - detractors"},
        "effective_on": "2026-07-01",
    }
    # The key result is new; the objective it is added to is the goal that changes.
    return Write("/v1/key-results", body, objective["id"])


def _check_in(goals: Goals) -> Write:
    key_result = _key_result(goals)["id"]
    return Write(f"/v1/key-results/{key_result}/check-ins", check_in_body(), key_result)


def _correct_check_in(goals: Goals) -> Write:
    key_result = _key_result(goals)["id"]
    check_in = goals.check_in(key_result)["check_in_id"]
    body = {"check_in_id": check_in, "value": "40", "reason": "typo"}
    return Write(f"/v1/key-results/{key_result}/corrections", body, key_result)


def _rebaseline(goals: Goals) -> Write:
    key_result = _key_result(goals)["id"]
    body = {"baseline": "30", "target": "45", "effective_on": "2026-08-01", **REASON}
    return Write(f"/v1/key-results/{key_result}/rebaseline", body, key_result)


def _reweight(goals: Goals) -> Write:
    key_result = _key_result(goals)["id"]
    body = {"weight": "2", "effective_on": "2026-08-01", **REASON}
    return Write(f"/v1/key-results/{key_result}/reweight", body, key_result)


def _retire_key_result(goals: Goals) -> Write:
    key_result = _key_result(goals)["id"]
    return Write(f"/v1/key-results/{key_result}/retire", REASON, key_result)


def _kpi_reading(goals: Goals) -> Write:
    kpi = goals.kpi("analyst")["id"]
    return Write(f"/v1/kpis/{kpi}/readings", {"value": "1.5"}, kpi)


def _correct_kpi_reading(goals: Goals) -> Write:
    kpi = goals.kpi("analyst")["id"]
    reading = created(
        goals.client.post(f"/v1/kpis/{kpi}/readings", json={"value": "1.5"}, headers=goals.admin)
    )
    body = {"reading_id": reading["reading_id"], "value": "1.4", "reason": "typo"}
    return Write(f"/v1/kpis/{kpi}/readings/corrections", body, kpi)


def _change_kpi_target(goals: Goals) -> Write:
    kpi = goals.kpi("analyst")["id"]
    body = {"target": "3", "healthy_low": "0", "healthy_high": "3", **REASON}
    return Write(f"/v1/kpis/{kpi}/target", body, kpi)


def _retire_kpi(goals: Goals) -> Write:
    kpi = goals.kpi("analyst")["id"]
    return Write(f"/v1/kpis/{kpi}/retire", REASON, kpi)


WRITES: dict[str, Callable[[Goals], Write]] = {
    "close_cycle": _close_cycle,
    "align_objective": _align_objective,
    "retire_objective": _retire_objective,
    "create_key_result": _create_key_result,
    "record_check_in": _check_in,
    "correct_check_in": _correct_check_in,
    "rebaseline_key_result": _rebaseline,
    "reweight_key_result": _reweight,
    "retire_key_result": _retire_key_result,
    "record_kpi_reading": _kpi_reading,
    "correct_kpi_reading": _correct_kpi_reading,
    "change_kpi_target": _change_kpi_target,
    "retire_kpi": _retire_kpi,
}


@contextmanager
def loads_per_goal(ledger: GoalLedger, monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Count the store's reads of each goal's events while the block runs."""
    recorder = ledger.recorder
    select_events = recorder.select_events
    loads: Counter[str] = Counter()

    def counted(originator_id: UUID | str, **kwargs: Any) -> Any:
        loads[str(originator_id)] += 1
        return select_events(originator_id, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(recorder, "select_events", counted)
        yield loads


@pytest.mark.parametrize("name", WRITES)
def test_a_write_loads_the_goal_it_changes_once(
    name: str,
    client: httpx.Client,
    goals: Goals,
    tokens: Tokens,
    ledger: GoalLedger,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    goals.open_cycle()
    write = WRITES[name](goals)
    # The analyst's own goals, with her member token (a cycle is the admin's to close): the
    # command authorises the grant on what it loaded.
    headers: Headers = (
        goals.admin if name == "close_cycle" else tokens.headers("analyst", Role.MEMBER)
    )

    with loads_per_goal(ledger, monkeypatch) as loads:
        response = client.post(write.path, json=write.body, headers=headers)

    assert response.is_success, response.text
    assert loads[write.changes] <= 1, loads
    # Nothing else is read twice either: the token's grant, the cycle the write is
    # decided on, an objective whose owner is asked about, each once at most.
    assert max(loads.values()) == 1, loads
