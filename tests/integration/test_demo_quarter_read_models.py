"""The demo quarter through every read model, with a correction recorded late.

Every expected number below is read off `cli/demo.py`: the churn key result's thirteen
weekly check-ins and its week-5 correction (2.6 -> 2.8), the coverage re-baseline at
the mid-quarter review (target 100 -> 80), onboarding's retirement as graduated to a
KPI, and the one KPI unhealthy two months running (first-response time). Then a new
correction is recorded now, after the quarter is closed, and must show only to readers
asking for what is known after it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from api.schemas.evidence import EvidencePublic
from application.ledger import GoalLedger
from cli.demo import load_demo
from cli.demo_kpis import KPIS
from cli.demo_quarter import (
    CHURN,
    CHURN_CORRECTION,
    COVERAGE,
    COVERAGE_REBASELINE,
    ONBOARDING_GRADUATION,
)
from domain.values import ReasonCode, utc_now
from projections.audit_trail import Flag, TrailEntry, goal_history
from projections.change_report import change_report
from projections.evidence import CheckInItem, EvidenceView, PersonEvidence
from projections.kpi_health import kpi_health
from projections.registry import worker_for
from projections.seal import verify
from storage.views import ViewDatabase
from tests.demo_day import CYCLE, DEMO_DAY, ENDS_ON, STARTS_ON, WEEKS

NEW_VALUE = "61"
NEW_REASON = "The October CRM-to-billing mapping found one account counted twice in week 13."


def _catch_up(ledger: GoalLedger) -> None:
    worker = worker_for(ledger)
    worker.create_tables()
    worker.run_until_caught_up()
    assert set(worker.lag().values()) == {0}


def _key_result_ids(ledger: GoalLedger) -> dict[str, UUID]:
    found: dict[str, UUID] = {}
    for objective_id in ledger.get_cycle(CYCLE).objective_ids:
        for kr_id in ledger.get_objective(objective_id).key_result_ids:
            found[ledger.get_key_result(kr_id).title] = kr_id
    return found


def _check_in_of_week(ledger: GoalLedger, kr_id: UUID, week: int) -> UUID:
    day = WEEKS[week - 1]
    (found,) = [
        c.id for c in ledger.get_key_result(kr_id).check_ins.values() if c.effective_on == day
    ]
    return found


def _as_json(evidence: PersonEvidence) -> bytes:
    return EvidencePublic.of(evidence).model_dump_json().encode()


def _check_in_item(evidence: PersonEvidence, kr_id: UUID, check_in_id: UUID) -> CheckInItem:
    items = [
        item
        for objective in evidence.objectives
        for kr in objective.key_results
        if kr.key_result_id == kr_id
        for month in kr.months
        for item in month.check_ins
        if item.check_in_id == check_in_id
    ]
    assert len(items) == 1, items
    return items[0]


def _rows(entries: list[TrailEntry], event: str) -> list[TrailEntry]:
    return [e for e in entries if e.event == event]


def test_the_demo_quarter_reads_the_same_in_every_read_model_and_a_late_correction_is_dated(
    ledger: GoalLedger,
) -> None:
    load_demo(ledger, today=DEMO_DAY)
    _catch_up(ledger)
    views = ViewDatabase(ledger)
    ids = _key_result_ids(ledger)
    # The closed quarter: eight key results checked in on each of its thirteen Fridays.
    assert len(ids) == 8
    check_ins = sum(len(ledger.get_key_result(kr).check_ins) for kr in ids.values())
    assert check_ins == 8 * len(WEEKS) == 104
    churn, coverage, onboarding = (
        ids[CHURN.title],
        ids[COVERAGE.title],
        ids["Onboarding time-to-first-value"],
    )

    # Audit trail of churn: created, 13 check-ins, one correction of week 5 (2.6 -> 2.8).
    history, more = goal_history(views, churn, "key_result", limit=100)
    assert not more
    assert [e.event for e in history].count("check_in_recorded") == len(CHURN.weeks) == 13
    (corrected,) = _rows(history, "check_in_corrected")
    week5 = WEEKS[CHURN_CORRECTION.week - 1]
    assert (corrected.effective_on, corrected.before, corrected.after) == (
        week5,
        {"value": "2.6"},
        {"value": CHURN_CORRECTION.value},
    )
    assert CHURN.weeks[CHURN_CORRECTION.week - 1][0] == "2.6"
    assert (corrected.reason_code, corrected.actor) == (ReasonCode.DATA_ERROR.value, "head-of-cs")
    # A correction carries no date of its own, so it is never flagged backdated; the
    # cycle was open, so nothing else.
    assert corrected.flags == ()
    # Recorded after week 6's check-in: known_at before it, the original value.
    (recorded_week5,) = [
        e for e in _rows(history, "check_in_recorded") if e.subject_id == corrected.subject_id
    ]
    (recorded_week6,) = [
        e for e in _rows(history, "check_in_recorded") if e.effective_on == WEEKS[5]
    ]
    assert recorded_week5.position < recorded_week6.position < corrected.position
    assert recorded_week5.after["value"] == "2.6"
    assert corrected.subject_id is not None
    before_fix = ledger.get_key_result(churn, known_at=recorded_week6.recorded_at)
    assert before_fix.check_ins[corrected.subject_id].value == Decimal("2.6")
    after_fix = ledger.get_key_result(churn, known_at=corrected.recorded_at)
    assert after_fix.check_ins[corrected.subject_id].value == Decimal("2.8")
    assert ledger.get_key_result(churn).check_ins[corrected.subject_id].value == Decimal("2.8")

    # Change report of the quarter: recorded as it happened, only the story's own changes
    # show, and no check-in is flagged backdated.
    report = change_report(views, CYCLE)
    assert [e.event for e in report] == [
        "check_in_corrected",
        "rebaselined",
        "graduated",
        "carried_forward",
        "self_assessed",
        "self_assessed",
    ]
    (rebaselined,) = _rows(report, "rebaselined")
    assert rebaselined.goal_id == coverage
    assert (rebaselined.before, rebaselined.after) == (
        {"baseline": "0", "target": "100"},
        {"baseline": COVERAGE_REBASELINE.baseline, "target": COVERAGE_REBASELINE.target},
    )
    assert rebaselined.effective_on == WEEKS[COVERAGE_REBASELINE.effective_week - 1]
    assert rebaselined.reason_code == ReasonCode.PRIORITIES_CHANGED.value
    # Coverage rises, so 100 -> 80 eases it; recorded on the day it took effect.
    assert rebaselined.flags == (Flag.TARGET_LOWERED,)
    (graduated,) = _rows(report, "graduated")
    assert (graduated.goal_id, graduated.title) == (onboarding, ONBOARDING_GRADUATION.name)
    assert graduated.reason_code == ReasonCode.GRADUATED_TO_KPI.value
    assert graduated.effective_on == ENDS_ON
    # Onboarding hit 5 days against a target of 5: green, so not "retired while red".
    assert Flag.RETIRED_WHILE_RED not in graduated.flags
    # Churn ended amber and was carried forward: closed out as carried, not retired red.
    (carried,) = _rows(report, "carried_forward")
    assert carried.goal_id == churn and Flag.RETIRED_WHILE_RED not in carried.flags
    (in_report,) = _rows(report, "check_in_corrected")
    assert in_report == replace(corrected, title=CHURN.title)
    assert not _rows(report, "check_in_recorded")
    # Self-assessments come after the close by design: flagged, never hidden.
    assert all(Flag.CHANGED_AFTER_CLOSE in e.flags for e in _rows(report, "self_assessed"))

    # KPI health today: only first-response time (2.3 in the closed quarter's last month,
    # 2.1 in October, against at most 2) is unhealthy twice in a row.
    candidates, _ = kpi_health(views)
    assert [c.name for c in candidates] == ["First-response time"]
    (frt,) = candidates
    response_time = next(k for k in KPIS if k.name == "First-response time")
    assert frt.previous is not None and frt.last is not None
    assert (frt.previous.value, frt.last.value) == (
        Decimal(response_time.readings[-1]),
        Decimal(response_time.current_readings[0]),
    )
    assert (frt.previous.healthy, frt.last.healthy, frt.target) == (False, False, Decimal("2"))
    every_kpi, _ = kpi_health(views, candidates_only=False)
    # The KPIs defined up front, and the one onboarding graduated into.
    assert len(every_kpi) == len(KPIS) + 1
    uptime = next(k for k in every_kpi if k.name == "Uptime")
    assert (uptime.target, uptime.healthy) == (Decimal("99.9"), True)

    # Evidence for head-of-cs (owner of churn and coverage): the corrected check-in
    # shows 2.8, was recorded as 2.6, and cites both its events by position.
    evidence_view = EvidenceView(views, ledger)
    evidence = evidence_view.for_person(CHURN.owner, STARTS_ON, ENDS_ON)
    item = _check_in_item(evidence, churn, corrected.subject_id)
    assert (item.value, item.recorded_value) == (Decimal("2.8"), Decimal("2.6"))
    assert (item.cite.position, item.cite.event) == (recorded_week5.position, "check_in_recorded")
    (correction,) = item.corrections
    assert (correction.cite.position, correction.cite.event) == (
        corrected.position,
        "check_in_corrected",
    )
    assert correction.reason_code == ReasonCode.DATA_ERROR.value
    churn_evidence = next(
        kr for o in evidence.objectives for kr in o.key_results if kr.key_result_id == churn
    )
    assert churn_evidence.check_in_count == 13
    assert churn_evidence.final is not None and churn_evidence.final.value == Decimal("2.4")

    # The seal covers the whole log and verifies.
    sealed = verify(ledger, views)
    assert sealed.intact and sealed.unsealed == 0
    assert sealed.checked == sealed.sealed_up_to == sealed.log_head

    # The demo closed the quarter; correct coverage's week 13 (62 -> 61) late, now.
    late_check_in = _check_in_of_week(ledger, coverage, 13)
    assert COVERAGE.weeks[12][0] == "62"
    moment: datetime = utc_now()
    evidence_before = evidence_view.for_person(COVERAGE.owner, STARTS_ON, ENDS_ON, known_at=moment)
    ledger.correct_check_in(
        actor="head-of-cs",
        key_result_id=coverage,
        check_in_id=late_check_in,
        value=NEW_VALUE,
        reason=NEW_REASON,
        reason_code=ReasonCode.DATA_ERROR,
    )
    _catch_up(ledger)

    assert ledger.get_key_result(coverage, known_at=moment).check_ins[late_check_in].value == 62
    assert ledger.get_key_result(coverage).check_ins[late_check_in].value == Decimal(NEW_VALUE)

    report_after = change_report(views, CYCLE)
    corrections = _rows(report_after, "check_in_corrected")
    assert [c.subject_id for c in corrections] == [corrected.subject_id, late_check_in]
    assert change_report(views, CYCLE, flags=[Flag.CHANGED_AFTER_CLOSE])[-1] == corrections[1]
    late = corrections[1]
    assert (late.before, late.after, late.title) == (
        {"value": "62"},
        {"value": NEW_VALUE},
        COVERAGE.title,
    )
    assert late.recorded_at > moment
    assert late.flags == (Flag.CHANGED_AFTER_CLOSE.value,)
    assert corrections[0].flags == ()
    # Asked as known at `moment`, the report is as it was.
    assert change_report(views, CYCLE, known_at=moment) == report

    # Evidence as known at `moment` is byte for byte what it was; now it shows 61.
    reproduced = evidence_view.for_person(COVERAGE.owner, STARTS_ON, ENDS_ON, known_at=moment)
    assert _as_json(reproduced) == _as_json(evidence_before)
    assert _check_in_item(reproduced, coverage, late_check_in).value == 62
    latest = evidence_view.for_person(COVERAGE.owner, STARTS_ON, ENDS_ON)
    now_item = _check_in_item(latest, coverage, late_check_in)
    assert (now_item.value, now_item.recorded_value) == (Decimal(NEW_VALUE), Decimal("62"))
    assert [c.cite.position for c in now_item.corrections] == [late.position]
    assert _as_json(latest) != _as_json(evidence_before)

    # The seal takes the new events in and still verifies.
    resealed = verify(ledger, views)
    assert resealed.intact and resealed.unsealed == 0
    assert resealed.sealed_up_to == sealed.sealed_up_to + 1
