"""A release that changes a read model: the store starts it afresh, and mixes no two definitions.

`ScoresNext` stands for the next release's scores read model: the same tables, but what it
writes changed, so its version is one higher.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eventsourcing.persistence import PersistenceError

from application.ledger import GoalLedger
from application.stores import open_ledger
from cli.demo import load_demo
from cli.projections import render_status
from projections.rebuild import Rebuild
from projections.scores import Scores
from projections.seal import Seal
from projections.worker import ProjectionWorker
from storage.views import FIRST_GENERATION, ReadModelState, ViewDatabase
from tests.demo_day import DEMO, DEMO_DAY
from tests.integration.test_rebuild import snapshot


class ScoresNext(Scores):
    version = Scores.version + 1


@pytest.fixture
def ledger(store_url: str) -> Iterator[GoalLedger]:
    opened = open_ledger(store_url, create_tables=True)
    try:
        load_demo(opened, today=DEMO_DAY)
        yield opened
    finally:
        opened.close()


def state(views: ViewDatabase) -> ReadModelState:
    return next(s for s in views.states() if s.name == Scores.name)


def caught_up(ledger: GoalLedger, model: type[Scores]) -> ProjectionWorker:
    worker = ProjectionWorker(ledger, [model])
    worker.create_tables()
    worker.run_until_caught_up()
    return worker


def record_check_in(ledger: GoalLedger) -> None:
    # The demo's current quarter: its closed one takes no check-in.
    board = ledger.cycle_scoreboard(DEMO.current.key)
    line = next(
        line
        for objective in board.objectives
        if objective.retired is None
        for line in objective.key_results
        if line.status.retired is None
    )
    ledger.record_check_in(
        actor=line.owner,
        key_result_id=line.id,
        value=line.status.value,
        confidence="on_track",
        effective_on=min(board.ends_on, DEMO_DAY),
    )


def test_the_definition_is_the_version_and_the_tables() -> None:
    assert ScoresNext.definition() != Scores.definition()
    assert ScoresNext.definition().startswith(f"v{Scores.version + 1}:")
    assert Scores.definition().split(":")[1] == ScoresNext.definition().split(":")[1]


def test_a_release_that_redefines_a_read_model_starts_it_afresh(ledger: GoalLedger) -> None:
    views = ViewDatabase(ledger)
    caught_up(ledger, Scores)
    before = snapshot(views, (Scores,))
    old = state(views)
    assert old.definition == Scores.definition()
    assert before["scores position"] == views.head()

    worker = ProjectionWorker(ledger, [ScoresNext])
    worker.create_tables()

    new = state(views)
    assert new.definition == ScoresNext.definition()
    assert new.generation == old.generation + 1
    assert views.position(Scores.name) == 0
    assert views.query("SELECT * FROM {key_result_scores}") == []
    # The old generation's tables are gone.
    with pytest.raises(PersistenceError):
        views.query(f"SELECT * FROM {views.table('key_result_scores', old.generation)}")

    worker.run_until_caught_up()
    assert snapshot(views, (ScoresNext,)) == before
    # Run again, the same release resets nothing.
    worker.create_tables()
    assert state(views) == new
    assert views.position(Scores.name) == views.head()


def test_a_worker_of_another_definition_applies_nothing(ledger: GoalLedger) -> None:
    views = ViewDatabase(ledger)
    old_worker = caught_up(ledger, Scores)
    new_worker = caught_up(ledger, ScoresNext)
    record_check_in(ledger)
    head = views.head()

    assert old_worker.run_once() == 0
    assert views.position(Scores.name) == head - 1
    assert new_worker.run_once() == 1
    assert views.position(Scores.name) == head


def test_an_older_release_leaves_a_newer_definition_live(ledger: GoalLedger) -> None:
    views = ViewDatabase(ledger)
    caught_up(ledger, ScoresNext)
    live = state(views)

    # An old process restarted mid-deploy creates its tables: nothing is reset.
    ProjectionWorker(ledger, [Scores]).create_tables()

    assert state(views) == live
    assert views.position(Scores.name) == views.head()
    # Its operator sees why its worker stands aside.
    shown = render_status(*ProjectionWorker(ledger, [Scores]).status())
    assert f"{ScoresNext.definition()}; this release has {Scores.definition()}" in shown


def test_a_rebuild_by_the_new_release_switches_with_no_gap(ledger: GoalLedger) -> None:
    views = ViewDatabase(ledger)
    caught_up(ledger, Scores)
    before = snapshot(views, (Scores,))
    live = state(views)

    [done] = Rebuild(ledger, ScoresNext).run()

    after = state(views)
    assert after.definition == ScoresNext.definition()
    assert after.generation == done.generation > live.generation
    assert snapshot(views, (ScoresNext,)) == before
    # The new release's worker finds its own definition live: nothing to start afresh.
    caught_up(ledger, ScoresNext)
    assert state(views) == after
    assert views.position(Scores.name) == views.head()


def test_a_store_from_before_definitions_were_kept_starts_its_read_models_afresh(
    ledger: GoalLedger,
) -> None:
    views = ViewDatabase(ledger)
    caught_up(ledger, Scores)
    before = snapshot(views, (Scores,))
    with views.bare_transaction() as tx:
        tx.execute("ALTER TABLE {read_models} DROP COLUMN definition")

    worker = ProjectionWorker(ledger, [Scores])
    worker.create_tables()

    found = state(views)
    assert found.definition == Scores.definition()
    assert found.generation == FIRST_GENERATION + 1
    worker.run_until_caught_up()
    assert snapshot(views, (Scores,)) == before


class SealNext(Seal):
    version = Seal.version + 1


def seal_state(views: ViewDatabase) -> ReadModelState:
    return next(s for s in views.states() if s.name == Seal.name)


def test_the_seal_is_never_started_afresh(ledger: GoalLedger) -> None:
    """Starting it afresh would seal whatever the log holds now, dropping the evidence."""
    views = ViewDatabase(ledger)
    worker = ProjectionWorker(ledger, [Seal])
    worker.create_tables()
    worker.run_until_caught_up()
    before = snapshot(views, (Seal,))
    live = seal_state(views)

    ProjectionWorker(ledger, [SealNext]).create_tables()

    assert seal_state(views) == live
    assert snapshot(views, (Seal,)) == before


def test_a_seal_from_before_definitions_were_kept_keeps_its_chain(ledger: GoalLedger) -> None:
    views = ViewDatabase(ledger)
    worker = ProjectionWorker(ledger, [Seal])
    worker.create_tables()
    worker.run_until_caught_up()
    before = snapshot(views, (Seal,))
    with views.bare_transaction() as tx:
        tx.execute("ALTER TABLE {read_models} DROP COLUMN definition")

    worker.create_tables()

    found = seal_state(views)
    assert found.definition == Seal.definition()
    assert found.generation == FIRST_GENERATION
    assert snapshot(views, (Seal,)) == before
