"""Rebuilding a read model beside the live one, then switching readers to it in one commit."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from application.ledger import GoalLedger
from projections.base import ReadModel, apply_batch
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
    events: int
    seconds: float


class Rebuild:
    """Builds the next generation of a read model from the whole log, then switches to it.

    The live generation keeps serving reads and its worker keeps applying events all
    along. The switch locks the read model's row (waiting for the live batch in flight,
    holding off the next), applies the last events to the new generation in the same
    transaction, hands it the live tracking name at its position, and commits; readers
    and workers resolve names to it from then on. The replaced tables are dropped once
    no reader can still be using them.
    """

    def __init__(
        self, ledger: GoalLedger, read_model: type[ReadModel], *, batch_size: int = DEFAULT_BATCH
    ) -> None:
        self.ledger = ledger
        self.database = ViewDatabase(ledger)
        self.model = read_model(ledger, self.database)
        self.batch_size = batch_size
        self.tables = self.model.table_names()
        self.generation = 0

    @property
    def building_name(self) -> str:
        return self.database.tracking_name(self.model.name, self.generation)

    def run(
        self,
        *,
        progress: Callable[[int, int], None] | None = None,
        stopping: threading.Event | None = None,
    ) -> Rebuilt:
        """Start, catch up in batches, switch, drop the replaced generation."""
        started = time.monotonic()
        self.start()
        try:
            events = self.catch_up(progress=progress, stopping=stopping)
        except RebuildInterruptedError:
            self.abandon()
            raise
        replaced, position, last = self.switch()
        self.drop(replaced)
        return Rebuilt(
            name=self.model.name,
            replaced=replaced.generation,
            generation=self.generation,
            position=position,
            events=events + last,
            seconds=time.monotonic() - started,
        )

    def start(self) -> int:
        """Create the next generation's tables and its position at 0."""
        name = self.model.name
        self.database.create_read_models([self.model.spec()], afresh=False)
        with self.database.transaction() as tx:
            state = self._state(tx, "update")
            if state.building is not None:
                log.warning(
                    "an earlier rebuild of %s (generation %d) did not finish; starting again",
                    name,
                    state.building,
                )
                tx.remove_generation(self.model.name, (*state.tables, *self.tables), state.building)
            self.generation = max(state.generation, state.building or 0) + 1
            tx.update_read_model(
                name, generation=state.generation, building=self.generation, tables=state.tables
            )
            tx.create(self.model.tables, self.tables, self.generation)
            tx.lock_position(self.building_name)
        self.model.forget()
        return self.generation

    def catch_up(
        self,
        *,
        progress: Callable[[int, int], None] | None = None,
        stopping: threading.Event | None = None,
    ) -> int:
        """Batches into the new generation until one comes back short (near the head)."""
        total = 0
        while True:
            if stopping is not None and stopping.is_set():
                raise RebuildInterruptedError(f"the rebuild of {self.model.name} was stopped")
            try:
                with self.database.transaction(batched=True) as tx:
                    self._state(tx, "share")
                    tx.pin(self.tables, self.generation)
                    applied = apply_batch(self.model, tx, self.building_name, self.batch_size)
            except BaseException:
                self.model.forget()
                raise
            total += applied
            if progress is not None:
                progress(self.model.applied_through or 0, self.database.head())
            if applied < self.batch_size:
                return total

    def switch(self) -> tuple[ReadModelState, int, int]:
        """Apply the last events and make the new generation live, in one transaction."""
        try:
            with self.database.transaction(batched=True) as tx:
                replaced = self._state(tx, "update")
                tx.pin(self.tables, self.generation)
                last = 0
                while applied := apply_batch(self.model, tx, self.building_name, self.batch_size):
                    last += applied
                position = tx.lock_position(self.building_name)
                live = tx.lock_position(self.model.tracking_name)
                if position < live:
                    raise RuntimeError(
                        f"the rebuilt {self.model.name} is at {position}, behind the live "
                        f"one at {live}: the log lost events?"
                    )
                tx.set_position(self.model.tracking_name, position)
                if position > live:
                    # Past any event the live generation could not apply.
                    tx.advanced(self.model.name)
                tx.forget_position(self.building_name)
                tx.update_read_model(
                    self.model.name,
                    generation=self.generation,
                    building=None,
                    tables=self.tables,
                    definition=self.model.definition(),
                )
        except BaseException:
            self.model.forget()
            raise
        return replaced, position, last

    def drop(self, replaced: ReadModelState) -> None:
        """Drop the replaced generation's tables once no reader can be using them."""
        with self.database.bare_transaction() as tx:
            tx.exclude_readers()
            tx.drop(replaced.tables or self.tables, replaced.generation)

    def abandon(self) -> None:
        """Remove the generation being built; the live one stays as it was."""
        with self.database.transaction() as tx:
            state = self._state(tx, "update")
            if state.building == self.generation:
                tx.remove_generation(self.model.name, self.tables, self.generation)
                tx.update_read_model(
                    self.model.name, generation=state.generation, building=None, tables=state.tables
                )

    def _state(self, tx: ViewTransaction, lock: str) -> ReadModelState:
        state = tx.read_model(self.model.name, lock="update" if lock == "update" else "share")
        if state is None:
            raise RuntimeError(f"read model {self.model.name} has no row: run `goalpost db init`")
        if self.generation and state.building != self.generation:
            raise RebuildSupersededError(
                f"another rebuild of {self.model.name} took over (generation "
                f"{state.building}, not {self.generation})"
            )
        return state


# Read your writes
