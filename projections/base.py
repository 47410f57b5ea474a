"""Read models and the worker that keeps them: batches, exactly once, resumable, rebuildable."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import psycopg
from eventsourcing.persistence import InterfaceError, Notification, OperationalError, Tracking
from psycopg import sql

from domain.application import GoalLedger
from domain.base import LedgerAggregate
from domain.values import utc_now
from projections.database import (
    FIRST_GENERATION,
    ReadModelHealth,
    ReadModelSpec,
    ReadModelState,
    ViewDatabase,
    ViewTransaction,
    table_names,
)
from projections.replicas import Replicas

log = logging.getLogger("goalpost.projections")

DEFAULT_BATCH = 500
DEFAULT_POLL_SECONDS = 1.0
REPORT_EVERY_SECONDS = 10.0
# How long a read asking for its own write (`min_position`) waits for the projection.
READ_YOUR_WRITES_TIMEOUT = 5.0
# The LISTEN connection's name in pg_stat_activity, so operators (and tests) can find it.
LISTENER_APPLICATION_NAME = "goalpost-projections-listener"
# A read model that cannot apply an event is tried again after this, doubling up to the
# most (ADR 25): never a hot loop, and a fixed cause is picked up within minutes.
RETRY_FIRST_SECONDS = 1.0
RETRY_MOST_SECONDS = 120.0
# The store not answering, a lock or a deadlock: no fault of the event, so no failure is
# recorded; the batch is simply tried again (a store that stays down shows as a stall).
TRANSIENT: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


class ReadModel(ABC):
    """One read model: its tables, how each event changes them, and its own position."""

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    # Raise it when what the read model writes changes but its tables do not (a change of
    # the tables changes the definition by itself): the store then starts it afresh.
    version: ClassVar[int] = 1
    # Holds evidence the log cannot give back (the seal): never started afresh by a release.
    keeps_evidence: ClassVar[bool] = False

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
    after it, each in its read model's lane of the transaction.
    """
    event = models[0].ledger.mapper.to_domain_event(stored)
    if not isinstance(event, LedgerAggregate.Event | LedgerAggregate.Created):
        return
    contexts = [model.before(event, stored.id) for model in models]  # type: ignore[arg-type]
    replicas.advance(event)  # type: ignore[arg-type]
    for model, context in zip(models, contexts, strict=True):
        tx.lane(model.name)
        model.after(tx, event, stored, context)  # type: ignore[arg-type]


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


