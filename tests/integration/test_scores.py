"""The scores read model against the ledger's own scoreboard, for the demo quarter, on each store.

The demo quarter (2026-Q3) holds a re-baselined key result and a retired one; the read
model must agree with `GoalLedger.cycle_scoreboard` on every key result's score (against
the current and the original plan), every objective's score and the net confidence.
"""

from __future__ import annotations

from datetime import date

from application.ledger import GoalLedger
from cli.demo import load_demo
from domain.graduation import KpiTerms
from domain.reports import CycleScoreboard
from projections.registry import worker_for
from projections.scores import Scoreboard, scores
from storage.views import ViewDatabase
from tests.demo_day import CYCLE, DEMO, DEMO_DAY


def _projected(ledger: GoalLedger) -> tuple[Scoreboard, CycleScoreboard]:
    load_demo(ledger, today=DEMO_DAY)
    worker = worker_for(ledger)
    worker.create_tables()
    worker.run_until_caught_up()
    views = ViewDatabase(ledger)
    return scores(views, cycle_id=CYCLE), ledger.cycle_scoreboard(CYCLE)


def test_projected_scores_equal_the_ledgers_scoreboard(ledger: GoalLedger) -> None:
    projected, board = _projected(ledger)
    lines = {line.id: line for o in board.objectives for line in o.key_results}
    assert {row.key_result_id for row in projected.key_results} == set(lines)
    for row in projected.key_results:
        status = lines[row.key_result_id].status
        assert row.score == status.score
        assert row.score_against_original_plan == status.score_against_original_plan
        assert row.traffic_light is status.traffic_light
        assert row.value == status.value
        assert row.baseline == status.plan.baseline
        assert row.target == status.plan.target
        assert row.original_baseline == status.original_plan.baseline
        assert row.original_target == status.original_plan.target
        assert row.rebaselined == (status.plan.version != status.original_plan.version)
        assert row.pace is status.pace
        assert row.stale == status.stale
        assert row.expected_progress == status.expected_progress
        assert row.retired == (status.retired is not None)
        assert row.confidence == (status.last_check_in.confidence if status.last_check_in else None)
    objectives = {o.id: o for o in board.objectives}
    assert {row.objective_id for row in projected.objectives} == set(objectives)
    for objective_row in projected.objectives:
        expected = objectives[objective_row.objective_id]
        assert objective_row.score == expected.score
        assert objective_row.score_against_original_plan == expected.score_against_original_plan
        assert objective_row.traffic_light == expected.traffic_light
        assert objective_row.retired == (expected.retired is not None)
    assert projected.net_confidence == {CYCLE: board.net_confidence}
    assert board.net_confidence is not None
    # Rollups: the whole cycle's, and each owner's, as the domain composes them.
    assert projected.cycles == [board.rollup()]
    owners = sorted(
        {o.owner for o in board.objectives}
        | {line.owner for o in board.objectives for line in o.key_results}
    )
    assert projected.owners == [board.rollup(owner) for owner in owners]
    whole = board.rollup()
    assert whole.objectives == sum(1 for o in board.objectives if o.retired is None)
    assert whole.green + whole.amber + whole.red == whole.key_results > 0


def test_rebaselined_and_retired_key_results(ledger: GoalLedger) -> None:
    projected, board = _projected(ledger)
    rebaselined = [row for row in projected.key_results if row.rebaselined]
    assert len(rebaselined) == 1
    assert rebaselined[0].score != rebaselined[0].score_against_original_plan
    # Its objective is scored against the original plans too, and differs there.
    moved = next(o for o in projected.objectives if o.objective_id == rebaselined[0].objective_id)
    assert moved.score is not None and moved.score_against_original_plan is not None
    assert moved.score != moved.score_against_original_plan
    # Onboarding graduated and churn was carried forward: both closed out, neither dropped.
    retired = [row for row in projected.key_results if row.retired]
    assert sorted(r.retired_reason_code or "" for r in retired) == [
        "carried_forward",
        "graduated_to_kpi",
    ]
    # Their objective counts them at their final scores, in the read model as in the domain.
    objective = next(o for o in board.objectives if o.id == retired[0].objective_id)
    row = next(o for o in projected.objectives if o.objective_id == objective.id)
    assert row.score == objective.score


def test_filters_by_owner_and_judges_pace_on_the_day(ledger: GoalLedger) -> None:
    projected, _ = _projected(ledger)
    owner = projected.key_results[0].owner
    views = ViewDatabase(ledger)
    mine = scores(views, owner=owner, cycle_id=CYCLE)
    assert mine.key_results
    assert all(row.owner == owner for row in mine.key_results)
    assert all(row.owner == owner for row in mine.objectives)
    # Net confidence is the whole cycle's, whatever the owner filter.
    assert mine.net_confidence == projected.net_confidence
    # Pace and staleness are read-time judgements: mid-quarter, nothing is stale yet.
    early = scores(views, cycle_id=CYCLE, today=date(2026, 7, 3))
    assert all(row.as_of == date(2026, 7, 3) for row in early.key_results)
    assert not any(row.stale for row in early.key_results)
    assert [r.score for r in early.key_results] == [r.score for r in projected.key_results]


def test_a_graduated_key_result_counts_at_its_final_score_in_both(ledger: GoalLedger) -> None:
    # ADR 36: the read model and the ledger's replay count it alike, unlike a retired one.
    load_demo(ledger, today=DEMO_DAY)
    # The demo's current quarter is open; its closed one takes no graduation.
    current = DEMO.current.key
    board = ledger.cycle_scoreboard(current)
    objective = next(
        o
        for o in board.objectives
        if o.retired is None and any(line.status.retired is None for line in o.key_results)
    )
    line = next(line for line in objective.key_results if line.status.retired is None)
    ledger.graduate_key_result(
        actor="ceo",
        key_result_id=line.id,
        reason="the norm now",
        terms=KpiTerms(
            area="Growth",
            name="Kept level",
            formula="level",
            data_source="warehouse",
            cadence="monthly",
            target="1",
        ),
    )
    worker = worker_for(ledger)
    worker.create_tables()
    worker.run_until_caught_up()
    projected = scores(ViewDatabase(ledger), cycle_id=current)
    after = next(o for o in ledger.cycle_scoreboard(current).objectives if o.id == objective.id)
    assert after.score == objective.score
    row = next(o for o in projected.objectives if o.objective_id == objective.id)
    assert row.score == after.score
    graduated = next(r for r in projected.key_results if r.key_result_id == line.id)
    assert graduated.retired and graduated.retired_reason_code == "graduated_to_kpi"
    assert graduated.score == line.status.score
