"""A command's copy of a goal (ADR 46) holds the same state, and nothing done to it
reaches the goal it was copied from."""

from __future__ import annotations

from copy import deepcopy
from datetime import date

from domain.key_result import KeyResult
from tests.unit.test_goals import PRIORITIES, Q3_START, a_cycle, a_key_result, an_objective
from tests.unit.test_people import person


def state(goal: object) -> dict[str, object]:
    return {k: v for k, v in vars(goal).items() if k != "_pending_events"}


def checked_in_key_result() -> tuple[KeyResult, object]:
    cycle = a_cycle()
    churn = a_key_result(cycle, an_objective(cycle))
    for week in range(3):
        churn.record_check_in(
            actor="head-of-cs",
            cycle=cycle,
            value=f"3.{week}",
            confidence="on_track",
            note="weekly",
            effective_on=date(2026, 7, 7 + 7 * week),
        )
    churn.collect_events()
    return churn, cycle


def test_a_copy_holds_the_same_state() -> None:
    churn, cycle = checked_in_key_result()
    copy = deepcopy(churn)

    assert type(copy) is KeyResult and copy is not churn
    assert state(copy) == state(churn)
    assert copy.check_ins == churn.check_ins and copy.plans == churn.plans
    assert deepcopy(cycle).objective_ids == cycle.objective_ids  # type: ignore[attr-defined]


def test_what_a_copy_records_stays_in_the_copy() -> None:
    churn, cycle = checked_in_key_result()
    before = deepcopy(state(churn))
    copy = deepcopy(churn)

    copy.record_check_in(
        actor="head-of-cs",
        cycle=cycle,
        value="2.5",
        confidence="at_risk",
        note="",
        effective_on=Q3_START,
    )
    copy.rebaseline(
        actor="head-of-cs",
        cycle=cycle,
        baseline="3.0",
        target="2.2",
        reason=PRIORITIES,
        effective_on=date(2026, 8, 1),
    )

    assert len(copy.check_ins) == 4 and len(copy.plans) == 2
    assert state(churn) == before
    assert len(churn.check_ins) == 3 and len(churn.plans) == 1 and not churn.pending_events


def test_a_person_copy_keeps_its_own_timeline() -> None:
    # A person's timeline is mutable dataclasses: deep-copied, not shared.
    dev = person()
    dev.join_team(actor="hr-admin", team_id="eng-team", effective_on=date(2026, 7, 1))
    dev.collect_events()
    copy = deepcopy(dev)

    copy.leave_team(actor="hr-admin", team_id="eng-team", effective_on=date(2026, 8, 15))

    assert copy.teams_on(date(2026, 8, 20)) == []
    assert dev.teams_on(date(2026, 8, 20)) == ["eng-team"]
