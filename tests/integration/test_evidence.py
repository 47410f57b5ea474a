"""Appraisal evidence on real stores: a quarter of the analyst's goals, reviewed as it was known."""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from uuid import UUID

import pytest

from api.evidence_page import render_evidence
from api.schemas.evidence import EvidencePublic
from application.ledger import GoalLedger
from domain.base import LedgerAggregate, event_name
from domain.errors import InvalidInputError, NotFoundError
from domain.plans import plan_in_force
from domain.values import utc_now
from projections.evidence import (
    Citation,
    EvidenceView,
    PersonEvidence,
    ReadModelBehindError,
    months_of,
)
from projections.registry import worker_for
from storage.views import ViewDatabase

FROM, TO = date(2026, 7, 1), date(2026, 9, 30)


@dataclass(frozen=True)
class Quarter:
    nps: UUID
    tickets: UUID
    response_time: UUID
    july_check_in: UUID


def key_result(
    ledger: GoalLedger,
    objective: UUID,
    title: str,
    owner: str,
    direction: str,
    plan: tuple[str, str],
) -> UUID:
    baseline, target = plan
    return ledger.create_key_result(
        actor="ceo",
        objective_id=objective,
        title=title,
        owner=owner,
        unit="points",
        direction=direction,
        baseline=baseline,
        target=target,
        measurement_source="survey",
        measurement_query="promoters - detractors",
        effective_on=FROM,
    ).id


def check_in(
    ledger: GoalLedger, kr: UUID, value: str, confidence: str, day: date, note: str
) -> UUID:
    saved = ledger.record_check_in(
        actor="analyst",
        key_result_id=kr,
        value=value,
        confidence=confidence,
        note=note,
        effective_on=day,
    )
    assert saved.check_in_id is not None
    return saved.check_in_id


def reading(ledger: GoalLedger, kpi: UUID, value: str, day: date) -> None:
    ledger.record_kpi_reading(actor="analyst", kpi_id=kpi, value=value, effective_on=day)


def quarter(ledger: GoalLedger) -> Quarter:
    """The analyst's 2026-Q3: two key results and a KPI, with a re-baseline and a retirement."""
    # The quarter opens; the CEO owns the objective, the analyst owns two of its key results.
    ledger.open_cycle(actor="ceo", key="2026-Q3", starts_on=FROM, ends_on=TO)
    objective = ledger.create_objective(
        actor="ceo",
        cycle_id="2026-Q3",
        title="Make onboarding a delight",
        owner="ceo",
        kind="aspirational",
    ).id
    nps = key_result(
        ledger, objective, "Onboarding NPS from 32 to 50", "analyst", "increase", ("32", "50")
    )
    tickets = key_result(
        ledger, objective, "Onboarding tickets", "analyst", "decrease", ("120", "70")
    )
    # The buyer's key result sits in the same objective and must not reach the analyst's evidence.
    key_result(ledger, objective, "the buyer's own", "buyer", "increase", ("0", "1"))

    # Two check-ins in July, none in August, one in September.
    july = check_in(ledger, nps, "35", "on_track", date(2026, 7, 10), "survey redesigned")
    check_in(ledger, nps, "38", "at_risk", date(2026, 7, 24), "response rate low")
    check_in(ledger, tickets, "110", "off_track", date(2026, 7, 17), "")
    # In August the NPS target is lowered and the tickets key result retired, with reasons.
    ledger.rebaseline_key_result(
        actor="ceo",
        key_result_id=nps,
        baseline="32",
        target="45",
        reason="survey vendor changed the scale",
        reason_code="wrong_metric",
        effective_on=date(2026, 8, 14),
    )
    ledger.retire_key_result(
        actor="analyst",
        key_result_id=tickets,
        reason="duplicate of the support team's KR",
        reason_code="duplicate",
        effective_on=date(2026, 8, 7),
    )
    check_in(ledger, nps, "44", "on_track", date(2026, 9, 18), "guided setup for all")

    # Her KPI: one reading a month; September's is out of range once the target tightens.
    response_time = ledger.define_kpi(
        actor="analyst",
        area="Customer support",
        name="First-response time",
        owner="analyst",
        unit="hours",
        formula="median(first_reply_at - opened_at)",
        data_source="helpdesk",
        cadence="monthly",
        direction="stay_below",
        target="2",
        target_set_on=date(2026, 4, 1),
    ).id
    reading(ledger, response_time, "1.8", date(2026, 7, 31))
    reading(ledger, response_time, "1.6", date(2026, 8, 31))
    ledger.change_kpi_target(
        actor="analyst",
        kpi_id=response_time,
        target="1.5",
        reason="enterprise SLA",
        reason_code="priorities_changed",
        effective_on=date(2026, 9, 1),
    )
    reading(ledger, response_time, "1.7", date(2026, 9, 30))
    return Quarter(nps=nps, tickets=tickets, response_time=response_time, july_check_in=july)