class ProjectionWorker:
    """Applies the log to read models in batches; each batch and its position commit together.

    Killed at any point, it loses or repeats nothing: a batch's rows and its tracking
    record are one transaction, and the batch starts from the position it locked in
    that transaction, so two workers racing on one read model take turns.

    Read models at the same position (the usual case once caught up) take their batch
    together: one transaction, each event read and decoded once, and one set of replicas
    advanced once for all of them, instead of a copy of every goal per read model. One
    behind the others (just rebuilt, or new) runs alone with its own until it catches up.

    A read model that cannot apply an event (ADR 25) is split out: the batch it shared
    is applied again by each read model alone, those that can go on, and the one that
    cannot applies what comes before the event one at a time, then records the event's
    position and the error in the store, for every process to see. It is tried again
    alone, after a delay that doubles, until it gets past the event, which clears it.
    """

    def __init__(
        self,
        ledger: GoalLedger,
        read_models: Sequence[type[ReadModel]],
        *,
        batch_size: int = DEFAULT_BATCH,
        poll_interval: float = DEFAULT_POLL_SECONDS,
        together: bool = True,
    ) -> None:
        self.ledger = ledger
        self.database = ViewDatabase(ledger)
        self.read_models = [cls(ledger, self.database) for cls in read_models]
        # False: every read model in a batch of its own (the benchmark's baseline).
        self.together = together
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.report_interval = REPORT_EVERY_SECONDS
        self.retry_first = RETRY_FIRST_SECONDS
        self.retry_most = RETRY_MOST_SECONDS
        self.stopping = threading.Event()
        self._warned: set[str] = set()
        # Shared by the read models batched together; in step with `_shared_through`.
        self._shared = Replicas(ledger)
        self._shared_through: int | None = None

    def create_tables(self) -> None:
        self.database.create_read_models([model.spec() for model in self.read_models])

    def run_once(self) -> int:
        """One batch for each read model that is behind; the number of events applied."""
        together, failing = self._behind()
        applied = 0
        for models in together.values():
            if self.stopping.is_set():
                break
            applied += self._shared_batch(models)
        for model in failing:
            if not self.stopping.is_set():
                applied += self._alone(model, failing=True)
        return applied

    def _behind(self) -> tuple[dict[int, list[ReadModel]], list[ReadModel]]:
        """The read models behind the log, by position; and those failing, due another try."""
        head = self.ledger.recorder.max_notification_id() or 0
        health = self.database.health()
        now = utc_now()
        together: dict[int, list[ReadModel]] = {}
        failing: list[ReadModel] = []
        for model in self.read_models:
            # A read, not a locking transaction, for the read models already there.
            position = model.position()
            if position >= head:
                continue
            state = health.get(model.name)
            if state is None or not state.failing_at(position):
                together.setdefault(position, []).append(model)
            elif state.retry_at is None or state.retry_at <= now:
                failing.append(model)
        return together, failing

    def _shared_batch(self, models: list[ReadModel]) -> int:
        """Read models at one position in one batch; each alone if that batch fails."""
        if len(models) > 1 and self.together:
            try:
                return self._batch_together(models)
            except TRANSIENT:
                raise
            except Exception as error:
                # One of them cannot apply an event: find which, and let the others on.
                log.warning(
                    "the batch of %s failed (%s: %s); applying each alone",
                    ", ".join(model.name for model in models),
                    type(error).__name__,
                    error,
                )
        return sum(self._alone(model) for model in models if not self.stopping.is_set())

    def _alone(self, model: ReadModel, *, failing: bool = False) -> int:
        """A batch of the read model's own; on an error, find the event at fault.

        Writes are held until the batch ends, so the error does not say which event
        caused it: the events are applied again one per transaction, up to the first
        that fails, whose position is recorded (`failing`: straight to that).
        """
        if not failing:
            try:
                return self._batch(model, self.batch_size)
            except TRANSIENT:
                raise
            except Exception:  # the event at fault is found next, and its error recorded
                log.debug("batch of %s failed; applying one event at a time", model.name)
        applied = 0
        while applied < self.batch_size and not self.stopping.is_set():
            try:
                step = self._batch(model, 1)
            except TRANSIENT:
                raise
            except Exception as error:
                self._failed(model, error)
                return applied
            if not step:
                break
            applied += step
            if failing:
                # Past the event that failed (which cleared it): whole batches again.
                break
        return applied

    def _failed(self, model: ReadModel, error: Exception) -> None:
        """Record (for every process) and log that the read model cannot apply its next event."""
        position = model.position()
        upcoming = self.ledger.recorder.select_notifications(
            start=position, limit=1, inclusive_of_start=False
        )
        at = upcoming[0].id if upcoming else position + 1
        summary = f"{type(error).__name__}: {error}"
        state = self.database.record_failure(model.name, at, summary, self.retry_delay)
        log.error(
            "read model %s cannot apply the event at position %d (attempt %d, failing since "
            "%s; next attempt in %.0f s): %s",
            model.name,
            at,
            state.attempts,
            state.failing_since.isoformat() if state.failing_since else "now",
            self.retry_delay(state.attempts),
            summary,
            # The traceback once; each later attempt is one line.
            exc_info=error if state.attempts == 1 else None,
        )

    def retry_delay(self, attempts: int) -> float:
        """Seconds before the next attempt at an event that failed `attempts` times."""
        return float(min(self.retry_first * 2 ** min(attempts - 1, 30), self.retry_most))

    def _batch_together(self, models: list[ReadModel]) -> int:
        """One batch for read models at one position; the events applied, summed over them."""
        own = {model.name: model.replicas for model in models}
        try:
            with self.database.transaction(batched=True) as tx:
                start, batch = self._lock_together(tx, models)
                if not batch:
                    return 0
                if self._shared_through != start:
                    self._shared.clear()
                for model in batch:
                    # Its own copies are out of step from here on: give the memory back.
                    own[model.name].clear()
                    model.applied_through = None
                    model.replicas = self._shared
                notifications = self.ledger.recorder.select_notifications(
                    start=start, limit=self.batch_size, inclusive_of_start=False
                )
                for stored in notifications:
                    self._apply_together(batch, tx, stored)
                if notifications:
                    end = notifications[-1].id
                    for model in batch:
                        tx.lane(model.name)
                        model.finish_batch(tx, end)
                    for model in batch:
                        tx.track(Tracking(model.tracking_name, end))
                        tx.advanced(model.name)
                    self._shared_through = end
                return len(notifications) * len(batch)
        except BaseException:
            self._shared.clear()
            self._shared_through = None
            for model in models:
                model.forget()
            raise
        finally:
            for model in models:
                model.replicas = own[model.name]

    def _lock_together(
        self, tx: ViewTransaction, models: list[ReadModel]
    ) -> tuple[int, list[ReadModel]]:
        """Lock each read model's row and position; those at the lowest position batch now."""
        taking = [
            (model, tx.lock_position(model.tracking_name))
            for model in models
            if self._enter(tx, model)
        ]
        if not taking:
            return 0, []
        # Positions read again under lock: any that moved meanwhile waits a round.
        start = min(position for _, position in taking)
        return start, [model for model, position in taking if position == start]

    def _apply_together(
        self, models: list[ReadModel], tx: ViewTransaction, stored: Notification
    ) -> None:
        decoding = [model for model in models if type(model).process is ReadModel.process]
        for model in models:
            if type(model).process is not ReadModel.process:
                # Works from the stored bytes (the seal): no event, no replicas.
                tx.lane(model.name)
                model.process(tx, stored)
        if decoding:
            apply_event(decoding, self._shared, tx, stored)

    def _batch(self, model: ReadModel, limit: int) -> int:
        try:
            with self.database.transaction(batched=True) as tx:
                if not self._enter(tx, model):
                    return 0
                applied = apply_batch(model, tx, model.tracking_name, limit)
                if applied:
                    tx.advanced(model.name)
                return applied
        except BaseException:
            model.forget()
            raise

    def _enter(self, tx: ViewTransaction, model: ReadModel) -> bool:
        """Lock the read model's row and pin its live tables; False if another release's."""
        # Shared with other batches; a rebuild's switch waits for it, and it for one.
        state = tx.read_model(model.name, lock="share")
        if state is not None and state.definition != model.definition():
            self._other_definition(model, state)
            return False
        tx.pin(model.table_names(), state.generation if state else FIRST_GENERATION)
        return True

    def _other_definition(self, model: ReadModel, state: ReadModelState) -> None:
        """Another release's definition is live: writing ours into its tables would mix two."""
        if model.name in self._warned:
            return
        self._warned.add(model.name)
        log.warning(
            "read model %s is live in definition %s, this worker has %s: not applying it "
            "(run `goalpost db init` or `goalpost projections rebuild %s` with this release)",
            model.name,
            state.definition,
            model.definition(),
            model.name,
        )

    def run_until_caught_up(self) -> int:
        total = 0
        while not self.stopping.is_set() and (applied := self.run_once()):
            total += applied
        return total

    def lag(self) -> dict[str, int]:
        """Positions each read model is behind the log's head."""
        head = self.ledger.recorder.max_notification_id() or 0
        return {model.name: max(head - model.position(), 0) for model in self.read_models}

    def status(self) -> tuple[int, list[ReadModelStatus]]:
        return read_model_status(self.database, [model.name for model in self.read_models])

    def run_forever(self) -> None:
        """Until stopped: catch up, then wait for new events (NOTIFY where there is one)."""
        waker = _Waker(self.ledger)
        progress = _Progress(self)
        try:
            while not self.stopping.is_set():
                # Listen before catching up, so an event stored meanwhile still wakes us.
                waker.listen()
                try:
                    applied = self.run_once()
                except Exception:
                    log.exception("projection batch failed; retrying in %.1f s", self.poll_interval)
                    self.stopping.wait(self.poll_interval)
                    continue
                progress.note(applied)
                if not applied:
                    waker.wait(self.poll_interval, self.stopping)
        finally:
            waker.close()

    def stop(self) -> None:
        """Stop after the batch in progress (from any thread or a signal handler)."""
        self.stopping.set()


