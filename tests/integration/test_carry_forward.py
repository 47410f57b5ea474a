"""A carry forward on each store (ADR 37): the audit trail, both cycles' change reports and
the evidence follow a key result across cycles; a KPI's target changes reach the change
report of the cycle they fall in. Projected by the worker, as in production."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest

from application.ledger import GoalLedger
from domain.values import utc_today
from projections.audit_trail import Flag, goal_history
from projections.change_report import change_report
from projections.evidence import EvidenceView
from projections.registry import worker_for
from storage.views import ViewDatabase

TODAY = utc_today()
# The previous quarter ended forty days ago and is closed; the current one began after it.
OLD = ("prev-q", TODAY - timedelta(days=130), TODAY - timedelta(days=40))
NEW = ("this-q", TODAY - timedelta(days=39), TODAY + timedelta(days=50))
OWNER = "cs-lead"


def dates(cycle: tuple[str, date, date]) -> tuple[date, date]:
    return cycle[1], cycle[2]


@pytest.fixture
def carried(ledger: GoalLedger) -> dict[str, Any]:
    for key, starts_on, ends_on in (OLD, NEW):
        ledger.open_cycle(actor="admin", key=key, starts_on=starts_on, ends_on=ends_on)
    objective = ledger.create_objective(
        actor="admin", cycle_id="prev-q", title="Customers who stay", owner=OWNER, kind="committed"
    ).id
    key_result = ledger.create_key_result(
        actor=OWNER,
        objective_id=objective,
        title="Churn from 3.1 to 2.0",
        owner=OWNER,
        unit="%",
        direction="decrease",
        baseline="3.1",
        target="2.0",
        measurement_source="billing",
        measurement_query="churned / starting MRR",
        effective_on=OLD[1],
    ).id
    ledger.record_check_in(
        actor=OWNER,
        key_result_id=key_result,
        value="2.55",
        confidence="at_risk",
        note="half way",
        effective_on=OLD[2] - timedelta(days=5),
    )
    ledger.close_cycle(actor="admin", key="prev-q")
    successor = ledger.carry_forward_key_result(
        actor=OWNER, key_result_id=key_result, cycle_id="this-q", reason="not done: goes on"
    ).id
    kpi = ledger.define_kpi(
        actor="admin",
        area="Support",
        name="First-response time",
        owner=OWNER,
        unit="hours",
        formula="median(first reply - opened)",
        data_source="helpdesk",
        cadence="weekly",
        direction="stay_below",
        target="2",
        healthy_low="0",
        healthy_high="2",
        target_set_on=OLD[1],
    ).id
    ledger.change_kpi_target(
        actor=OWNER,
        kpi_id=kpi,
        target="3",
        healthy_high="3",
        reason="a new helpdesk",
        reason_code="priorities_changed",
        effective_on=NEW[1] + timedelta(days=10),
    )
    worker = worker_for(ledger)
    worker.create_tables()
    worker.run_until_caught_up()
    return {"old": key_result, "new": successor, "objective": objective, "kpi": kpi}


def test_both_reports_list_the_carry_and_the_kpi_change_lands_in_its_cycle(
    ledger: GoalLedger, carried: dict[str, Any]
) -> None:
    views = ViewDatabase(ledger)
    old_report = change_report(views, "prev-q", cycle_dates=dates(OLD))
    [out] = [r for r in old_report if r.event == "carried_forward"]
    assert out.goal_id == carried["old"] and out.subject_id == carried["new"]
    assert out.before["traffic_light"] == "amber" and out.flags == ()
    assert out.effective_on == OLD[2] and out.reason_code == "carried_forward"
    # The KPI change lies outside the old quarter: not in its report.
    assert [r for r in old_report if r.goal_kind == "kpi"] == []

    new_report = change_report(views, "this-q", cycle_dates=dates(NEW))
    assert [(r.goal_kind, r.event) for r in new_report] == [
        ("objective", "carried_from"),
        ("key_result", "created"),
        ("kpi", "target_changed"),
    ]
    carried_in, kpi_row = new_report[1], new_report[2]
    assert carried_in.goal_id == carried["new"]
    assert carried_in.after["carried_from"] == str(carried["old"])
    assert kpi_row.goal_id == carried["kpi"] and kpi_row.title == "First-response time"
    assert set(kpi_row.flags) == {Flag.TARGET_LOWERED, Flag.BACKDATED, Flag.CHANGED_MID_CYCLE}
    mid = change_report(views, "this-q", cycle_dates=dates(NEW), flags=[Flag.CHANGED_MID_CYCLE])
    assert mid == [kpi_row]
    # Without the cycle's dates the report is the cycle's goals' alone.
    assert [r.goal_kind for r in change_report(views, "this-q")] == ["objective", "key_result"]

    history, _ = goal_history(views, carried["old"], "key_result")
    assert history[-1].event == "carried_forward"
    assert history[-1].after["carried_to"] == str(carried["new"])


def test_evidence_holds_the_carry_on_both_sides_as_one_line(
    ledger: GoalLedger, carried: dict[str, Any]
) -> None:
    evidence = EvidenceView(ViewDatabase(ledger), ledger).for_person(OWNER, OLD[1], TODAY)
    key_results = {kr.key_result_id: kr for o in evidence.objectives for kr in o.key_results}
    old, new = key_results[carried["old"]], key_results[carried["new"]]
    assert old.carried_to is not None and old.carried_to.key_result_id == carried["new"]
    assert old.carried_to.cite.event == "carried_forward" and old.retired is None
    assert new.carried_from == carried["old"] and new.carried_to is None
    [line] = evidence.lines
    assert line.key_result_ids == (carried["old"], carried["new"])
    assert line.cycle_ids == ("prev-q", "this-q")
    # The successor lives under the objective created to carry on the old one.
    objectives = {o.objective_id: o for o in evidence.objectives}
    assert carried["old"] in [
        kr.key_result_id for kr in objectives[carried["objective"]].key_results
    ]
    assert isinstance(new.key_result_id, UUID)
