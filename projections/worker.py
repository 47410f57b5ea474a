"""The worker that keeps read models: batches, exactly once, resumable, never stalled silently."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

import psycopg
from eventsourcing.persistence import InterfaceError, Notification, OperationalError, Tracking

from application.ledger import GoalLedger
from domain.values import utc_now
from projections.base import ReadModel, ReadModelStatus, apply_batch, apply_event, read_model_status
from projections.replicas import Replicas
from storage.views import (
    FIRST_GENERATION,
    ReadModelState,
    ViewDatabase,
    ViewTransaction,
)
from storage.waker import Waker

log = logging.getLogger("goalpost.projections")

DEFAULT_BATCH = 500
DEFAULT_POLL_SECONDS = 1.0
REPORT_EVERY_SECONDS = 10.0
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
        waker = Waker(self.ledger.recorder)
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
