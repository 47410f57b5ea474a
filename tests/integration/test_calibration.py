"""Calibration from the scores read model against the ledger's own scoreboard, on each store.

The demo quarter holds aspirational and committed objectives, a re-baselined key result
and a retired one; once it is closed, the read model's calibration must be the domain's
`calibrate` over the final lines of the ledger's scoreboard.
"""

from __future__ import annotations

from application.ledger import GoalLedger
from cli.demo import load_demo
from domain.calibration import FinalScore, calibrate
from projections.calibration import calibration
from projections.registry import worker_for
from storage.views import ViewDatabase
from tests.demo_day import CYCLE, DEMO_DAY


def test_calibration_of_a_closed_cycle_is_the_domains_over_its_final_scores(
    ledger: GoalLedger,
) -> None:
    load_demo(ledger, today=DEMO_DAY)
    worker = worker_for(ledger)
    worker.create_tables()
    worker.run_until_caught_up()
    views = ViewDatabase(ledger)
    # The demo closed its previous quarter: its final scores are calibrated; the current
    # quarter, open, adds nothing.
    board = ledger.cycle_scoreboard(CYCLE)
    expected = calibrate(
        FinalScore(line.owner, CYCLE, objective.kind, line.status.score)
        for objective in board.objectives
        if objective.retired is None
        for line in objective.key_results
        if line.status.retired is None
    )
    found = calibration(views)
    assert found == expected
    assert sum(c.aspirational for c in found) > 0 and sum(c.committed for c in found) > 0
    owner = found[0].owner
    assert calibration(views, owner=owner, cycle_id=CYCLE) == [found[0]]
    assert calibration(views, cycle_id="2027-Q1") == []