class _Progress:
    """Logs positions and lag while catching up, every so often, and once when caught up."""

    def __init__(self, worker: ProjectionWorker) -> None:
        self.worker = worker
        self.applied = 0
        self.since = time.monotonic()

    def note(self, applied: int) -> None:
        self.applied += applied
        elapsed = time.monotonic() - self.since
        if not self.applied or (applied and elapsed < self.worker.report_interval):
            return
        try:
            head, found = self.worker.status()
        except Exception:  # reporting must never stop the worker
            log.debug("could not read projection status", exc_info=True)
            return
        lags = ", ".join(f"{s.name} {s.lag} behind" for s in found)
        rate = self.applied / elapsed if elapsed > 0 else 0.0
        state = "caught up" if not applied else "catching up"
        log.info(
            "projections %s at log position %d: %s (%d events applied, %.0f/s)",
            state,
            head,
            lags,
            self.applied,
            rate,
        )
        self.applied = 0
        self.since = time.monotonic()


class _Waker:
    """Wakes the worker when events are stored: LISTEN on PostgreSQL, else a poll.

    A dropped LISTEN connection is not fatal (the library's own subscription stops for
    good then): the worker notices, catches up from its tracked position, listens again,
    and polls for as long as it cannot.
    """

    def __init__(self, ledger: GoalLedger) -> None:
        recorder: Any = ledger.recorder
        datastore = getattr(recorder, "datastore", None)
        pool = getattr(datastore, "pool", None)
        self._conninfo: str | None = getattr(pool, "conninfo", None)
        self._kwargs: dict[str, Any] = dict(getattr(pool, "kwargs", {}) or {})
        self._channel: str | None = getattr(recorder, "channel_name", None)
        self._connection: psycopg.Connection[Any] | None = None
        self._failing = False

    @property
    def listening(self) -> bool:
        return self._connection is not None and not self._connection.closed

    def listen(self) -> None:
        """LISTEN unless already listening; on failure, poll until the next try."""
        if self._conninfo is None or self._channel is None or self.listening:
            return
        try:
            self._connection = psycopg.connect(
                self._conninfo,
                **{
                    **self._kwargs,
                    "autocommit": True,
                    "application_name": LISTENER_APPLICATION_NAME,
                },
            )
            self._connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
        except psycopg.Error as error:
            self.close()
            if not self._failing:
                log.warning("cannot LISTEN for new events (%s); polling instead", error)
            self._failing = True
            return
        if self._failing:
            log.info("listening for new events again")
        self._failing = False

    def wait(self, timeout: float, stopping: threading.Event) -> None:
        """Until a notification, the timeout, or stopping (checked every quarter second)."""
        if not self.listening:
            stopping.wait(timeout)
            return
        assert self._connection is not None
        deadline = time.monotonic() + timeout
        try:
            while not stopping.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                for _ in self._connection.notifies(timeout=min(remaining, 0.25), stop_after=1):
                    return
        except psycopg.Error as error:
            # The connection dropped: events may have come meanwhile; catch up and relisten.
            log.warning(
                "the LISTEN connection dropped (%s); resuming from the tracked position", error
            )
            self._failing = True
            self.close()

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None


