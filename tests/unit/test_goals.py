"""Domain rules, enforced by the aggregates themselves."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from domain.cycle import Cycle, CycleState
from domain.errors import (
    CycleClosedError,
    GoalRetiredError,
    InvalidInputError,
    NotFoundError,
)
from domain.key_result import KeyResult
from domain.kpi import Kpi
from domain.objective import Objective
from domain.reports import KeyResultLine, judged
from domain.scoring import Pace, TrafficLight, bar_for
from domain.values import ObjectiveKind, Reason, ReasonCode, check_reason, utc_today

Q3_START, Q3_END = date(2026, 7, 1), date(2026, 9, 30)
PRIORITIES = Reason("the mid-quarter review moved engineers", ReasonCode.PRIORITIES_CHANGED)


def a_cycle() -> Cycle:
    return Cycle.open(actor="ceo", key="2026-Q3", starts_on=Q3_START, ends_on=Q3_END)


def an_objective(cycle: Cycle) -> Objective:
    return Objective.create(
        actor="ceo", cycle=cycle, title="Stop the leaky bucket", owner="ceo", kind="committed"
    )


def a_key_result(cycle: Cycle, objective: Objective, **overrides: object) -> KeyResult:
    fields: dict[str, object] = {
        "title": "Gross revenue churn",
        "owner": "head-of-cs",
        "unit": "% monthly",
        "direction": "decrease",
        "baseline": "3.1",
        "target": "2.0",
        "weight": "1",
        "measurement_source": "billing",
        "measurement_query": "churned MRR / starting MRR",
        "effective_on": Q3_START,
    }
    fields.update(overrides)
    return KeyResult.create(actor="head-of-cs", objective=objective, cycle=cycle, **fields)  # type: ignore[arg-type]


def test_a_quarter_of_one_key_result() -> None:
    # The company opens Q3 and sets an objective with a churn key result.
    cycle = a_cycle()
    objective = an_objective(cycle)
    churn = a_key_result(cycle, objective)
    assert objective.key_result_ids == [churn.id]
    assert cycle.objective_ids == [objective.id]

    # No check-in yet: the value is the baseline, the score zero.
    status = churn.status(cycle, date(2026, 7, 10))
    assert status.value == Decimal("3.1") and status.score == 0
    assert status.last_check_in is None

    # Week 5: churn at 2.4%, the spec's 0.636.
    churn.record_check_in(
        actor="head-of-cs",
        cycle=cycle,
        value="2.4",
        confidence="at_risk",
        note="playbook rolling out",
        effective_on=date(2026, 8, 1),
    )
    status = churn.status(cycle, date(2026, 8, 1))
    assert status.score.quantize(Decimal("0.001")) == Decimal("0.636")
    assert status.traffic_light is TrafficLight.AMBER

    # Three weeks later with no new check-in the key result is stale; on pace still.
    later = churn.status(cycle, date(2026, 8, 22))
    assert later.stale and later.pace is Pace.ON_PACE

    # As of July the check-in was not yet effective.
    assert churn.status(cycle, date(2026, 7, 31)).score == 0


def test_a_backdated_check_in_does_not_replace_a_later_one() -> None:
    cycle = a_cycle()
    churn = a_key_result(cycle, an_objective(cycle))
    # The August check-in arrives first, then a late July one.
    churn.record_check_in(
        actor="x", cycle=cycle, value="2.4", confidence="on_track", note="",
        effective_on=date(2026, 8, 10),
    )  # fmt: skip
    churn.record_check_in(
        actor="x", cycle=cycle, value="2.9", confidence="at_risk", note="",
        effective_on=date(2026, 7, 20),
    )  # fmt: skip
    # The latest effective value wins, whatever the order they were recorded in.
    assert churn.status(cycle, date(2026, 8, 31)).value == Decimal("2.4")
    assert churn.status(cycle, date(2026, 7, 31)).value == Decimal("2.9")


def test_rebaselining_scores_against_the_current_and_the_original_plan() -> None:
    cycle = a_cycle()
    coverage = a_key_result(
        cycle,
        an_objective(cycle),
        title="Health-score coverage",
        direction="increase",
        baseline="0",
        target="100",
        unit="% of accounts",
    )
    coverage.record_check_in(
        actor="x", cycle=cycle, value="40", confidence="off_track", note="pipeline",
        effective_on=date(2026, 7, 20),
    )  # fmt: skip
    # Mid-quarter the target comes down to 80, with a reason.
    coverage.rebaseline(
        actor="cto",
        cycle=cycle,
        baseline="0",
        target="80",
        reason=PRIORITIES,
        effective_on=date(2026, 8, 14),
    )
    coverage.record_check_in(
        actor="x", cycle=cycle, value="60", confidence="on_track", note="",
        effective_on=date(2026, 8, 28),
    )  # fmt: skip
    status = coverage.status(cycle, date(2026, 8, 31))
    assert status.plan.target == 80 and status.original_plan.target == 100
    assert status.score == Decimal("0.75")
    assert status.score_against_original_plan == Decimal("0.6")
    # Before the re-baseline took effect the original plan was in force.
    assert coverage.status(cycle, date(2026, 8, 1)).plan.target == 100


def test_plans_must_point_the_right_way() -> None:
    cycle = a_cycle()
    objective = an_objective(cycle)
    with pytest.raises(InvalidInputError) as raised:
        a_key_result(cycle, objective, direction="increase", baseline="5", target="5")
    assert raised.value.field == "target"
    with pytest.raises(InvalidInputError):
        a_key_result(cycle, objective, direction="decrease", baseline="2", target="3")
    with pytest.raises(InvalidInputError) as raised:
        a_key_result(cycle, objective, weight="0")
    assert raised.value.field == "weight"
    with pytest.raises(InvalidInputError) as raised:
        a_key_result(cycle, objective, direction="milestone", baseline="0", target="1.5")
    assert raised.value.field == "target"
    with pytest.raises(InvalidInputError) as raised:
        a_key_result(cycle, objective, direction="sideways")
    assert raised.value.field == "direction"
    with pytest.raises(InvalidInputError) as raised:
        a_key_result(cycle, objective, baseline=float("nan"))
    assert raised.value.field == "baseline"
    # Nothing refused was added to the objective.
    assert objective.key_result_ids == []


def test_values_and_dates_are_checked() -> None:
    cycle = a_cycle()
    soc2 = a_key_result(cycle, an_objective(cycle), direction="milestone", baseline="0", target="1")
    with pytest.raises(InvalidInputError) as raised:
        soc2.record_check_in(
            actor="cto", cycle=cycle, value="1.2", confidence="on_track", note="",
            effective_on=date(2026, 8, 1),
        )  # fmt: skip
    assert raised.value.field == "value"
    with pytest.raises(InvalidInputError) as raised:
        soc2.record_check_in(
            actor="cto", cycle=cycle, value="0.5", confidence="on_track", note="",
            effective_on=utc_today() + timedelta(days=1),
        )  # fmt: skip
    assert raised.value.field == "effective_on"
    with pytest.raises(InvalidInputError) as raised:
        soc2.record_check_in(
            actor="cto", cycle=cycle, value="0.5", confidence="probably", note="",
            effective_on=date(2026, 8, 1),
        )  # fmt: skip
    assert raised.value.field == "confidence"
    with pytest.raises(InvalidInputError):
        soc2.record_check_in(
            actor="cto", cycle=cycle, value="0.5", confidence="on_track", note="",
            effective_on=date(2026, 10, 2),
        )  # fmt: skip
    assert soc2.version == 1


def test_a_retired_key_result_takes_no_more_events() -> None:
    cycle = a_cycle()
    churn = a_key_result(cycle, an_objective(cycle))
    check_in_id = churn.record_check_in(
        actor="x", cycle=cycle, value="2.9", confidence="on_track", note="",
        effective_on=date(2026, 7, 15),
    )  # fmt: skip
    churn.retire(
        actor="ceo",
        cycle=cycle,
        reason=Reason("tracked as a KPI from now on", ReasonCode.GRADUATED_TO_KPI),
        effective_on=date(2026, 8, 1),
    )
    with pytest.raises(GoalRetiredError):
        churn.record_check_in(
            actor="x", cycle=cycle, value="2.5", confidence="on_track", note="",
            effective_on=date(2026, 8, 2),
        )  # fmt: skip
    with pytest.raises(GoalRetiredError):
        churn.correct_check_in(actor="x", check_in_id=check_in_id, value="2.8", reason=PRIORITIES)
    with pytest.raises(GoalRetiredError):
        churn.retire(actor="ceo", cycle=cycle, reason=PRIORITIES, effective_on=date(2026, 8, 3))
    # The retirement shows from its effective date, with its reason.
    assert churn.status(cycle, date(2026, 7, 31)).retired is None
    retired = churn.status(cycle, date(2026, 8, 1)).retired
    assert retired is not None and retired.reason_code is ReasonCode.GRADUATED_TO_KPI


def test_a_closed_cycle_refuses_all_but_corrections() -> None:
    cycle = a_cycle()
    objective = an_objective(cycle)
    churn = a_key_result(cycle, objective)
    check_in_id = churn.record_check_in(
        actor="x", cycle=cycle, value="2.9", confidence="on_track", note="",
        effective_on=date(2026, 9, 1),
    )  # fmt: skip
    cycle.close(actor="ceo")
    with pytest.raises(CycleClosedError):
        churn.record_check_in(
            actor="x", cycle=cycle, value="2.5", confidence="on_track", note="",
            effective_on=date(2026, 9, 2),
        )  # fmt: skip
    with pytest.raises(CycleClosedError):
        churn.rebaseline(
            actor="x", cycle=cycle, baseline="3", target="2", reason=PRIORITIES,
            effective_on=date(2026, 9, 2),
        )  # fmt: skip
    with pytest.raises(CycleClosedError):
        an_objective(cycle)
    with pytest.raises(CycleClosedError):
        cycle.close(actor="ceo")
    # A correction with a reason is still accepted.
    churn.correct_check_in(
        actor="head-of-cs",
        check_in_id=check_in_id,
        value="2.7",
        reason=check_reason("billing export double-counted one account", "data_error"),
    )
    assert churn.check_ins[check_in_id].value == Decimal("2.7")
    assert churn.check_ins[check_in_id].original_value == Decimal("2.9")


def test_corrections_name_a_real_check_in_and_a_real_change() -> None:
    cycle = a_cycle()
    churn = a_key_result(cycle, an_objective(cycle))
    check_in_id = churn.record_check_in(
        actor="x", cycle=cycle, value="2.9", confidence="on_track", note="",
        effective_on=date(2026, 9, 1),
    )  # fmt: skip
    with pytest.raises(NotFoundError) as missing:
        churn.correct_check_in(actor="x", check_in_id=cycle.id, value="2", reason=PRIORITIES)
    assert missing.value.field == "check_in_id"
    with pytest.raises(InvalidInputError):
        churn.correct_check_in(actor="x", check_in_id=check_in_id, value="2.90", reason=PRIORITIES)


def test_changes_of_plan_need_a_reason() -> None:
    with pytest.raises(InvalidInputError) as raised:
        check_reason("   ", "other")
    assert raised.value.field == "reason"
    with pytest.raises(InvalidInputError) as raised:
        check_reason("because", "felt_like_it")
    assert raised.value.field == "reason_code"


def test_every_event_carries_its_actor_and_a_monotonic_record_time() -> None:
    cycle = a_cycle()
    churn = a_key_result(cycle, an_objective(cycle))
    for week in range(5):
        churn.record_check_in(
            actor=f"member-{week}",
            cycle=cycle,
            value="2.9",
            confidence="on_track",
            note="",
            effective_on=date(2026, 7, 1) + timedelta(weeks=week),
        )
    events = churn.collect_events()
    assert [e.actor for e in events[1:]] == [f"member-{w}" for w in range(5)]  # type: ignore[attr-defined]
    times = [e.timestamp for e in events]  # type: ignore[attr-defined]
    assert times == sorted(times)
    assert all(t.utcoffset() == timedelta(0) for t in times)


def test_an_objective_cannot_align_to_itself_or_its_child() -> None:
    cycle = a_cycle()
    parent = an_objective(cycle)
    child = Objective.create(
        actor="cto", cycle=cycle, title="Reliability", owner="cto", kind="aspirational",
        parent=parent,
    )  # fmt: skip
    assert child.parent_id == parent.id
    with pytest.raises(InvalidInputError):
        parent.align_to(actor="ceo", parent=child, reason=PRIORITIES, cycle=cycle)
    with pytest.raises(InvalidInputError):
        parent.align_to(actor="ceo", parent=parent, reason=PRIORITIES, cycle=cycle)


def test_a_kpi_out_of_range_twice_running_is_an_okr_candidate() -> None:
    uptime = Kpi.define(
        actor="cto",
        area="Reliability",
        name="Uptime",
        owner="cto",
        unit="%",
        formula="available minutes / minutes",
        data_source="status page",
        cadence="monthly",
        direction="stay_above",
        target="99.5",
        healthy_low="99.5",
        healthy_high="100",
        target_set_on=date(2026, 6, 1),
    )
    for day, value in [(date(2026, 7, 31), "99.9"), (date(2026, 8, 31), "99.2")]:
        uptime.record_reading(actor="cto", value=value, effective_on=day)
    assert not uptime.is_okr_candidate(date(2026, 8, 31))
    assert uptime.status(date(2026, 8, 31)).healthy is False
    uptime.record_reading(actor="cto", value="99.1", effective_on=date(2026, 9, 30))
    assert uptime.is_okr_candidate(date(2026, 9, 30))
    # Lowering the bar is a change with a reason, judged from its own date on.
    uptime.change_target(
        actor="cto",
        target="99",
        healthy_low="99",
        healthy_high="100",
        reason=PRIORITIES,
        effective_on=date(2026, 9, 30),
    )
    assert uptime.status(date(2026, 9, 30)).healthy is True
    assert uptime.status(date(2026, 8, 31)).healthy is False


def test_a_key_result_line_is_the_key_result_as_it_stands_on_a_day() -> None:
    # The one builder every report, read model and replay uses for a key result's line.
    cycle = a_cycle()
    objective = an_objective(cycle)
    churn = a_key_result(cycle, objective)
    churn.record_check_in(
        actor="head-of-cs",
        cycle=cycle,
        value="2.4",
        confidence="at_risk",
        note="playbook rolling out",
        effective_on=date(2026, 8, 1),
    )
    line = KeyResultLine.of(churn, cycle, date(2026, 8, 1), objective.kind)
    assert (line.id, line.title, line.owner, line.unit, line.direction, line.version) == (
        churn.id,
        "Gross revenue churn",
        "head-of-cs",
        "% monthly",
        "decrease",
        churn.version,
    )
    # Judged by its objective's kind: committed, so 0.636 is red.
    assert line.bar == bar_for(ObjectiveKind.COMMITTED)
    assert line.status == judged(churn.status(cycle, date(2026, 8, 1)), line.bar)
    assert line.status.score.quantize(Decimal("0.001")) == Decimal("0.636")
    assert line.status.traffic_light is TrafficLight.RED

    # A day before the check-in was effective, the line says what was known of that day.
    assert KeyResultLine.of(churn, cycle, date(2026, 7, 31), objective.kind).status.score == 0


def test_a_cycle_stands_by_its_dates_until_closed_even_early() -> None:
    quarter = a_cycle()
    assert quarter.state_on(Q3_START - timedelta(days=1)) is CycleState.UPCOMING
    assert quarter.state_on(Q3_START) is quarter.state_on(Q3_END) is CycleState.CURRENT
    assert quarter.state_on(Q3_END + timedelta(days=1)) is CycleState.ENDED
    today = utc_today()
    running = Cycle.open(
        actor="ceo",
        key="now",
        starts_on=today - timedelta(days=5),
        ends_on=today + timedelta(days=5),
    )
    running.close(actor="ceo")
    assert running.state_on(today) is CycleState.CLOSED
    # Closed today: not yet on the days before, nor before it began.
    assert running.state_on(today - timedelta(days=1)) is CycleState.CURRENT
    assert running.state_on(today - timedelta(days=6)) is CycleState.UPCOMING
