"""Rebuilding read models beside the live ones, then switching readers to them in one commit."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from eventsourcing.persistence import Notification, Tracking

from application.ledger import GoalLedger
from projections.base import ReadModel, apply_event
from projections.read_ahead import ReadAhead
from projections.replicas import Replicas
from projections.worker import DEFAULT_BATCH
from storage.views import (
    ReadModelState,
    ViewDatabase,
    ViewTransaction,
)

log = logging.getLogger("goalpost.projections")


class RebuildSupersededError(RuntimeError):
    """Another rebuild of the same read model started and took over."""


class RebuildInterruptedError(RuntimeError):
    """The rebuild was asked to stop before it switched; the live generation is unchanged."""


@dataclass(frozen=True)
class Rebuilt:
    name: str
    replaced: int
    generation: int
    position: int
    # Events of the log applied; read models rebuilt together share one count and time.
    events: int
    seconds: float


class _Building:
    """One read model being rebuilt: its handlers and the generation it builds."""

    def __init__(self, model: ReadModel, database: ViewDatabase) -> None:
        self.model = model
        self.database = database
        self.tables = model.table_names()
        self.generation = 0

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def tracking_name(self) -> str:
        """Where the generation being built records its position until the switch."""
        return self.database.tracking_name(self.model.name, self.generation)

    def state(self, tx: ViewTransaction, lock: Literal["share", "update"]) -> ReadModelState:
        """Its row, locked; raises if another rebuild has taken it over since `start`."""
        state = tx.read_model(self.name, lock=lock)
        if state is None:
            raise RuntimeError(f"read model {self.name} has no row: run `goalpost db init`")
        if self.generation and state.building != self.generation:
            raise RebuildSupersededError(
                f"another rebuild of {self.name} took over (generation "
                f"{state.building}, not {self.generation})"
            )
        return state


class Rebuild:
    """Builds the next generation of read models from the whole log, then switches to them.

    Several read models rebuild in one pass, as the worker applies read models at one
    position (ADR 21): each batch of the log is read and decoded once and applied to
    every one of them in one transaction, advancing one shared set of replicas. One
    read model is the one-model case.

    The live generations keep serving reads and their worker keeps applying events all
    along. The switch locks every read model's row (waiting for the live batch in
    flight, holding off the next), applies the last events to the new generations in
    the same transaction, hands each its live tracking name at its position, and
    commits; readers and workers resolve names to them from then on. The replaced
    tables are dropped once no reader can still be using them. Stopped or overtaken
    before the switch, it removes what it built: every live generation stays as it was.
    """

    def __init__(
        self, ledger: GoalLedger, *read_models: type[ReadModel], batch_size: int = DEFAULT_BATCH
    ) -> None:
        if not read_models:
            raise ValueError("a rebuild needs at least one read model")
        names = [model.name for model in read_models]
        if len(set(names)) != len(names):
            raise ValueError(f"a read model named twice: {', '.join(names)}")
        self.ledger = ledger
        self.database = ViewDatabase(ledger)
        self.batch_size = batch_size
        # On PostgreSQL the next page of the log is read while this one is applied and
        # committed; SQLite, one writer with readers beside, gains nothing from it.
        self._pages = ReadAhead(
            ledger.recorder, batch_size, enabled=self.database.dialect == "postgresql"
        )
        # One set of goals for all: each is advanced once an event, whatever reads it.
        self.replicas = Replicas(ledger)
        # The position the replicas are in step with; None once they may not be.
        self.applied_through: int | None = None
        self.building = [
            _Building(cls(ledger, self.database), self.database) for cls in read_models
        ]
        for building in self.building:
            building.model.replicas = self.replicas
        # The seal works from the stored bytes: no event, no replicas.
        self._decoding = [m for m in self.models if type(m).process is ReadModel.process]
        self._from_bytes = [m for m in self.models if type(m).process is not ReadModel.process]
        # Rows are locked in name order, as the worker locks the registry's (which is in
        # name order): two transactions taking the same rows in one order cannot deadlock.
        self._locking = sorted(self.building, key=lambda building: building.name)

    @property
    def models(self) -> list[ReadModel]:
        return [building.model for building in self.building]

    def run(
        self,
        *,
        progress: Callable[[int, int], None] | None = None,
        stopping: threading.Event | None = None,
    ) -> list[Rebuilt]:
        """Start, catch up in batches, switch, drop the replaced generations.

        One `Rebuilt` per read model, in the order given.
        """
        started = time.monotonic()
        self.start()
        try:
            events = self.catch_up(progress=progress, stopping=stopping)
            replaced, position, last = self.switch()
        except (RebuildInterruptedError, RebuildSupersededError):
            # What the others built is of no use without the one overtaken or stopped.
            self.abandon()
            raise
        self.drop(list(replaced.values()))
        seconds = time.monotonic() - started
        return [
            Rebuilt(
                name=building.name,
                replaced=replaced[building.name].generation,
                generation=building.generation,
                position=position,
                events=events + last,
                seconds=seconds,
            )
            for building in self.building
        ]

    def start(self) -> dict[str, int]:
        """Create each next generation's tables and its position at 0, in one commit."""
        self.database.create_read_models(
            [building.model.spec() for building in self.building], afresh=False
        )
        with self.database.transaction() as tx:
            for building in self._locking:
                state = building.state(tx, "update")
                if state.building is not None:
                    log.warning(
                        "an earlier rebuild of %s (generation %d) did not finish; starting again",
                        building.name,
                        state.building,
                    )
                    tx.remove_generation(
                        building.name, (*state.tables, *building.tables), state.building
                    )
                building.generation = max(state.generation, state.building or 0) + 1
                tx.update_read_model(
                    building.name,
                    generation=state.generation,
                    building=building.generation,
                    tables=state.tables,
                )
                tx.create(building.model.tables, building.tables, building.generation)
                tx.lock_position(building.tracking_name)
        self._forget()
        return {building.name: building.generation for building in self.building}

    def catch_up(
        self,
        *,
        progress: Callable[[int, int], None] | None = None,
        stopping: threading.Event | None = None,
    ) -> int:
        """Batches into the new generations until one comes back short (near the head)."""
        total = 0
        while True:
            if stopping is not None and stopping.is_set():
                raise RebuildInterruptedError(f"the rebuild of {self._names()} was stopped")
            try:
                with self.database.transaction(batched=True) as tx:
                    for building in self._locking:
                        building.state(tx, "share")
                        tx.pin(building.tables, building.generation)
                    applied = self._batch(tx)
            except BaseException:
                self._forget()
                raise
            total += applied
            if progress is not None:
                progress(self.applied_through or 0, self.database.head())
            if applied < self.batch_size:
                return total

    def switch(self) -> tuple[dict[str, ReadModelState], int, int]:
        """Apply the last events and make every new generation live, in one transaction.

        The states replaced (by name), the position they went live at, and the events
        applied in the switch.
        """
        try:
            with self.database.transaction(batched=True) as tx:
                replaced = {}
                for building in self._locking:
                    replaced[building.name] = building.state(tx, "update")
                    tx.pin(building.tables, building.generation)
                last = 0
                while applied := self._batch(tx):
                    last += applied
                position = 0
                for building in self._locking:
                    position = self._go_live(tx, building)
        except BaseException:
            self._forget()
            raise
        return replaced, position, last

    def _go_live(self, tx: ViewTransaction, building: _Building) -> int:
        """Hand the new generation the live tracking name at its position; the position."""
        model = building.model
        position = tx.lock_position(building.tracking_name)
        live = tx.lock_position(model.tracking_name)
        if position < live:
            raise RuntimeError(
                f"the rebuilt {model.name} is at {position}, behind the live "
                f"one at {live}: the log lost events?"
            )
        tx.set_position(model.tracking_name, position)
        if position > live:
            # Past any event the live generation could not apply.
            tx.advanced(model.name)
        tx.forget_position(building.tracking_name)
        tx.update_read_model(
            model.name,
            generation=building.generation,
            building=None,
            tables=building.tables,
            definition=model.definition(),
        )
        return position

    def drop(self, replaced: list[ReadModelState]) -> None:
        """Drop the replaced generations' tables once no reader can be using them."""
        tables = {building.name: building.tables for building in self.building}
        with self.database.bare_transaction() as tx:
            tx.exclude_readers()
            for state in replaced:
                tx.drop(state.tables or tables[state.name], state.generation)

    def abandon(self) -> None:
        """Remove the generations being built; the live ones stay as they were.

        A read model another rebuild has taken over is left to that rebuild.
        """
        with self.database.transaction() as tx:
            for building in self._locking:
                state = tx.read_model(building.name, lock="update")
                if state is None or state.building != building.generation:
                    continue
                tx.remove_generation(building.name, building.tables, building.generation)
                tx.update_read_model(
                    building.name,
                    generation=state.generation,
                    building=None,
                    tables=state.tables,
                )

    def _batch(self, tx: ViewTransaction) -> int:
        """The next events after the generations' position, applied to every read model.

        The position is read under lock in the batch's own transaction (see
        `projections.base.apply_batch`); the read models being built always move
        together, so they stand at one position.
        """
        positions = {b.name: tx.lock_position(b.tracking_name) for b in self._locking}
        start = min(positions.values())
        if start != max(positions.values()):
            raise RuntimeError(f"read models rebuilt together stand apart: {positions}")
        if self.applied_through != start:
            # Someone else moved the position: the goals in memory are not in step with it.
            self.replicas.clear()
        notifications = self._pages.page(start)
        for stored in notifications:
            self._apply(tx, stored)
        if notifications:
            end = notifications[-1].id
            for building in self.building:
                tx.lane(building.name)
                building.model.finish_batch(tx, end)
            for building in self.building:
                tx.track(Tracking(building.tracking_name, end))
            start = end
        self.applied_through = start
        return len(notifications)

    def _apply(self, tx: ViewTransaction, stored: Notification) -> None:
        """One stored event to every read model, decoded once for those that decode it."""
        for model in self._from_bytes:
            tx.lane(model.name)
            model.process(tx, stored)
        if self._decoding:
            apply_event(self._decoding, self.replicas, tx, stored)

    def _forget(self) -> None:
        """After a rolled-back batch: nothing in memory is in step with the store."""
        for model in self.models:
            model.forget()
        self.applied_through = None

    def _names(self) -> str:
        return ", ".join(building.name for building in self.building)
