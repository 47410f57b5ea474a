"""The demo, recorded: the previous quarter closed and graded, the current one up to today.

The story is a list of steps, each at the moment it would have happened live, told in time
order. Into an empty store, which it marks as a demo store, each step is recorded at its
moment (ADR 44), so the change report shows only the story's own irregularities and
`known_at` in week 6 shows week 6. Dates follow `cli.demo_calendar`: the quarter before
the day of loading, and that day's quarter up to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial

from application.demo_store import mark_demo_store
from application.ledger import GoalLedger
from cli.demo_calendar import DemoCalendar, moment, month_start
from cli.demo_current import (
    CARRIED_CHURN_WEEKS,
    CARRY_REASON,
    ENTERPRISE,
    PILOT,
    SELF_ASSESSMENTS,
    SUPPORT,
    SUPPORT_KEY_RESULT_TITLE,
    SUPPORT_KPI,
    SUPPORT_TARGET,
)
from cli.demo_kpis import KPIS, ONBOARDING_GRADUATION_READING, ONBOARDING_READINGS, KpiSpec
from cli.demo_ownership import ownership
from cli.demo_people import people
from cli.demo_quarter import (
    CHURN,
    CHURN_CORRECTION,
    COVERAGE_REBASELINE,
    OBJECTIVES,
    ONBOARDING_GRADUATION,
    ObjectiveSpec,
)
from cli.demo_story import Story
from domain.graduation import KpiTerms
from domain.kpi import Cadence
from domain.values import Confidence, utc_today
from processes.kpi_check_ins import KpiCheckInProcess

# What a step does; what it returns (a command's `Saved`) is not needed.
Action = Callable[[], object]


class DemoStoreError(Exception):
    """The store already holds history: the demo loads only into an empty store."""


@dataclass(frozen=True)
class DemoSummary:
    previous_cycle: str
    current_cycle: str
    pilot_cycle: str
    objectives: int
    key_results: int
    check_ins: int
    kpis: int
    readings: int


def demo_loaded(ledger: GoalLedger) -> bool:
    return (ledger.recorder.max_notification_id() or 0) > 0


def load_demo(ledger: GoalLedger, today: date | None = None) -> DemoSummary:
    """Tell the demo into an empty store, marking it a demo store first."""
    if demo_loaded(ledger) or not mark_demo_store(ledger):
        raise DemoStoreError(
            "the demo loads only into an empty store, which it marks as a demo store; "
            "this one already holds history"
        )
    calendar = DemoCalendar.of(today if today is not None else utc_today())
    kpi_process = KpiCheckInProcess(ledger)
    kpi_process.create_tables()
    story = Story(ledger, calendar.today, kpi_process)
    _kpis(story, calendar)
    _previous_quarter(story, calendar)
    _close_and_carry(story, calendar)
    _current_quarter(story, calendar)
    _pilot(story, calendar)
    people(story, calendar)
    ownership(story, calendar)
    story.tell()
    cycles = (calendar.previous.key, calendar.current.key, calendar.pilot_key)
    objectives = [o for key in cycles for o in ledger.objective_ids(key)]
    return DemoSummary(
        previous_cycle=calendar.previous.key,
        current_cycle=calendar.current.key,
        pilot_cycle=calendar.pilot_key,
        objectives=len(objectives),
        key_results=sum(len(ledger.get_objective(o).key_result_ids) for o in objectives),
        check_ins=story.counts["check_ins"],
        # The KPIs defined up front, and the one onboarding graduates into.
        kpis=len(KPIS) + 1,
        readings=story.counts["readings"],
    )


def _kpis(story: Story, calendar: DemoCalendar) -> None:
    ledger, previous, current = story.ledger, calendar.previous, calendar.current
    months_in = len(calendar.month_ends_so_far())
    for number, kpi in enumerate(KPIS):
        set_on = month_start(previous.starts_on, kpi.target_set_months_before)

        def define(kpi: KpiSpec = kpi, set_on: date = set_on) -> None:
            story.ids[f"kpi:{kpi.name}"] = ledger.define_kpi(
                actor=kpi.owner,
                area=kpi.area,
                name=kpi.name,
                owner=kpi.owner,
                unit=kpi.unit,
                formula=kpi.formula,
                data_source=kpi.data_source,
                cadence=Cadence.MONTHLY,
                direction=kpi.direction,
                target=kpi.target,
                healthy_low=kpi.healthy_low,
                healthy_high=kpi.healthy_high,
                target_set_on=set_on,
            ).id

        story.at(moment(set_on, 9, number), define)
        change = kpi.target_change
        if change is not None:
            effective_on = month_start(previous.starts_on, 1 - change.effective_month)

            def change_target(kpi: KpiSpec = kpi, effective_on: date = effective_on) -> None:
                assert kpi.target_change is not None
                ledger.change_kpi_target(
                    actor=kpi.target_change.actor,
                    kpi_id=story.ids[f"kpi:{kpi.name}"],
                    target=kpi.target_change.target,
                    healthy_low=kpi.target_change.healthy_low,
                    healthy_high=kpi.target_change.healthy_high,
                    reason=kpi.target_change.reason,
                    reason_code=kpi.target_change.reason_code,
                    effective_on=effective_on,
                )

            story.at(moment(effective_on, 11), change_target)
        dated = [
            *zip(previous.month_ends, kpi.readings, strict=False),
            *zip(current.month_ends[:months_in], kpi.current_readings, strict=False),
        ]
        for month_end, value in dated:
            _reading(story, f"kpi:{kpi.name}", kpi.owner, month_end, value, number)


def _reading(story: Story, handle: str, actor: str, month_end: date, value: str, n: int) -> None:
    def record() -> None:
        story.ledger.record_kpi_reading(
            actor=actor, kpi_id=story.ids[handle], value=value, effective_on=month_end
        )
        story.counts["readings"] += 1
        story.kpi_process.run_until_caught_up()

    # Each month's figure is in on the next working morning.
    story.at(moment(month_end + timedelta(days=1), 10, n), record)


def _previous_quarter(story: Story, calendar: DemoCalendar) -> None:
    ledger, quarter = story.ledger, calendar.previous
    story.at(
        moment(quarter.starts_on, 8),
        lambda: ledger.open_cycle(
            actor="ceo", key=quarter.key, starts_on=quarter.starts_on, ends_on=quarter.ends_on
        ),
    )
    for number, objective in enumerate(OBJECTIVES):
        story.at(
            moment(quarter.starts_on, 9, number),
            partial(_plan, story, objective, quarter.key, quarter.starts_on),
        )
    rebaseline = COVERAGE_REBASELINE
    story.at(
        moment(quarter.week(rebaseline.before_week), 10),
        lambda: ledger.rebaseline_key_result(
            actor=rebaseline.actor,
            key_result_id=story.ids[rebaseline.key_result],
            baseline=rebaseline.baseline,
            target=rebaseline.target,
            reason=rebaseline.reason,
            reason_code=rebaseline.reason_code,
            effective_on=quarter.week(rebaseline.effective_week),
        ),
    )
    specs = [kr for objective in OBJECTIVES for kr in objective.key_results]
    for week, friday in enumerate(quarter.fridays, start=1):
        for number, kr in enumerate(specs):
            value, confidence, note = kr.weeks[week - 1]
            _check_in(story, kr.handle, kr.owner, week, friday, value, confidence, note, number)
    correction = CHURN_CORRECTION

    def correct() -> None:
        ledger.correct_check_in(
            actor=correction.actor,
            key_result_id=story.ids[correction.key_result],
            check_in_id=story.check_in_ids[correction.key_result, correction.week],
            value=correction.value,
            reason=correction.reason,
            reason_code=correction.reason_code,
        )

    story.at(moment(quarter.week(correction.recorded_after_week), 18), correct)
    graduation = ONBOARDING_GRADUATION

    def graduate() -> None:
        story.ids[f"kpi:{graduation.name}"] = ledger.graduate_key_result(
            actor=graduation.actor,
            key_result_id=story.ids[graduation.key_result],
            reason=graduation.reason,
            terms=KpiTerms(
                area=graduation.area,
                name=graduation.name,
                formula=graduation.formula,
                data_source=graduation.data_source,
                cadence=Cadence.MONTHLY,
                target=graduation.target,
            ),
        ).id

    story.at(moment(quarter.ends_on, 15), graduate)
    months_in = len(calendar.month_ends_so_far())
    for month_end, value in (
        (quarter.month_ends[2], ONBOARDING_GRADUATION_READING),
        *zip(calendar.current.month_ends[:months_in], ONBOARDING_READINGS, strict=False),
    ):
        _reading(story, f"kpi:{graduation.name}", graduation.actor, month_end, value, 9)


def _check_in(
    story: Story,
    handle: str,
    actor: str,
    week: int,
    friday: date,
    value: str,
    confidence: Confidence,
    note: str,
    number: int,
) -> None:
    def record() -> None:
        saved = story.ledger.record_check_in(
            actor=actor,
            key_result_id=story.ids[handle],
            value=value,
            confidence=confidence,
            note=note,
            effective_on=friday,
        )
        if saved.check_in_id is not None:
            story.check_in_ids[handle, week] = saved.check_in_id
            story.counts["check_ins"] += 1

    story.at(moment(friday, 16, number), record)


def _close_and_carry(story: Story, calendar: DemoCalendar) -> None:
    ledger, previous, current = story.ledger, calendar.previous, calendar.current
    story.at(
        moment(current.starts_on, 7), lambda: ledger.close_cycle(actor="ceo", key=previous.key)
    )
    story.at(
        moment(current.starts_on, 8),
        lambda: ledger.open_cycle(
            actor="ceo", key=current.key, starts_on=current.starts_on, ends_on=current.ends_on
        ),
    )

    def carry() -> None:
        story.ids["churn-carried"] = ledger.carry_forward_key_result(
            actor=CHURN.owner,
            key_result_id=story.ids[CHURN.handle],
            cycle_id=current.key,
            reason=CARRY_REASON,
        ).id

    story.at(moment(current.starts_on, 8, 30), carry)
    objectives = {objective.handle for objective in OBJECTIVES}
    for number, assessment in enumerate(SELF_ASSESSMENTS):

        def assess(assessment: tuple[str, str, str, str] = assessment) -> None:
            handle, actor, grade, reflection = assessment
            if handle in objectives:
                ledger.self_assess_objective(
                    actor=actor, objective_id=story.ids[handle], grade=grade, reflection=reflection
                )
            else:
                ledger.self_assess_key_result(
                    actor=actor, key_result_id=story.ids[handle], grade=grade, reflection=reflection
                )

        story.at(moment(current.starts_on + timedelta(days=2), 11, number), assess)


def _current_quarter(story: Story, calendar: DemoCalendar) -> None:
    ledger, quarter = story.ledger, calendar.current
    fridays = calendar.fridays_so_far()
    _new_objective(story, ENTERPRISE, quarter.key, quarter.starts_on, fridays)
    _new_objective(story, SUPPORT, quarter.key, quarter.starts_on, fridays)

    def measured() -> None:
        story.ids["support-kr"] = ledger.add_kpi_key_result(
            actor=SUPPORT.owner,
            kpi_id=story.ids[f"kpi:{SUPPORT_KPI}"],
            objective_id=story.ids[SUPPORT.handle],
            title=SUPPORT_KEY_RESULT_TITLE,
            target=SUPPORT_TARGET,
            effective_on=quarter.starts_on,
        ).id

    # The day after the quarter opened: the previous month's reading is in by then, and the
    # key result starts from it.
    story.at(moment(quarter.starts_on + timedelta(days=1), 11), measured)
    for week, friday in enumerate(fridays, start=1):
        value, confidence, note = CARRIED_CHURN_WEEKS[week - 1]
        _check_in(story, "churn-carried", CHURN.owner, week, friday, value, confidence, note, 0)


def _pilot(story: Story, calendar: DemoCalendar) -> None:
    ledger = story.ledger
    starts_on = calendar.pilot_starts_on
    story.at(
        moment(starts_on, 8),
        lambda: ledger.open_cycle(
            actor="ceo",
            key=calendar.pilot_key,
            starts_on=starts_on,
            ends_on=calendar.pilot_ends_on,
        ),
    )
    _new_objective(story, PILOT, calendar.pilot_key, starts_on, (starts_on + timedelta(days=1),))


def _plan(story: Story, objective: ObjectiveSpec, cycle: str, starts_on: date) -> None:
    """Create the objective (under its parent, if it names one) and its key results."""
    ledger = story.ledger
    story.ids[objective.handle] = ledger.create_objective(
        actor=objective.owner,
        cycle_id=cycle,
        title=objective.title,
        owner=objective.owner,
        kind=objective.kind,
        parent_id=story.ids[objective.parent] if objective.parent else None,
    ).id
    for kr in objective.key_results:
        story.ids[kr.handle] = ledger.create_key_result(
            actor=objective.owner,
            objective_id=story.ids[objective.handle],
            title=kr.title,
            owner=kr.owner,
            unit=kr.unit,
            direction=kr.direction,
            baseline=kr.baseline,
            target=kr.target,
            measurement_source=kr.source,
            measurement_query=kr.query,
            effective_on=starts_on,
        ).id


def _new_objective(
    story: Story, objective: ObjectiveSpec, cycle: str, starts_on: date, days: tuple[date, ...]
) -> None:
    story.at(moment(starts_on, 9, 30), partial(_plan, story, objective, cycle, starts_on))
    for kr in objective.key_results:
        for week, day in enumerate(days, start=1):
            if week > len(kr.weeks):
                break
            value, confidence, note = kr.weeks[week - 1]
            _check_in(story, kr.handle, kr.owner, week, day, value, confidence, note, 5)