def correct_july(ledger: GoalLedger, story: Quarter) -> None:
    ledger.correct_check_in(
        actor="analyst",
        key_result_id=story.nps,
        check_in_id=story.july_check_in,
        value="36",
        reason="two duplicate survey answers removed",
    )


@pytest.fixture
def view(ledger: GoalLedger) -> EvidenceView:
    worker_for(ledger).create_tables()
    return EvidenceView(ViewDatabase(ledger), ledger)


def caught_up(ledger: GoalLedger) -> None:
    worker_for(ledger).run_until_caught_up()


def as_json(evidence: PersonEvidence) -> bytes:
    """The bytes the API answers with."""
    return EvidencePublic.of(evidence).model_dump_json().encode()


def texts(*values: object) -> tuple[str, ...]:
    """Values as the evidence writes them: exact decimals, never rounded or padded."""
    return tuple(str(v) for v in values)


def citations(item: Any) -> Iterator[Citation]:
    if isinstance(item, Citation):
        yield item
    elif dataclasses.is_dataclass(item) and not isinstance(item, type):
        for field in dataclasses.fields(item):
            yield from citations(getattr(item, field.name))
    elif isinstance(item, tuple | list):
        for member in item:
            yield from citations(member)


def test_evidence_covers_every_month_of_the_period(ledger: GoalLedger, view: EvidenceView) -> None:
    story = quarter(ledger)
    caught_up(ledger)
    evidence = view.for_person("analyst", FROM, TO)

    # Every month of the period is there, August too, though the analyst did not check in then.
    assert [m.month for m in evidence.months] == ["2026-07", "2026-08", "2026-09"]
    assert [m.check_ins for m in evidence.months] == [3, 0, 1]
    # In August both of the analyst's key results were in play (tickets until its retirement on
    # the 7th) and neither had a check-in: a gap, shown as one.
    assert [m.key_results for m in evidence.months] == [2, 2, 1]
    assert [m.key_results_without_check_in for m in evidence.months] == [0, 2, 0]
    assert [m.readings for m in evidence.months] == [1, 1, 1]
    assert [m.changes for m in evidence.months] == [0, 2, 1]  # re-baseline, retirement; target

    # OKR contribution: the analyst's key results only, under the CEO's objective.
    [objective] = evidence.objectives
    assert objective.title == "Make onboarding a delight" and not objective.owned_by_person
    nps, tickets = objective.key_results
    assert (nps.key_result_id, tickets.key_result_id) == (story.nps, story.tickets)
    assert [len(m.check_ins) for m in nps.months] == [2, 0, 1]
    assert [m.active for m in tickets.months] == [True, True, False]
    confidence = [(m.on_track, m.at_risk, m.off_track) for m in nps.months]
    assert confidence == [(1, 1, 0), (0, 0, 0), (1, 0, 0)]
    notes = [c.note for m in nps.months for c in m.check_ins]
    assert notes == ["survey redesigned", "response rate low", "guided setup for all"]

    # Baseline, target and final value; the plan as it ended and as it began.
    assert texts(nps.original_plan.baseline, nps.original_plan.target) == ("32", "50")
    assert texts(nps.plan_at_end.baseline, nps.plan_at_end.target) == ("32", "45")
    assert nps.final is not None and texts(nps.final.value) == ("44",)
    [rebaseline] = nps.plan_changes
    assert texts(rebaseline.target_before, rebaseline.target_after) == ("50", "45")
    assert rebaseline.reason == "survey vendor changed the scale"
    assert "target_lowered" in rebaseline.flags

    # The retired key result keeps its reason; it is shown, never dropped.
    assert tickets.retired is not None
    assert tickets.retired.reason_code == "duplicate"
    assert tickets.retired.effective_on == date(2026, 8, 7)

    # KRA/KPI achievement: share of readings in the healthy range, trend, target change.
    [area] = evidence.areas
    [kpi] = area.kpis
    assert (area.area, kpi.name) == ("Customer support", "First-response time")
    assert [r.healthy for m in kpi.months for r in m.readings] == [True, True, False]
    assert (kpi.healthy_count, kpi.reading_count, str(kpi.healthy_share)) == (2, 3, "0.6667")
    assert kpi.trend is not None
    trend = texts(kpi.trend.first_value, kpi.trend.last_value, kpi.trend.verdict)
    assert trend == ("1.8", "1.7", "improving")
    assert texts(kpi.threshold_at_start.target, kpi.threshold_at_end.target) == ("2", "1.5")
    [change] = kpi.target_changes
    assert (change.reason, change.reason_code) == ("enterprise SLA", "priorities_changed")


