"""Carrying a key result forward (ADR 37): the rules, on the aggregates themselves."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from domain.carry_forward import Carried, carried_objective, carry_forward
from domain.cycle import Cycle
from domain.errors import CycleClosedError, GoalRetiredError, InvalidInputError
from domain.key_result import KeyResult
from domain.objective import Objective
from domain.reports import KeyResultLine, ObjectiveStatus, counts
from domain.scoring import TrafficLight
from domain.values import ObjectiveKind, Reason, ReasonCode, utc_today

TODAY = utc_today()
# The previous quarter ended a month ago; the current one began the day after.
OLD_START, OLD_END = TODAY - timedelta(days=120), TODAY - timedelta(days=30)
NEW_START, NEW_END = OLD_END + timedelta(days=1), TODAY + timedelta(days=60)
REASON = "the data pipeline slipped a quarter"


def cycle(key: str, starts_on: date, ends_on: date) -> Cycle:
    return Cycle.open(actor="admin", key=key, starts_on=starts_on, ends_on=ends_on)


def objective(in_cycle: Cycle, title: str = "Stop the leaky bucket") -> Objective:
    return Objective.create(
        actor="head-of-cs", cycle=in_cycle, title=title, owner="head-of-cs", kind="committed"
    )


def churn(in_cycle: Cycle, under: Objective, **overrides: object) -> KeyResult:
    fields: dict[str, object] = {
        "title": "Gross revenue churn",
        "owner": "cs-lead",
        "unit": "% monthly",
        "direction": "decrease",
        "baseline": "3.1",
        "target": "2.0",
        "weight": "2",
        "measurement_source": "billing",
        "measurement_query": "churned MRR / starting MRR",
        "effective_on": in_cycle.starts_on,
    }
    fields.update(overrides)
    return KeyResult.create(actor="cs-lead", objective=under, cycle=in_cycle, **fields)  # type: ignore[arg-type]


@pytest.fixture
def old() -> Cycle:
    return cycle("prev-q", OLD_START, OLD_END)


@pytest.fixture
def new() -> Cycle:
    return cycle("this-q", NEW_START, NEW_END)


def carried(
    key_result: KeyResult,
    old: Cycle,
    old_objective: Objective,
    new: Cycle,
    *,
    to: Objective | None = None,
    **values: object,
) -> Carried:
    return carry_forward(
        key_result,
        actor="cs-lead",
        old_cycle=old,
        old_objective=old_objective,
        new_cycle=new,
        objective=to,
        reason=REASON,
        today=TODAY,
        **values,  # type: ignore[arg-type]
    )


def test_a_carry_closes_the_key_result_and_starts_its_successor_from_its_last_value(
    old: Cycle, new: Cycle
) -> None:
    before = objective(old)
    key_result = churn(old, before)
    key_result.record_check_in(
        actor="cs-lead", cycle=old, value="2.6", confidence="at_risk", note="", effective_on=OLD_END
    )
    old.close(actor="admin")

    result = carried(key_result, old, before, new)

    successor = result.key_result
    assert successor.carried_from == key_result.id and successor.cycle_id == "this-q"
    assert successor.current_plan.baseline == Decimal("2.6")  # its last value
    assert successor.current_plan.target == Decimal("2.0")  # its current target
    assert successor.current_plan.weight == Decimal("2")
    assert (successor.title, successor.owner, successor.unit) == (
        key_result.title,
        key_result.owner,
        key_result.unit,
    )
    assert successor.current_plan.effective_on == TODAY
    # A new objective carries on the old one, in the new cycle, with its title and owner.
    assert result.objective_created
    assert result.objective.carried_from == before.id
    assert result.objective.cycle_id == "this-q" and result.objective.title == before.title
    assert result.objective.kind is ObjectiveKind.COMMITTED
    assert result.objective.key_result_ids == [successor.id]
    assert result.objective.id in new.objective_ids

    # The old one is closed as carried forward on its cycle's last day, naming its successor.
    retirement = key_result.retirement
    assert retirement is not None
    assert retirement.reason_code is ReasonCode.CARRIED_FORWARD
    assert retirement.carried_to == successor.id and retirement.effective_on == OLD_END
    event = key_result.pending_events[-1]
    assert isinstance(event, KeyResult.CarriedForward)
    assert event.to_cycle_id == "this-q" and event.reason == REASON


def test_a_carried_key_result_counts_in_its_objective_at_its_final_score(
    old: Cycle, new: Cycle
) -> None:
    before = objective(old)
    stuck = churn(old, before)
    done = churn(old, before, title="Net revenue retention", direction="increase",
                 baseline="90", target="100", weight="2")  # fmt: skip
    stuck.record_check_in(
        actor="cs-lead",
        cycle=old,
        value="3.1",
        confidence="off_track",
        note="",
        effective_on=OLD_END,
    )
    done.record_check_in(
        actor="cs-lead",
        cycle=old,
        value="100",
        confidence="on_track",
        note="",
        effective_on=OLD_END,
    )

    def score() -> Decimal | None:
        lines = tuple(
            KeyResultLine.of(kr, old, OLD_END, ObjectiveKind.COMMITTED) for kr in (stuck, done)
        )
        return ObjectiveStatus.compose(
            id=before.id, cycle_id="prev-q", as_of=OLD_END, title=before.title, owner="head-of-cs",
            kind=ObjectiveKind.COMMITTED, parent_id=None, version=1, retired=None,
            key_results=lines,
        ).score  # fmt: skip

    assert score() == Decimal("0.5")
    old.close(actor="admin")
    carried(stuck, old, before, new)
    # Red (0.0) when carried, yet still in the mean: the closed cycle's grade is unchanged.
    status = stuck.status(old, OLD_END)
    assert status.retired is not None and status.traffic_light is TrafficLight.RED
    assert counts(status) and score() == Decimal("0.5")


def test_explicit_baseline_target_and_objective_are_kept(old: Cycle, new: Cycle) -> None:
    before = objective(old)
    key_result = churn(old, before)
    there = objective(new, "Keep the customers we win")
    result = carried(key_result, old, before, new, to=there, baseline="2.8", target="1.8")
    assert not result.objective_created and result.objective is there
    assert there.key_result_ids == [result.key_result.id]
    plan = result.key_result.current_plan
    assert (plan.baseline, plan.target) == (Decimal("2.8"), Decimal("1.8"))


def test_the_objective_carrying_on_the_old_one_is_found_among_the_new_cycles() -> None:
    old, new = cycle("prev-q", OLD_START, OLD_END), cycle("this-q", NEW_START, NEW_END)
    before = objective(old)
    first = carried(churn(old, before), old, before, new)
    other = objective(new, "Something else")
    assert carried_objective([other, first.objective], before) is first.objective
    assert carried_objective([other], before) is None


def test_a_carry_is_refused_into_a_closed_an_earlier_or_an_unbegun_cycle(
    old: Cycle, new: Cycle
) -> None:
    before = objective(old)
    key_result = churn(old, before)
    earlier = cycle("earlier-q", OLD_START - timedelta(days=90), OLD_START - timedelta(days=1))
    with pytest.raises(InvalidInputError) as refused:
        carried(key_result, old, before, earlier)
    assert refused.value.field == "cycle_id"
    with pytest.raises(InvalidInputError) as refused:
        carried(key_result, old, before, old)
    assert refused.value.field == "cycle_id"
    upcoming = cycle("next-q", TODAY + timedelta(days=1), TODAY + timedelta(days=90))
    with pytest.raises(InvalidInputError) as refused:
        carried(key_result, old, before, upcoming)
    assert refused.value.field == "cycle_id"
    new.close(actor="admin")
    with pytest.raises(CycleClosedError):
        carried(key_result, old, before, new)
    assert key_result.retirement is None and not key_result.pending_events[1:]


def test_a_carry_is_refused_for_a_key_result_already_closed_or_with_bad_input(
    old: Cycle, new: Cycle
) -> None:
    before = objective(old)
    key_result = churn(old, before)
    with pytest.raises(InvalidInputError) as refused:
        carried(key_result, old, before, new, target="4")  # above the baseline of a decrease
    assert refused.value.field == "target"
    with pytest.raises(InvalidInputError) as refused:
        carried(key_result, old, before, new, baseline="lots")
    assert refused.value.field == "baseline"
    with pytest.raises(InvalidInputError) as refused:
        carry_forward(
            key_result, actor="cs-lead", old_cycle=old, old_objective=before, new_cycle=new,
            objective=None, reason=" ", today=TODAY,
        )  # fmt: skip
    assert refused.value.field == "reason"
    with pytest.raises(InvalidInputError) as refused:
        carried(key_result, old, before, new, to=objective(old))
    assert refused.value.field == "objective_id"

    carried(key_result, old, before, new)
    with pytest.raises(GoalRetiredError):
        carried(key_result, old, before, new)


def test_a_carried_key_result_takes_corrections_as_its_closed_cycle_does_and_nothing_else(
    old: Cycle, new: Cycle
) -> None:
    before = objective(old)
    key_result = churn(old, before)
    check_in = key_result.record_check_in(
        actor="cs-lead", cycle=old, value="2.6", confidence="at_risk", note="", effective_on=OLD_END
    )
    old.close(actor="admin")
    successor = carried(key_result, old, before, new).key_result
    key_result.correct_check_in(
        actor="cs-lead",
        check_in_id=check_in,
        value="2.8",
        reason=Reason("a refund booked in the wrong month", ReasonCode.DATA_ERROR),
    )
    # Its final score follows the corrected value; its successor keeps the baseline it took.
    assert key_result.status(old, OLD_END).value == Decimal("2.8")
    assert successor.current_plan.baseline == Decimal("2.6")
    with pytest.raises(GoalRetiredError):
        key_result.rebaseline(
            actor="cs-lead", cycle=new, baseline="3", target="2",
            reason=Reason("moved", ReasonCode.OTHER), effective_on=TODAY,
        )  # fmt: skip
    # A key result retired for any other reason takes no correction.
    other = churn(new, objective(new, "Another"), effective_on=NEW_START)
    taken = other.record_check_in(
        actor="cs-lead", cycle=new, value="2.9", confidence="on_track", note="", effective_on=TODAY
    )
    other.retire(
        actor="cs-lead", cycle=new, reason=Reason("dropped", ReasonCode.PRIORITIES_CHANGED),
        effective_on=TODAY,
    )  # fmt: skip
    with pytest.raises(GoalRetiredError):
        other.correct_check_in(
            actor="cs-lead", check_in_id=taken, value="3",
            reason=Reason("typo", ReasonCode.DATA_ERROR),
        )  # fmt: skip