class BackgroundWorker:
    """A projection worker on a thread of this process, on connections of its own.

    Its own ledger (and so its own connection pool) keeps it clear of the API's pool,
    whose writers queue for one writer connection: a batch holding that connection
    while asking the same pool for a reader could wait on an API writer waiting on it.
    On SQLite the two meet only at the database's write lock, which waits (up to the
    store's lock timeout) rather than fails, and batches are short.
    """

    def __init__(
        self,
        ledger: GoalLedger,
        read_models: Sequence[type[ReadModel]],
        *,
        batch_size: int = DEFAULT_BATCH,
        poll_interval: float = DEFAULT_POLL_SECONDS,
    ) -> None:
        self._ledger = type(ledger)(env=dict(ledger.env))
        self.worker = ProjectionWorker(
            self._ledger, read_models, batch_size=batch_size, poll_interval=poll_interval
        )
        self._thread = threading.Thread(
            target=self.worker.run_forever, name="goalpost-projections", daemon=True
        )

    def start(self) -> None:
        self.worker.create_tables()
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.worker.stop()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("the projection thread did not stop within %.0f s", timeout)
            return
        self._ledger.close()


# Rebuilding a read model beside the live one


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
    head = views.head()
    if position > head:
        raise PositionNotInLogError(f"position {position} is past the log's last position {head}")
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
