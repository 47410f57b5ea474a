"""A worker's replicas within a budget in bytes: the rows are the same, the kept goals
stay put on an interleaved log, and a goal long idle gives way."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from itertools import pairwise
from typing import Any
from uuid import UUID

import pytest

from application.goal_cache import estimated_bytes
from application.ledger import GoalLedger
from application.stores import open_ledger
from domain.base import LedgerAggregate
from domain.cycle import Cycle
from domain.values import utc_today
from projections import replicas as replicas_module
from projections.registry import worker_for
from projections.replicas import Replicas, WorkerReplicasSettings, replicas_budget
from storage.settings import store_env
from storage.views import ViewDatabase
from tests.integration.test_rebuild import long_history, rebuild_all, snapshot

CYCLE = "interleaved"


@pytest.fixture
def ledger(store_url: str) -> Iterator[GoalLedger]:
    opened = open_ledger(store_url, create_tables=True)
    try:
        yield opened
    finally:
        opened.close()


def _key_results(ledger: GoalLedger, count: int, objective: UUID) -> list[UUID]:
    return [
        ledger.create_key_result(
            actor="ceo",
            objective_id=objective,
            title=f"Key result {n}",
            owner="ceo",
            unit="%",
            direction="increase",
            baseline=0,
            target=100,
            measurement_source="warehouse",
            measurement_query=f"select kr_{n}",
            effective_on=utc_today(),
        ).id
        for n in range(count)
    ]


def _rounds(ledger: GoalLedger, key_results: list[UUID], rounds: int) -> None:
    """One check-in on each key result in turn, `rounds` times: an interleaved log."""
    for n in range(rounds):
        for key_result in key_results:
            ledger.record_check_in(
                actor="ceo", key_result_id=key_result, value=n, confidence="on_track"
            )


def _room(ledger: GoalLedger, objective: UUID, key_result: UUID, key_results: int) -> int:
    """A budget for the cycle, the objective and that many key results like the one named."""
    goals = [Cycle.create_id(CYCLE), objective] + [key_result] * key_results
    return sum(estimated_bytes(ledger.repository.get(goal)) for goal in goals)


def _follow(ledger: GoalLedger, replicas: Replicas, start: int) -> tuple[int, list[set[UUID]]]:
    """Advance the replicas along the log from `start`, as a worker does; each goal after
    its event must be the goal the store loads at that version. Returns the last position
    and the goals kept after each event."""
    kept: list[set[UUID]] = []
    log = ledger.recorder.select_notifications(start=start, limit=10_000, inclusive_of_start=False)
    for stored in log:
        event: Any = ledger.mapper.to_domain_event(stored)
        if not isinstance(event, LedgerAggregate.Event | LedgerAggregate.Created):
            continue
        replicas.get(event.originator_id, stored.id - 1)
        replicas.advance(event)  # type: ignore[arg-type]
        after = replicas.after(event, stored.id)
        assert after is not None and after.version == event.originator_version
        loaded = ledger.repository.get(event.originator_id, version=event.originator_version)
        assert after.__dict__ == loaded.__dict__
        assert replicas.estimated_bytes <= replicas.max_bytes
        kept.append(set(replicas.kept()))
    return log[-1].id, kept


def test_a_worker_with_no_room_for_goals_writes_the_same_rows(
    ledger: GoalLedger, store_url: str
) -> None:
    # A quarter of history, projected by a worker whose budget keeps no goal: each event
    # loads its goals from the store (a few wait aside, by count).
    long_history(ledger, check_ins=300)
    starved = GoalLedger(env={**store_env(store_url), "WORKER_REPLICAS_MB": "0"})
    try:
        worker = worker_for(starved)
        worker.create_tables()
        worker.run_until_caught_up()
        assert worker._shared.max_bytes == 0
        assert worker._shared.loads > 0
        assert worker._shared.kept() == []
        views = ViewDatabase(ledger)
        starved_rows = snapshot(views)
    finally:
        starved.close()

    # Rebuilt with the default budget, where every goal fits: row for row the same.
    rebuild_all(ledger)
    assert snapshot(views) == starved_rows


def test_on_an_interleaved_log_the_kept_goals_stay_and_the_rest_are_loaded(
    ledger: GoalLedger,
) -> None:
    # Sixteen key results, checked in on in turn: every goal is in use all the time.
    ledger.open_cycle(
        actor="ceo", key=CYCLE, starts_on=utc_today(), ends_on=date(utc_today().year + 1, 1, 1)
    )
    objective = ledger.create_objective(
        actor="ceo", cycle_id=CYCLE, title="Grow", owner="ceo", kind="committed"
    ).id
    key_results = _key_results(ledger, 16, objective)
    _rounds(ledger, key_results, 12)

    # Room for about four of them at their final size, beside the cycle and objective.
    replicas = Replicas(ledger, max_bytes=_room(ledger, objective, key_results[0], 4))
    _, kept = _follow(ledger, replicas, 0)

    # Past the budget, the goals kept stay kept: those that did not fit wait aside or
    # are loaded again, rather than pushing out a kept one at each event (as the least
    # recently used would be, each needed again a few events later).
    changes = sum(1 for before, now in pairwise(kept) if before != now)
    assert changes <= 24, changes
    assert 2 <= len(set(key_results) & kept[-1]) <= 5
    assert replicas.loads > 0


def test_a_goal_idle_long_enough_gives_way(
    ledger: GoalLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replicas_module, "IDLE_POSITIONS", 20)
    ledger.open_cycle(
        actor="ceo", key=CYCLE, starts_on=utc_today(), ends_on=date(utc_today().year + 1, 1, 1)
    )
    objective = ledger.create_objective(
        actor="ceo", cycle_id=CYCLE, title="Grow", owner="ceo", kind="committed"
    ).id
    # Four key results checked in on for a while, then four others only.
    early = _key_results(ledger, 4, objective)
    _rounds(ledger, early, 10)
    late = _key_results(ledger, 4, objective)
    _rounds(ledger, late, 10)

    replicas = Replicas(ledger, max_bytes=_room(ledger, objective, early[0], 4))
    _, kept = _follow(ledger, replicas, 0)

    # The late ones are kept by the end; the early ones, idle since, made room.
    assert set(late) <= kept[-1]
    assert not set(early) & kept[-1]


def test_the_budget_is_a_documented_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert WorkerReplicasSettings().worker_replicas_mb == replicas_module.DEFAULT_REPLICAS_MB
    monkeypatch.setenv("GOALPOST_WORKER_REPLICAS_MB", "64")
    assert replicas_budget({}) == 64 * 1024 * 1024
    # The ledger's own environment wins (tests, tools).
    assert replicas_budget({"WORKER_REPLICAS_MB": "8"}) == 8 * 1024 * 1024
