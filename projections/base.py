"""Read models and the worker that keeps them: batches, exactly once, resumable."""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import psycopg
from eventsourcing.persistence import Notification, Tracking

from domain.application import GoalLedger
from domain.base import LedgerAggregate
from projections.database import ViewDatabase, ViewTransaction
from projections.replicas import Replicas

log = logging.getLogger("goalpost.projections")

DEFAULT_BATCH = 500


class ReadModel(ABC):
    """One read model: its tables, how each event changes them, and its own position."""

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]

    def __init__(self, ledger: GoalLedger, database: ViewDatabase) -> None:
        self.ledger = ledger
        self.database = database
        self.replicas = Replicas(ledger)

    @property
    def tracking_name(self) -> str:
        return f"{self.ledger.name}:{self.name}"

    def position(self) -> int:
        return self.database.tracking.max_tracking_id(self.tracking_name) or 0

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
        event = self.ledger.mapper.to_domain_event(stored)
        if not isinstance(event, LedgerAggregate.Event | LedgerAggregate.Created):
            return
        context = self.before(event, stored.id)  # type: ignore[arg-type]
        self.replicas.advance(event)  # type: ignore[arg-type]
        self.after(tx, event, stored, context)  # type: ignore[arg-type]


class ProjectionWorker:
    """Applies the log to read models in batches; each batch and its position commit together.

    Killed at any point, it loses or repeats nothing: a batch's rows and its tracking
    record are one transaction, and the tracking insert refuses a position that does
    not advance, so two workers racing on one read model cannot both apply a batch.
    """

    def __init__(
        self,
        ledger: GoalLedger,
        read_models: Sequence[type[ReadModel]],
        *,
        batch_size: int = DEFAULT_BATCH,
        poll_interval: float = 1.0,
    ) -> None:
        self.ledger = ledger
        self.database = ViewDatabase(ledger)
        self.read_models = [cls(ledger, self.database) for cls in read_models]
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.stopping = threading.Event()

    def create_tables(self) -> None:
        self.database.create_tables(
            [statement for model in self.read_models for statement in model.tables]
        )

    def run_once(self) -> int:
        """One batch for each read model that is behind; the number of events applied."""
        applied = 0
        for model in self.read_models:
            notifications = self.ledger.recorder.select_notifications(
                start=model.position(), limit=self.batch_size, inclusive_of_start=False
            )
            if not notifications:
                continue
            try:
                with self.database.transaction() as tx:
                    for stored in notifications:
                        model.process(tx, stored)
                    tx.track(Tracking(model.tracking_name, notifications[-1].id))
            except BaseException:
                # The batch rolled back; what the replicas learnt from it is not stored.
                model.replicas.clear()
                raise
            applied += len(notifications)
        return applied

    def run_until_caught_up(self) -> int:
        total = 0
        while applied := self.run_once():
            total += applied
        return total

    def lag(self) -> dict[str, int]:
        """Events each read model is behind the log."""
        head = self.ledger.recorder.max_notification_id() or 0
        return {model.name: head - model.position() for model in self.read_models}

    def run_forever(self) -> None:
        """Until stopped: catch up, then wait for new events (NOTIFY where there is one)."""
        waker = _Waker(self.ledger)
        try:
            while not self.stopping.is_set():
                try:
                    if self.run_until_caught_up():
                        continue
                except Exception:
                    log.exception("projection batch failed; retrying after a pause")
                    self.stopping.wait(self.poll_interval)
                    continue
                waker.wait(self.poll_interval, self.stopping)
        finally:
            waker.close()

    def stop(self) -> None:
        self.stopping.set()


class _Waker:
    """Wakes the worker when events are stored: LISTEN on PostgreSQL, else a poll.

    A dropped LISTEN connection is not fatal (the library's own subscription stops for
    good then): the worker polls until the next attempt to listen again succeeds.
    """

    def __init__(self, ledger: GoalLedger) -> None:
        recorder: Any = ledger.recorder
        datastore = getattr(recorder, "datastore", None)
        pool = getattr(datastore, "pool", None)
        self._conninfo: str | None = getattr(pool, "conninfo", None)
        self._kwargs: dict[str, Any] = dict(getattr(pool, "kwargs", {}) or {})
        self._channel: str | None = getattr(recorder, "channel_name", None)
        self._connection: psycopg.Connection[Any] | None = None

    def wait(self, timeout: float, stopping: threading.Event) -> None:
        if self._conninfo is None or self._channel is None:
            stopping.wait(timeout)
            return
        try:
            if self._connection is None or self._connection.closed:
                self._connection = psycopg.connect(self._conninfo, autocommit=True, **self._kwargs)
                self._connection.execute(f'LISTEN "{self._channel}"')
            for _ in self._connection.notifies(timeout=timeout, stop_after=1):
                break
        except psycopg.Error:
            log.warning("listening for new events failed; polling instead")
            self.close()
            time.sleep(min(timeout, 0.5))

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None