def test_the_same_known_at_gives_the_same_bytes(ledger: GoalLedger, view: EvidenceView) -> None:
    story = quarter(ledger)
    caught_up(ledger)
    # The reviewer reads the evidence; the answer states the known_at it used.
    first = view.for_person("analyst", FROM, TO)
    known_at = first.known_at
    assert known_at <= utc_now()
    again = view.for_person("analyst", FROM, TO, known_at)
    assert as_json(again) == as_json(first)
    assert render_evidence(again) == render_evidence(first)

    # Later, July's check-in is corrected, and more is recorded in the period.
    correct_july(ledger, story)
    reading(ledger, story.response_time, "1.4", date(2026, 9, 15))
    caught_up(ledger)

    # Asked again as known at the first time, the evidence is byte for byte the same.
    reproduced = view.for_person("analyst", FROM, TO, known_at)
    assert as_json(reproduced) == as_json(first)
    assert render_evidence(reproduced) == render_evidence(first)

    # Asked as known now, it shows the correction beside the value first recorded.
    latest = view.for_person("analyst", FROM, TO)
    assert latest.known_at > known_at
    july = latest.objectives[0].key_results[0].months[0].check_ins[0]
    assert texts(july.value, july.recorded_value) == ("36", "35")
    [correction] = july.corrections
    assert correction.reason == "two duplicate survey answers removed"
    assert latest.areas[0].kpis[0].reading_count == 4


def test_every_item_cites_a_real_event(ledger: GoalLedger, view: EvidenceView) -> None:
    story = quarter(ledger)
    correct_july(ledger, story)
    caught_up(ledger)
    evidence = view.for_person("analyst", FROM, TO)

    cited = list(citations(evidence))
    # The objective, two key results, four check-ins, a correction, a re-baseline, a
    # retirement, the KPI, three readings and a target change: fifteen events.
    assert len({c.position for c in cited}) == 15
    for cite in cited:
        [stored] = ledger.recorder.select_notifications(start=cite.position, limit=1)
        event = cast(LedgerAggregate.Event, ledger.mapper.to_domain_event(stored))
        assert stored.id == cite.position
        assert (event.originator_id, event.originator_version) == (cite.goal_id, cite.version)
        assert (event_name(event), event.actor) == (cite.event, cite.actor)
        assert event.timestamp == cite.recorded_at
        assert cite.recorded_at <= evidence.known_at


def test_a_lagging_read_model_never_gives_a_partial_answer(
    ledger: GoalLedger, view: EvidenceView
) -> None:
    story = quarter(ledger)
    caught_up(ledger)
    settled = view.for_person("analyst", FROM, TO)
    # A check-in is recorded; the worker has not applied it yet.
    check_in(ledger, story.nps, "46", "on_track", date(2026, 9, 25), "late win")
    [pending] = ledger.recorder.select_notifications(
        start=ledger.recorder.max_notification_id(), limit=1
    )
    recorded_at = cast(LedgerAggregate.Event, ledger.mapper.to_domain_event(pending)).timestamp

    # Unasked, known_at stops just before what the read model has not seen ...
    partial = view.for_person("analyst", FROM, TO)
    assert settled.known_at <= partial.known_at < recorded_at
    assert partial.objectives[0].key_results[0].check_in_count == 3
    # ... and a known_at it cannot answer in full is refused, not answered in part.
    with pytest.raises(ReadModelBehindError):
        view.for_person("analyst", FROM, TO, utc_now())

    # Once the worker catches up, the same request is answered, the late check-in included.
    caught_up(ledger)
    assert view.for_person("analyst", FROM, TO).objectives[0].key_results[0].check_in_count == 4
    assert as_json(view.for_person("analyst", FROM, TO, partial.known_at)) == as_json(partial)


