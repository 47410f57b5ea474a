"""Appraisal evidence on real stores: where each goal stood at the period's end, and the
months a KPI did not exist yet (or any more), which are no gap in its readings."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest

from api.evidence_page import render_evidence
from application.ledger import GoalLedger
from domain.scoring import rounded
from projections.evidence import EvidenceView, ScoreItem
from projections.registry import worker_for
from storage.views import ViewDatabase
from tests.integration.test_evidence import (
    FROM,
    TO,
    caught_up,
    citations,
    quarter,
    reading,
    texts,
)

AUGUST = (date(2026, 8, 1), date(2026, 8, 31))


@pytest.fixture
def view(ledger: GoalLedger) -> EvidenceView:
    worker_for(ledger).create_tables()
    return EvidenceView(ViewDatabase(ledger), ledger)


def domain_score(ledger: GoalLedger, score: ScoreItem, key_result_id: UUID, day: date) -> str:
    """The score the domain gives that day (as `/v1/scores` replays it), as evidence writes it."""
    assert score.as_of == day
    status = ledger.get_key_result(key_result_id).status(ledger.get_cycle("2026-Q3"), day)
    return str(rounded(status.score))


def test_every_key_result_shows_its_score_where_it_ended(
    ledger: GoalLedger, view: EvidenceView
) -> None:
    story = quarter(ledger)
    caught_up(ledger)
    [objective] = view.for_person("analyst", FROM, TO).objectives
    nps, tickets = objective.key_results

    # NPS is still active: scored on the quarter's last day, 44 against the re-baselined
    # 32 → 45, from its September check-in, as the scores replay gives it.
    score = nps.score_at_end
    assert texts(score.value, score.score, score.traffic_light) == ("44", "0.9231", "green")
    assert score.score == rounded(score.score)
    assert str(score.score) == domain_score(ledger, score, story.nps, TO)
    assert nps.final is not None and score.check_in == nps.final.cite
    # The retired tickets key result is scored on its retirement day, as its retirement says.
    assert tickets.retired is not None
    assert tickets.score_at_end.as_of == tickets.retired.effective_on == date(2026, 8, 7)
    assert tickets.score_at_end.score == tickets.retired.score_then
    assert tickets.score_at_end.traffic_light == tickets.retired.traffic_light_then

    # Both show on the page, the active one as plainly as the retired one.
    page = render_evidence(view.for_person("analyst", FROM, TO))
    assert 'Score at the end <b class="good">0.9231</b>' in page
    assert f'Score when retired <b class="bad">{tickets.score_at_end.score}</b>' in page


def test_a_score_rests_on_the_last_check_in_even_before_the_period(
    ledger: GoalLedger, view: EvidenceView
) -> None:
    story = quarter(ledger)
    caught_up(ledger)
    # Reviewed over August alone: no NPS check-in in it; July's last (38) still stands,
    # against the plan re-baselined on the 14th (32 → 45).
    [objective] = view.for_person("analyst", *AUGUST).objectives
    nps = objective.key_results[0]
    assert nps.check_in_count == 0 and nps.final is None
    assert all(not m.check_ins for m in nps.months)
    score = nps.score_at_end
    assert texts(score.value, score.score, score.traffic_light) == ("38", "0.4615", "amber")
    assert str(score.score) == domain_score(ledger, score, story.nps, AUGUST[1])
    assert score.check_in is not None and score.check_in.event == "check_in_recorded"


def test_months_before_a_kpi_existed_are_not_gaps(ledger: GoalLedger, view: EvidenceView) -> None:
    quarter(ledger)
    # A KPI defined mid-August (target set then) and retired at the end of August.
    defined = ledger.define_kpi(
        actor="analyst",
        area="Customer support",
        name="Reopened tickets",
        owner="analyst",
        unit="% of tickets",
        formula="reopened / closed",
        data_source="helpdesk",
        cadence="monthly",
        direction="stay_below",
        target="4",
        target_set_on=date(2026, 8, 20),
    ).id
    reading(ledger, defined, "3.5", date(2026, 8, 25))
    ledger.retire_kpi(
        actor="analyst",
        kpi_id=defined,
        reason="folded into first-response time",
        reason_code="duplicate",
        effective_on=date(2026, 8, 31),
    )
    caught_up(ledger)
    evidence = view.for_person("analyst", FROM, TO)
    kpis = {k.name: k for k in evidence.areas[0].kpis}
    reopened = kpis["Reopened tickets"]
    # It lived in August only; the older KPI all quarter.
    assert [m.active for m in reopened.months] == [False, True, False]
    assert [m.active for m in kpis["First-response time"].months] == [True, True, True]
    assert reopened.unit == "% of tickets"

    # The page says so, neutrally: not a red "no reading" against the person.
    page = render_evidence(evidence)
    row = page.split("Reopened tickets</b>", 1)[1].split("</tr>", 1)[0]
    assert '<td class="none">not yet defined</td>' in row
    assert '<td class="none">retired</td>' in row
    assert "no reading" not in row
    # Its healthy level is in its unit.
    assert "≤ 4\N{NO-BREAK SPACE}% of tickets" in row


def test_known_at_is_to_the_second_unless_a_row_falls_in_its_fraction(
    ledger: GoalLedger, view: EvidenceView
) -> None:
    quarter(ledger)
    caught_up(ledger)
    evidence = view.for_person("analyst", FROM, TO)
    # Either a whole second, or a row read was recorded within the fraction cut off.
    second = evidence.known_at.replace(microsecond=0)
    recorded = [c.recorded_at for c in citations(evidence)]
    assert evidence.known_at == second or any(at > second for at in recorded)
    # Asked as the last row's record time, that row is read: its fraction is kept.
    assert view.for_person("analyst", FROM, TO, max(recorded)).known_at == max(recorded)
    # Asked again at the time it answered, the same evidence.
    assert view.for_person("analyst", FROM, TO, evidence.known_at) == evidence
