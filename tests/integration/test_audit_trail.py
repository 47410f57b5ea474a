"""Audit trail, change report and KPI health, projected from a quarter walked on each store.

The clock is the real one, as everywhere in the suite: the quarter began sixty days ago and
ends in thirty, so its midpoint lies fifteen days back and every change of plan made today
comes after half the cycle. A second quarter, ten days old, holds the change made before
its midpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from application.ledger import GoalLedger, Saved
from domain.values import utc_now, utc_today
from projections.audit_trail import Flag, TrailEntry, goal_history, goal_known
from projections.change_report import change_report
from projections.kpi_health import KpiHealthRow, kpi_health, kpi_health_replayed
from projections.registry import worker_for
from projections.worker import ProjectionWorker


def days_ago(days: int) -> date:
    return utc_today() - timedelta(days=days)


def at(saved: Saved) -> int:
    """The log position of a one-event command."""
    assert len(saved.positions) == 1, saved
    return saved.positions[0]


@dataclass
class Story:
    """What the walk stored, by name, for the assertions to refer to."""

    ids: dict[str, UUID] = field(default_factory=dict)
    positions: dict[str, int] = field(default_factory=dict)
    check_ins: dict[str, UUID] = field(default_factory=dict)
    moments: dict[str, datetime] = field(default_factory=dict)


def key_result(
    ledger: GoalLedger,
    objective_id: UUID,
    title: str,
    owner: str,
    direction: str,
    baseline: str,
    target: str,
    effective_on: date,
) -> UUID:
    return ledger.create_key_result(
        actor=owner,
        objective_id=objective_id,
        title=title,
        owner=owner,
        unit="",
        direction=direction,
        baseline=baseline,
        target=target,
        measurement_source="warehouse",
        measurement_query=f"select {title}",
        effective_on=effective_on,
    ).id


def check_in(ledger: GoalLedger, key_result_id: UUID, value: str, effective_on: date) -> Saved:
    return ledger.record_check_in(
        actor="marketer",
        key_result_id=key_result_id,
        value=value,
        confidence="on_track",
        note="next: call the detractors",
        effective_on=effective_on,
    )


def walk_the_quarter(ledger: GoalLedger, worker: ProjectionWorker) -> Story:
    story = Story()
    ids, pos, check_ins = story.ids, story.positions, story.check_ins
    starts_on = days_ago(60)

    # The CFO opens the quarter: sixty days in, thirty to go.
    ledger.open_cycle(
        actor="cfo", key="this-quarter", starts_on=starts_on, ends_on=utc_today() + timedelta(30)
    )

    # The marketer sets up her objective late, dated from the quarter's first day (not a
    # backdating).
    ids["support"] = ledger.create_objective(
        actor="marketer",
        cycle_id="this-quarter",
        title="Customers love our support",
        owner="marketer",
        kind="committed",
    ).id
    ids["nps"] = key_result(
        ledger, ids["support"], "NPS", "marketer", "increase", "32", "50", starts_on
    )
    ids["churn"] = key_result(
        ledger, ids["support"], "Churn", "marketer", "decrease", "3.1", "2.0", starts_on
    )
    ids["tickets"] = key_result(
        ledger, ids["support"], "Tickets solved", "planner", "increase", "0", "500", starts_on
    )
    # The planner's own objective: the community forum, going well.
    ids["forum"] = ledger.create_objective(
        actor="planner",
        cycle_id="this-quarter",
        title="Launch the community forum",
        owner="planner",
        kind="aspirational",
    ).id
    ids["members"] = key_result(
        ledger, ids["forum"], "Forum members", "planner", "increase", "0", "100", starts_on
    )

    # Check-ins: one for last week (seven days back, on time), one for eight days back.
    on_time = check_in(ledger, ids["nps"], "38", days_ago(7))
    pos["on_time"], check_ins["on_time"] = at(on_time), on_time.check_in_id  # type: ignore[assignment]
    late = check_in(ledger, ids["nps"], "37", days_ago(8))
    pos["backdated"], check_ins["backdated"] = at(late), late.check_in_id  # type: ignore[assignment]
    pos["tickets_check_in"] = at(check_in(ledger, ids["tickets"], "100", days_ago(1)))
    pos["members_check_in"] = at(check_in(ledger, ids["members"], "80", days_ago(1)))

    # The worker catches up part-way, in small batches: projection resumes where it stopped.
    worker.batch_size = 4
    assert worker.run_until_caught_up() > 0

    # The backdated check-in was mistyped; corrected while the quarter is open.
    pos["correction"] = at(
        ledger.correct_check_in(
            actor="marketer",
            key_result_id=ids["nps"],
            check_in_id=check_ins["backdated"],
            value="36",
            reason="survey export double-counted one reply",
            reason_code="data_error",
        )
    )
    # The planner's tickets count twice as much now.
    pos["reweight"] = at(
        ledger.reweight_key_result(
            actor="planner",
            key_result_id=ids["tickets"],
            weight="2",
            reason="tickets matter more this quarter",
            reason_code="priorities_changed",
        )
    )
    # Past the midpoint, the marketer lowers the NPS target from 50 to 45.
    pos["rebaseline_nps"] = at(
        ledger.rebaseline_key_result(
            actor="marketer",
            key_result_id=ids["nps"],
            baseline="32",
            target="45",
            reason="survey vendor changed mid-quarter",
            reason_code="wrong_metric",
        )
    )
    # And tightens churn from 2.0 to 1.8: a lower number, but a harder target.
    pos["rebaseline_churn"] = at(
        ledger.rebaseline_key_result(
            actor="marketer",
            key_result_id=ids["churn"],
            baseline="3.1",
            target="1.8",
            reason="the retention campaign started early",
            reason_code="priorities_changed",
        )
    )
    # The planner retires her tickets key result while it scores red (100 of 500).
    pos["retire_tickets"] = at(
        ledger.retire_key_result(
            actor="planner",
            key_result_id=ids["tickets"],
            reason="rewards closing over solving",
            reason_code="wrong_metric",
        )
    )
    # And her forum objective while it is green (80 of 100).
    pos["retire_forum"] = at(
        ledger.retire_objective(
            actor="planner",
            objective_id=ids["forum"],
            reason="the forum moved to the community team",
            reason_code="priorities_changed",
        )
    )

    # The CFO closes the quarter; afterwards only a correction gets in.
    story.moments["before_close"] = utc_now()
    pos["close"] = at(ledger.close_cycle(actor="cfo", key="this-quarter"))
    pos["late_correction"] = at(
        ledger.correct_check_in(
            actor="marketer",
            key_result_id=ids["nps"],
            check_in_id=check_ins["on_time"],
            value="39",
            reason="late survey responses",
            reason_code="data_error",
        )
    )

    # Next quarter began ten days ago: a target raised before its midpoint is no flag.
    ledger.open_cycle(
        actor="cfo",
        key="next-quarter",
        starts_on=days_ago(10),
        ends_on=utc_today() + timedelta(80),
    )
    ids["hiring"] = ledger.create_objective(
        actor="marketer",
        cycle_id="next-quarter",
        title="Hire well",
        owner="marketer",
        kind="committed",
    ).id
    ids["hires"] = key_result(
        ledger, ids["hiring"], "Hires", "marketer", "increase", "0", "10", days_ago(10)
    )
    pos["rebaseline_hires"] = at(
        ledger.rebaseline_key_result(
            actor="marketer",
            key_result_id=ids["hires"],
            baseline="0",
            target="12",
            reason="budget for two more",
            reason_code="priorities_changed",
        )
    )
    return story


def define_kpis(ledger: GoalLedger, story: Story) -> None:
    """Three KPIs: two drift out of their healthy level, the third drifts and is retired."""
    ids, pos = story.ids, story.positions

    def define(name: str, direction: str, target: str, **range_: str) -> UUID:
        return ledger.define_kpi(
            actor="marketer",
            area="Customer support" if name != "Attrition" else "People",
            name=name,
            owner="marketer" if name != "Attrition" else "planner",
            unit="",
            formula=f"{name} over the week",
            data_source="warehouse",
            cadence="weekly",
            direction=direction,
            target=target,
            target_set_on=days_ago(30),
            **range_,
        ).id

    def reading(kpi_id: UUID, value: str, days: int) -> Saved:
        return ledger.record_kpi_reading(
            actor="marketer", kpi_id=kpi_id, value=value, effective_on=days_ago(days)
        )

    # First-response time: healthy between 0 and 2 hours; 1.5, then 2.5, then 3.
    ids["frt"] = define("First-response time", "stay_below", "2", healthy_low="0", healthy_high="2")
    reading(ids["frt"], "1.5", 5)
    reading(ids["frt"], "2.5", 3)
    reading(ids["frt"], "3.0", 1)

    # Offer acceptance at least 80 %: 70, then 85; a reading for ten days back comes late.
    ids["offers"] = define("Offer acceptance", "stay_above", "80")
    reading(ids["offers"], "70", 6)
    good = reading(ids["offers"], "85", 2)
    pos["late_reading"] = at(reading(ids["offers"], "75", 10))
    # The 85 was a typo for 78: corrected, the last two readings are both out of range.
    ledger.correct_kpi_reading(
        actor="marketer",
        kpi_id=ids["offers"],
        reading_id=good.check_in_id,  # type: ignore[arg-type]
        value="78",
        reason="typo in the weekly sheet",
    )
    # The bar comes down from 80 to 75 (from today: past readings keep their judgement).
    pos["kpi_target"] = at(
        ledger.change_kpi_target(
            actor="marketer",
            kpi_id=ids["offers"],
            target="75",
            reason="market got tighter",
            reason_code="priorities_changed",
        )
    )

    # Attrition at most 10 %: 12, then 13 -- then the KPI is retired.
    ids["attrition"] = define("Attrition", "stay_below", "10")
    reading(ids["attrition"], "12", 4)
    reading(ids["attrition"], "13", 2)
    ledger.retire_kpi(
        actor="planner",
        kpi_id=ids["attrition"],
        reason="merged into the retention KPI",
        reason_code="duplicate",
    )


@pytest.fixture
def projected(ledger: GoalLedger) -> tuple[GoalLedger, ProjectionWorker, Story]:
    worker = worker_for(ledger)
    worker.create_tables()
    story = walk_the_quarter(ledger, worker)
    define_kpis(ledger, story)
    worker.run_until_caught_up()
    lag = worker.lag()
    assert lag["audit_trail"] == 0 and lag["kpi_health"] == 0
    return ledger, worker, story


def all_rows(worker: ProjectionWorker) -> list[TrailEntry]:
    rows: list[TrailEntry] = []
    for kind in ("cycle", "objective", "key_result", "kpi"):
        ids = {
            UUID(str(r["goal_id"]))
            for r in worker.database.query(
                "SELECT goal_id FROM {audit_trail} WHERE goal_kind = %s", (kind,)
            )
        }
        for goal_id in ids:
            rows += goal_history(worker.database, goal_id, kind, limit=1000)[0]
    return sorted(rows, key=lambda r: r.position)


def test_each_flag_appears_exactly_where_the_story_put_it(
    projected: tuple[GoalLedger, ProjectionWorker, Story],
) -> None:
    _, worker, story = projected
    pos = story.positions
    flagged = {row.position: row.flags for row in all_rows(worker) if row.flags}
    assert flagged == {
        # Eight days back is more than seven; seven days back is not.
        pos["backdated"]: (Flag.BACKDATED,),
        # 50 -> 45 on an increasing KR, recorded past the midpoint.
        pos["rebaseline_nps"]: (Flag.TARGET_LOWERED, Flag.REBASELINED_AFTER_HALF),
        # 2.0 -> 1.8 on a decreasing KR is harder, not lowered; still after the midpoint.
        pos["rebaseline_churn"]: (Flag.REBASELINED_AFTER_HALF,),
        # 100 of 500 scores 0.2: red.
        pos["retire_tickets"]: (Flag.RETIRED_WHILE_RED,),
        pos["late_correction"]: (Flag.CHANGED_AFTER_CLOSE,),
        # The KPI reading for ten days back, and the KPI's bar coming down.
        pos["late_reading"]: (Flag.BACKDATED,),
        pos["kpi_target"]: (Flag.TARGET_LOWERED,),
    }
    # Not flagged: creations dated from the quarter's start, the seven-day check-in, the
    # correction of the backdated check-in, the green objective's retirement, the close,
    # and next quarter's raised target before its midpoint.
    assert pos["on_time"] not in flagged and pos["retire_forum"] not in flagged
    assert pos["rebaseline_hires"] not in flagged and pos["correction"] not in flagged


def test_the_change_report_lists_the_quarters_changes_with_values_before_and_after(
    projected: tuple[GoalLedger, ProjectionWorker, Story],
) -> None:
    _, worker, story = projected
    ids, pos = story.ids, story.positions
    report = change_report(worker.database, "this-quarter")

    # Exactly the changes of plan, corrections and the backdated check-in, in log order.
    assert [(r.position, r.event, r.title, r.owner) for r in report] == [
        (pos["backdated"], "check_in_recorded", "NPS", "marketer"),
        (pos["correction"], "check_in_corrected", "NPS", "marketer"),
        (pos["reweight"], "reweighted", "Tickets solved", "planner"),
        (pos["rebaseline_nps"], "rebaselined", "NPS", "marketer"),
        (pos["rebaseline_churn"], "rebaselined", "Churn", "marketer"),
        (pos["retire_tickets"], "retired", "Tickets solved", "planner"),
        (pos["retire_forum"], "retired", "Launch the community forum", "planner"),
        (pos["late_correction"], "check_in_corrected", "NPS", "marketer"),
    ]
    rows = {r.position: r for r in report}

    # Before and after, as an auditor reads them.
    backdated = rows[pos["backdated"]]
    assert backdated.effective_on == days_ago(8)
    # Nothing was effective eight days back yet: the value stood at the baseline.
    assert (backdated.before, backdated.after["value"]) == ({"value": "32"}, "37")
    assert rows[pos["correction"]].before == {"value": "37"}
    assert rows[pos["correction"]].after == {"value": "36"}
    assert rows[pos["correction"]].subject_id == story.check_ins["backdated"]
    assert (rows[pos["reweight"]].before, rows[pos["reweight"]].after) == (
        {"weight": "1"},
        {"weight": "2"},
    )
    nps = rows[pos["rebaseline_nps"]]
    assert (nps.before, nps.after) == (
        {"baseline": "32", "target": "50"},
        {"baseline": "32", "target": "45"},
    )
    assert (nps.actor, nps.reason, nps.reason_code) == (
        "marketer",
        "survey vendor changed mid-quarter",
        "wrong_metric",
    )
    assert nps.effective_on == utc_today() and nps.goal_id == ids["nps"]
    tickets = rows[pos["retire_tickets"]]
    assert tickets.before == {"status": "active", "score": "0.2000", "traffic_light": "red"}
    assert tickets.after == {"status": "retired"}
    forum = rows[pos["retire_forum"]]
    assert forum.goal_kind == "objective" and forum.goal_id == ids["forum"]
    assert forum.before == {"status": "active", "score": "0.8000", "traffic_light": "green"}
    late = rows[pos["late_correction"]]
    assert (late.before, late.after, late.effective_on) == (
        {"value": "38"},
        {"value": "39"},
        days_ago(7),
    )
    assert all(r.recorded_at.tzinfo is not None for r in report)

    # Next quarter's change is in its own report only.
    assert [r.position for r in change_report(worker.database, "next-quarter")] == [
        pos["rebaseline_hires"]
    ]
    assert change_report(worker.database, "no-such-quarter") == []


def test_the_change_report_filters_by_owner_flag_and_recorded_date(
    projected: tuple[GoalLedger, ProjectionWorker, Story],
) -> None:
    _, worker, story = projected
    pos = story.positions
    db = worker.database

    def positions(**filters: Any) -> list[int]:
        return [r.position for r in change_report(db, "this-quarter", **filters)]

    # The planner's changes: the reweight and her two retirements.
    assert positions(owner="planner") == [
        pos["reweight"],
        pos["retire_tickets"],
        pos["retire_forum"],
    ]
    # One flag, then any of two.
    assert positions(flags=[Flag.TARGET_LOWERED]) == [pos["rebaseline_nps"]]
    assert positions(flags=[Flag.CHANGED_AFTER_CLOSE, Flag.RETIRED_WHILE_RED]) == [
        pos["retire_tickets"],
        pos["late_correction"],
    ]
    assert positions(owner="planner", flags=[Flag.TARGET_LOWERED]) == []
    with pytest.raises(ValueError, match="flag"):
        positions(flags=["moved_the_goalposts"])
    # Everything was recorded today (UTC): both bounds are inclusive days.
    everything = positions()
    assert positions(recorded_from=utc_today(), recorded_to=utc_today()) == everything
    assert positions(recorded_from=utc_today() + timedelta(1)) == []
    assert positions(recorded_to=utc_today() - timedelta(1)) == []
    # What was known just before the close: no post-close correction yet.
    assert positions(known_at=story.moments["before_close"]) == everything[:-1]


def test_history_of_one_goal_pages_in_log_order(
    projected: tuple[GoalLedger, ProjectionWorker, Story],
) -> None:
    _, worker, story = projected
    ids, pos = story.ids, story.positions
    db = worker.database

    # The NPS key result's whole story, in order.
    history, more = goal_history(db, ids["nps"], "key_result")
    assert not more
    assert [r.event for r in history] == [
        "created",
        "check_in_recorded",
        "check_in_recorded",
        "check_in_corrected",
        "rebaselined",
        "check_in_corrected",
    ]
    assert [r.version for r in history] == [1, 2, 3, 4, 5, 6]
    created = history[0]
    assert created.after["baseline"] == "32" and created.after["target"] == "50"
    assert created.effective_on == days_ago(60) and created.flags == ()

    # Two at a time, each page after the last position of the one before.
    first, more = goal_history(db, ids["nps"], "key_result", limit=2)
    assert more and [r.position for r in first] == [r.position for r in history[:2]]
    second, more = goal_history(
        db, ids["nps"], "key_result", after_position=first[-1].position, limit=2
    )
    assert more and [r.position for r in second] == [r.position for r in history[2:4]]
    third, more = goal_history(
        db, ids["nps"], "key_result", after_position=second[-1].position, limit=2
    )
    assert not more and [r.position for r in third] == [r.position for r in history[4:]]

    # As of eight days back, only what had taken effect by then: the creation and the
    # backdated check-in (and its correction, which is about that day).
    as_of = goal_history(db, ids["nps"], "key_result", as_of=days_ago(8))[0]
    assert [r.position for r in as_of] == [history[0].position, pos["backdated"], pos["correction"]]
    # Known just before the close: not the late correction.
    known = goal_history(db, ids["nps"], "key_result", known_at=story.moments["before_close"])[0]
    assert [r.position for r in known] == [r.position for r in history[:-1]]

    # A goal is only found as its own kind.
    assert goal_known(db, ids["nps"], "key_result")
    assert not goal_known(db, ids["nps"], "objective")
    assert goal_history(db, ids["nps"], "kpi") == ([], False)


def test_kpis_out_of_range_twice_running_are_okr_candidates(
    projected: tuple[GoalLedger, ProjectionWorker, Story],
) -> None:
    ledger, worker, story = projected
    ids = story.ids

    # First-response time (2.5 then 3.0) and offer acceptance (70 then a corrected 78):
    # candidates, in definition order. Attrition is out of range too, but retired.
    candidates, more = kpi_health(worker.database)
    assert not more
    assert [row.kpi_id for row in candidates] == [ids["frt"], ids["offers"]]
    frt, offers = candidates
    assert (frt.area, frt.name, frt.owner, frt.direction) == (
        "Customer support",
        "First-response time",
        "marketer",
        "stay_below",
    )
    assert (frt.target, frt.healthy_low, frt.healthy_high) == (Decimal(2), Decimal(0), Decimal(2))
    assert frt.last is not None and frt.previous is not None
    assert (frt.last.effective_on, frt.last.value, frt.last.healthy) == (
        days_ago(1),
        Decimal("3.0"),
        False,
    )
    assert (frt.previous.value, frt.previous.healthy) == (Decimal("2.5"), False)
    assert frt.healthy is False and frt.okr_candidate and frt.retired_on is None
    # The late reading (ten days back) is older than the last two: they stay 70 and 78,
    # each judged against the bar of its own day (80), not the new one (75 from today).
    assert offers.target == Decimal(75) and offers.target_set_on == utc_today()
    assert offers.last is not None and offers.previous is not None
    assert [(r.effective_on, r.value) for r in (offers.previous, offers.last)] == [
        (days_ago(6), Decimal(70)),
        (days_ago(2), Decimal(78)),
    ]

    # All KPIs, retired ones included; filtered by area and owner.
    everything, _ = kpi_health(worker.database, candidates_only=False)
    assert [row.kpi_id for row in everything] == [ids["frt"], ids["offers"], ids["attrition"]]
    assert everything[2].okr_candidate and everything[2].retired_on == utc_today()
    assert [
        r.kpi_id for r in kpi_health(worker.database, area="People", candidates_only=False)[0]
    ] == [ids["attrition"]]
    assert kpi_health(worker.database, owner="planner")[0] == []
    # One a page, after the cursor of the last.
    page, more = kpi_health(worker.database, limit=1)
    assert more and [r.kpi_id for r in page] == [ids["frt"]]
    page, more = kpi_health(worker.database, limit=1, after=page[-1].defined_at)
    assert not more and [r.kpi_id for r in page] == [ids["offers"]]

    # Replaying the KPIs themselves for today gives the same rows as the view.
    replayed, _ = kpi_health_replayed(ledger, as_of=utc_today(), candidates_only=False)

    def same(rows: list[KpiHealthRow]) -> list[KpiHealthRow]:
        return [replace(r, defined_at=0) for r in rows]

    assert same(replayed) == same(everything)
    # Three days back, first-response time had one bad reading only: not yet a candidate.
    earlier, _ = kpi_health_replayed(ledger, as_of=days_ago(3))
    assert ids["frt"] not in [r.kpi_id for r in earlier]


def test_values_before_and_after_are_plain_decimals_never_exponents(ledger: GoalLedger) -> None:
    # A milestone at a millionth of the way, then a plan in units of a ten-millionth: the
    # trail an auditor exports reads as the API does, never as 1E-7.
    worker = worker_for(ledger)
    worker.create_tables()
    ledger.open_cycle(actor="cfo", key="tiny", starts_on=days_ago(20), ends_on=utc_today())
    objective = ledger.create_objective(
        actor="marketer", cycle_id="tiny", title="Precision", owner="marketer", kind="committed"
    ).id
    goal = key_result(
        ledger,
        objective,
        "Error rate",
        "marketer",
        "decrease",
        "0.000001",
        "0.0000001",
        days_ago(20),
    )
    check_in(ledger, goal, "0.0000005", days_ago(5))
    ledger.reweight_key_result(
        actor="marketer", key_result_id=goal, weight="0.0000002", reason="tiny", reason_code="other"
    )
    worker.run_until_caught_up()
    rows = goal_history(worker.database, goal, "key_result", limit=10)[0]
    created, checked_in, reweighted = rows
    assert (created.after["baseline"], created.after["target"]) == ("0.000001", "0.0000001")
    assert checked_in.before["value"] == "0.000001" and checked_in.after["value"] == "0.0000005"
    assert (reweighted.before["weight"], reweighted.after["weight"]) == ("1", "0.0000002")


def test_creations_past_the_plan_size_are_flagged_and_reported(ledger: GoalLedger) -> None:
    """ADR 35: the 4th live objective of an owner in a cycle, the 6th live key result of
    an objective; retired goals do not count."""
    ledger.open_cycle(
        actor="ops", key="2026-P", starts_on=days_ago(10), ends_on=days_ago(10) + timedelta(90)
    )

    def objective(owner: str) -> Saved:
        return ledger.create_objective(
            actor=owner, cycle_id="2026-P", title="grow", owner=owner, kind="aspirational"
        )

    analyst = [objective("analyst") for _ in range(3)]
    objective("engineer")
    fourth = objective("analyst")
    krs = [
        key_result(ledger, analyst[0].id, f"kr{n}", "analyst", "increase", "0", "10", days_ago(1))
        for n in range(6)
    ]
    for retired in krs[:2]:
        ledger.retire_key_result(
            actor="analyst",
            key_result_id=retired,
            reason="dropped",
            reason_code="priorities_changed",
        )
    # Four live: the next makes five, then six.
    key_result(ledger, analyst[0].id, "kr6", "analyst", "increase", "0", "10", days_ago(1))
    sixth = key_result(ledger, analyst[0].id, "kr7", "analyst", "increase", "0", "10", days_ago(1))
    worker = worker_for(ledger)
    worker.create_tables()
    worker.run_until_caught_up()
    report = change_report(worker.database, "2026-P", limit=100)
    assert [(row.goal_id, row.flags) for row in report if row.event == "created"] == [
        (fourth.id, (Flag.PLAN_OVERSIZED,)),
        (krs[5], (Flag.PLAN_OVERSIZED,)),
        (sixth, (Flag.PLAN_OVERSIZED,)),
    ]
