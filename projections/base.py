"""A read model: its tables, its handlers, how it applies a batch; and reading its position."""

from __future__ import annotations

import hashlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, ClassVar

from eventsourcing.persistence import Notification, Tracking
from eventsourcing.utils import resolve_topic

from application.ledger import GoalLedger
from domain.base import LedgerAggregate
from domain.values import utc_now
from projections.replicas import Replicas
from storage.views import (
    FIRST_GENERATION,
    ReadModelHealth,
    ReadModelSpec,
    ReadModelState,
    ViewDatabase,
    ViewTransaction,
    table_names,
)

log = logging.getLogger("goalpost.projections")

# How long a read asking for its own write (`min_position`) waits for the projection.
READ_YOUR_WRITES_TIMEOUT = 5.0


class ReadModel(ABC):
    """One read model: its tables, how each event changes them, and its own position."""

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    # Raise it when what the read model writes changes but its tables do not (a change of
    # the tables changes the definition by itself): the store then starts it afresh.
    version: ClassVar[int] = 1
    # Holds evidence the log cannot give back (the seal): never started afresh by a release.
    keeps_evidence: ClassVar[bool] = False
    # The goals whose events it reads (None: every event). Another goal's event is not
    # decoded for it at all: decoding is most of a rebuild that writes a row for one
    # event in a hundred (ADR 52). Every event of these goals is read, so the replicas
    # of them it keeps stay in step.
    reads_goals: ClassVar[tuple[type[LedgerAggregate], ...] | None] = None

    def __init__(self, ledger: GoalLedger, database: ViewDatabase) -> None:
        self.ledger = ledger
        self.database = database
        self.replicas = Replicas(ledger)
        # The position the replicas are in step with; None once they may not be.
        self.applied_through: int | None = None

    @classmethod
    def table_names(cls) -> tuple[str, ...]:
        """The tables `tables` creates (`{name}` placeholders, without prefix)."""
        return table_names(cls.tables)

    @classmethod
    def definition(cls) -> str:
        """The version and a digest of the DDL: what the live generation must be built by."""
        digest = hashlib.sha256("\n".join(cls.tables).encode()).hexdigest()[:16]
        return f"v{cls.version}:{digest}"

    @classmethod
    def spec(cls) -> ReadModelSpec:
        return ReadModelSpec(cls.name, cls.tables, cls.definition(), cls.keeps_evidence)

    @property
    def tracking_name(self) -> str:
        """Where the live generation records its position."""
        return self.database.tracking_name(self.name)

    def position(self) -> int:
        """The position the live generation reflects."""
        return self.database.position(self.name)

    def before(self, event: LedgerAggregate.Event, position: int) -> Any:
        """Read what the event is about to change (the goal as it stood); default nothing."""
        return None

    @abstractmethod
    def after(
        self,
        tx: ViewTransaction,
        event: LedgerAggregate.Event,
        stored: Notification,
        before: Any,
    ) -> None:
        """Write the read model's rows for one event, inside the batch's transaction."""

    @classmethod
    def reads(cls, topic: str) -> bool:
        """Whether the read model reads events of this topic."""
        return cls.reads_goals is None or _of_goals(topic, cls.reads_goals)

    def process(self, tx: ViewTransaction, stored: Notification) -> None:
        apply_event([self], self.replicas, tx, stored)

    def finish_batch(self, tx: ViewTransaction, position: int) -> None:
        """Write what `after` held back for the batch, before its position is tracked.

        A read model whose rows depend only on where its goals stand may keep one row
        per goal touched and write it here once, rather than once per event.
        """
        return

    def forget(self) -> None:
        """After a rolled-back batch: what the replicas learnt from it is not stored."""
        self.replicas.clear()
        self.applied_through = None


def apply_event(
    models: Sequence[ReadModel], replicas: Replicas, tx: ViewTransaction, stored: Notification
) -> None:
    """One stored event to read models that share `replicas`, decoded once.

    Every "before" is read before the one advance of the replicas, every "after" written
    after it, each in its read model's lane of the transaction. An event none of them
    reads (ADR 52) is not decoded.
    """
    if not any(model.reads(stored.topic) for model in models):
        return
    event = models[0].ledger.mapper.to_domain_event(stored)
    if not isinstance(event, LedgerAggregate.Event | LedgerAggregate.Created):
        return
    contexts = [model.before(event, stored.id) for model in models]  # type: ignore[arg-type]
    replicas.advance(event)  # type: ignore[arg-type]
    for model, context in zip(models, contexts, strict=True):
        tx.lane(model.name)
        model.after(tx, event, stored, context)  # type: ignore[arg-type]


@cache
def _of_goals(topic: str, goals: tuple[type[LedgerAggregate], ...]) -> bool:
    # Resolved, not compared as text: a topic stored under an earlier name of its class
    # (registered with the library) counts as the class it names now.
    return issubclass(resolve_topic(topic), tuple(goal.Event for goal in goals))


