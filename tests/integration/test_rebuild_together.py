"""Rebuilding every read model in one pass: the rows of a rebuild of each in turn, one switch.

The history is test_rebuild's (the demo quarter and a quarter of imported check-ins and
changes of plan); so are the snapshots, every table of every read model, row for row,
positions included. Small batches make the shared replicas cross many batches.
"""

from __future__ import annotations

import logging
import threading

import pytest
from eventsourcing.persistence import PersistenceError

from application.ledger import GoalLedger
from application.stores import open_ledger
from projections.rebuild import Rebuild, RebuildInterruptedError, RebuildSupersededError
from projections.registry import READ_MODELS
from projections.scores import Scores
from storage.views import ReadModelState, ViewDatabase
from tests.integration import test_rebuild
from tests.integration.test_rebuild import rebuild_all, snapshot

BATCH = 50


# A long history on the store, its read models kept by the worker: test_rebuild's own.
projected = test_rebuild.projected


def states(views: ViewDatabase) -> dict[str, ReadModelState]:
    return {state.name: state for state in views.states()}


def gone(views: ViewDatabase, generation: int) -> bool:
    """Whether no read model has a table of that generation any more."""
    for model in READ_MODELS:
        for table in model.table_names():
            try:
                views.query(f"SELECT count(*) FROM {views.table(table, generation)}")
            except PersistenceError:
                continue
            return False
    return True


def building_positions(views: ViewDatabase, generation: int) -> list[int]:
    """Positions still tracked for a generation being built (none once removed)."""
    found = (
        views.tracking.max_tracking_id(views.tracking_name(model.name, generation))
        for model in READ_MODELS
    )
    return [position for position in found if position]


def test_read_models_rebuilt_together_equal_each_rebuilt_alone(projected: GoalLedger) -> None:
    ledger = projected
    views = ViewDatabase(ledger)

    # Each read model rebuilt on its own, one after the other: the rows the worker wrote.
    live = snapshot(views)
    rebuild_all(ledger, batch_size=BATCH)
    in_turn = snapshot(views)
    assert in_turn == live

    # All of them in one pass: each goes live at the log's head in its next generation.
    done = Rebuild(ledger, *READ_MODELS, batch_size=BATCH).run()
    assert [rebuilt.name for rebuilt in done] == [model.name for model in READ_MODELS]
    assert {(rebuilt.replaced, rebuilt.generation) for rebuilt in done} == {(2, 3)}
    assert {rebuilt.position for rebuilt in done} == {views.head()}
    # Every event of the log, once (ids have gaps: a rolled-back insert leaves one).
    log = ledger.recorder.select_notifications(start=0, limit=10_000, inclusive_of_start=False)
    assert {rebuilt.events for rebuilt in done} == {len(log)}

    # Row for row what the rebuilds in turn wrote; the replaced generations are gone.
    assert snapshot(views) == in_turn
    assert {state.generation for state in states(views).values()} == {3}
    assert gone(views, 2)


def test_a_stopped_rebuild_leaves_every_live_generation_as_it_was(
    projected: GoalLedger,
) -> None:
    ledger = projected
    views = ViewDatabase(ledger)
    before, rows = states(views), snapshot(views)

    # The operator stops it (Ctrl-C) after two batches.
    stopping = threading.Event()
    batches: list[int] = []

    def progress(position: int, head: int) -> None:
        batches.append(position)
        if len(batches) == 2:
            stopping.set()

    rebuild = Rebuild(ledger, *READ_MODELS, batch_size=BATCH)
    with pytest.raises(RebuildInterruptedError):
        rebuild.run(progress=progress, stopping=stopping)
    assert batches == [BATCH, 2 * BATCH]

    # Nothing of what it built is left: not the tables, not their positions, not the mark.
    assert states(views) == before
    assert snapshot(views) == rows
    assert gone(views, 2)
    assert building_positions(views, 2) == []


def test_a_rebuild_after_an_unfinished_one_starts_again(
    projected: GoalLedger, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = projected
    views = ViewDatabase(ledger)
    rows = snapshot(views)

    # The process dies two batches in (here: an error nobody catches).
    class ProcessDiedError(Exception):
        pass

    def die(position: int, head: int) -> None:
        if position >= 2 * BATCH:
            raise ProcessDiedError

    with pytest.raises(ProcessDiedError):
        Rebuild(ledger, *READ_MODELS, batch_size=BATCH).run(progress=die)
    assert {state.building for state in states(views).values()} == {2}
    assert set(building_positions(views, 2)) == {2 * BATCH}

    # The next rebuild removes what the first left, starts from the beginning, switches.
    caplog.set_level(logging.WARNING, logger="goalpost.projections")
    done = Rebuild(ledger, *READ_MODELS, batch_size=BATCH).run()
    assert {(rebuilt.replaced, rebuilt.generation) for rebuilt in done} == {(1, 3)}
    warned = [r.getMessage() for r in caplog.records if "did not finish" in r.getMessage()]
    assert len(warned) == len(READ_MODELS)
    assert snapshot(views) == rows
    assert gone(views, 1) and gone(views, 2)
    assert building_positions(views, 2) == []


def test_a_rebuild_overtaken_on_one_read_model_gives_up_all(
    projected: GoalLedger, store_url: str
) -> None:
    ledger = projected
    views = ViewDatabase(ledger)
    rows = snapshot(views)
    elsewhere = open_ledger(store_url)
    try:
        # One batch in, another operator rebuilds the scores alone, start to switch.
        overtaking: list[int] = []

        def overtake(position: int, head: int) -> None:
            if not overtaking:
                [rebuilt] = Rebuild(elsewhere, Scores, batch_size=BATCH).run()
                overtaking.append(rebuilt.generation)

        with pytest.raises(RebuildSupersededError, match="another rebuild of scores"):
            Rebuild(ledger, *READ_MODELS, batch_size=BATCH).run(progress=overtake)
    finally:
        elsewhere.close()

    # The scores are the other rebuild's generation 3; every other read model is as it
    # was, and nothing of the generations this one built is left.
    assert overtaking == [3]
    assert {name: (state.generation, state.building) for name, state in states(views).items()} == {
        model.name: (3 if model is Scores else 1, None) for model in READ_MODELS
    }
    assert gone(views, 2)
    assert building_positions(views, 2) == []
    assert snapshot(views) == rows