def test_a_review_names_a_real_period_a_past_time_and_an_owner(
    ledger: GoalLedger, view: EvidenceView
) -> None:
    quarter(ledger)
    caught_up(ledger)
    with pytest.raises(InvalidInputError) as backwards:
        view.for_person("analyst", TO, FROM)
    assert backwards.value.field == "to"
    with pytest.raises(InvalidInputError) as future:
        view.for_person("analyst", FROM, TO, utc_now() + timedelta(hours=1))
    assert future.value.field == "known_at"
    with pytest.raises(NotFoundError):
        view.for_person("nobody", FROM, TO)
    # Before any of the analyst's goals were recorded, she owned nothing to review.
    with pytest.raises(NotFoundError):
        view.for_person("analyst", FROM, TO, datetime(2026, 1, 1, tzinfo=UTC))
    # A period outside her goals' lives has evidence that says so: every month, empty.
    empty = view.for_person("analyst", date(2025, 1, 1), date(2025, 3, 31))
    assert [m.check_ins for m in empty.months] == [0, 0, 0]
    assert empty.objectives == () and empty.areas == ()
    # Over the whole year, the key results are in play in their quarter only.
    year = view.for_person("analyst", date(2026, 1, 1), date(2026, 12, 31))
    nps = year.objectives[0].key_results[0]
    assert [m.month for m in nps.months if m.active] == ["2026-07", "2026-08", "2026-09"]
    assert [m.key_results for m in year.months] == [0] * 6 + [2, 2, 1] + [0] * 3


def test_months_are_cut_to_the_period() -> None:
    months = months_of(date(2026, 11, 15), date(2027, 2, 3))
    assert [(m.key, m.starts_on, m.ends_on) for m in months] == [
        ("2026-11", date(2026, 11, 15), date(2026, 11, 30)),
        ("2026-12", date(2026, 12, 1), date(2026, 12, 31)),
        ("2027-01", date(2027, 1, 1), date(2027, 1, 31)),
        ("2027-02", date(2027, 2, 1), date(2027, 2, 3)),
    ]


def test_the_plan_in_force_is_the_key_results_own(ledger: GoalLedger, view: EvidenceView) -> None:
    story = quarter(ledger)
    # A re-weight recorded after the re-baseline but effective before it, and a second
    # change of plan on the re-baseline's own day: the order recorded and the order in
    # effect differ, and on a tie the later change wins.
    ledger.reweight_key_result(
        actor="ceo",
        key_result_id=story.nps,
        weight="2",
        reason="onboarding matters more this quarter",
        reason_code="priorities_changed",
        effective_on=date(2026, 8, 1),
    )
    ledger.rebaseline_key_result(
        actor="ceo",
        key_result_id=story.nps,
        baseline="30",
        target="44",
        reason="survey scale settled",
        reason_code="wrong_metric",
        effective_on=date(2026, 8, 14),
    )
    caught_up(ledger)
    nps = view.for_person("analyst", FROM, TO).objectives[0].key_results[0]
    domain = ledger.get_key_result(story.nps)

    # The evidence keeps every plan the key result keeps, from the same events.
    def plan(p: Any) -> tuple[object, ...]:
        return (p.baseline, p.target, p.weight, p.effective_on, p.version)

    assert [plan(p) for p in nps.plans] == [plan(p) for p in domain.plans]
    # On every day of the quarter (and before it), one rule picks the plan in force.
    for offset in range(-3, (TO - FROM).days + 1):
        day = FROM + timedelta(days=offset)
        assert plan(plan_in_force(nps.plans, day)) == plan(domain.plan_on(day))
    assert plan(nps.plan_at_end) == plan(domain.plan_on(TO))
    assert texts(nps.plan_at_end.baseline, nps.plan_at_end.target) == ("30", "44")
    assert texts(nps.plan_at_end.weight) == ("2",)


def test_a_read_runs_no_collection(ledger: GoalLedger, view: EvidenceView) -> None:
    """The collector is paused while the evidence is built (projections.collector): with a
    collection due at every allocation, the read's thousands of objects run only the few
    due on its way in and out, where objects made after it run one for every few."""
    quarter(ledger)
    caught_up(ledger)
    collections: list[int] = []

    def counted(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    thresholds = gc.get_threshold()
    gc.set_threshold(1)
    gc.callbacks.append(counted)
    try:
        evidence = view.for_person("analyst", FROM, TO)
        during = len(collections)
        made_after = [[n] for n in range(1000)]
    finally:
        gc.callbacks.remove(counted)
        gc.set_threshold(*thresholds)
    assert len(as_json(evidence)) > 1000
    assert during <= 10
    assert len(collections) - during >= len(made_after) // 4
    assert gc.isenabled()