def apply_batch(model: ReadModel, tx: ViewTransaction, tracking_name: str, limit: int) -> int:
    """Apply the next events after the tracked position; the number applied.

    The position is read under a row lock in the batch's own transaction, and the
    events are those after it, so a batch applies exactly what follows what is
    committed, whoever else (another worker, a rebuild's switch) moved it meanwhile.
    Gaps in notification ids are normal (a rolled-back insert leaves one); the log is
    read by range, never by counting.
    """
    tx.lane(model.name)
    position = tx.lock_position(tracking_name)
    if model.applied_through != position:
        # Someone else moved the position: the goals in memory are not in step with it.
        model.replicas.clear()
    notifications = model.ledger.recorder.select_notifications(
        start=position, limit=limit, inclusive_of_start=False
    )
    for stored in notifications:
        model.process(tx, stored)
    if notifications:
        position = notifications[-1].id
        model.finish_batch(tx, position)
        tx.track(Tracking(tracking_name, position))
    model.applied_through = position
    return len(notifications)


@dataclass(frozen=True)
class ReadModelStatus:
    """Where one read model stands against the log."""

    name: str
    generation: int
    position: int
    lag: int
    building: int | None = None
    building_position: int | None = None
    # What built the live generation (ReadModel.definition()); None before it was kept.
    definition: str | None = None
    # When it last advanced, and the event it cannot apply if any (ADR 25).
    health: ReadModelHealth | None = None
    # Seconds it has been behind the log without advancing (0 while it has no lag).
    stalled_seconds: float = 0.0
    # Seconds since it last advanced (None where that was never recorded).
    seconds_since_advance: float | None = None

    @property
    def failing(self) -> bool:
        return self.health is not None and self.health.failing_at(self.position)


def _seconds(since: datetime | None, now: datetime) -> float | None:
    return None if since is None else max((now - since).total_seconds(), 0.0)


def read_model_status(
    database: ViewDatabase, names: Sequence[str]
) -> tuple[int, list[ReadModelStatus]]:
    """The log's head and each read model's live generation, position and lag behind it."""
    states = {state.name: state for state in database.states()}
    health = database.health()
    # Positions first: a position read before the head is never ahead of it.
    positions = {name: database.position(name) for name in names}
    head = database.head()
    now = utc_now()
    # Behind since the first event it has not applied, unless it advanced after that.
    pending = {
        position: database.pending_since(position)
        for position in set(positions.values())
        if position < head
    }
    found = []
    for name in names:
        state = states.get(name) or ReadModelState(name, FIRST_GENERATION, None, ())
        building_position = None
        if state.building is not None:
            building_position = (
                database.tracking.max_tracking_id(database.tracking_name(name, state.building)) or 0
            )
        own = health.get(name)
        advanced_at = own.advanced_at if own is not None else None
        stalled = 0.0
        if positions[name] < head:
            moments = [m for m in (advanced_at, pending.get(positions[name])) if m is not None]
            if moments:
                stalled = _seconds(max(moments), now) or 0.0
        found.append(
            ReadModelStatus(
                name=name,
                generation=state.generation,
                position=positions[name],
                lag=max(head - positions[name], 0),
                building=state.building,
                building_position=building_position,
                definition=state.definition,
                health=own,
                stalled_seconds=stalled,
                seconds_since_advance=_seconds(advanced_at, now),
            )
        )
    return head, found


class ProjectionBehindError(Exception):
    """A read model had not reached a position within the time a reader would wait."""

    def __init__(self, read_model: str, wanted: int, position: int, timeout: float) -> None:
        super().__init__(
            f"{read_model} reflects position {position}, not yet {wanted} "
            f"(waited {timeout:g} s); retry shortly"
        )
        self.read_model = read_model
        self.wanted = wanted
        self.position = position
        self.timeout = timeout
        # The log's last position when the reader gave up, where the reader knows it.
        self.log_head: int | None = None
        # The store the reader waited on (`Goalpost-Read-From`), where the reader knows it.
        self.read_from: str | None = None


class PositionNotInLogError(ValueError):
    """A position past the log's head: no write has been given it."""


def wait_until(
    views: ViewDatabase,
    read_model: str,
    position: int,
    timeout: float = READ_YOUR_WRITES_TIMEOUT,
) -> int:
    """Wait until the read model reflects `position`; returns the position it reflects.

    Raises ProjectionBehindError after `timeout`, PositionNotInLogError at once for a
    position the log has not reached (a write response's `position` always has).
    """
    current = views.position(read_model)
    if current >= position:
        return current
    # On a hot standby the position may be one it has not replayed yet: only the
    # primary's log says whether a write was given it (ADR 31).
    if not views.has_position(position):
        raise PositionNotInLogError(
            f"position {position} is past the log's last position {views.written_head()}"
        )
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ProjectionBehindError(read_model, position, current, timeout)
        time.sleep(min(pause, remaining))
        pause = min(pause * 2, 0.1)
        current = views.position(read_model)
        if current >= position:
            return current
