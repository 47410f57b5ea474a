"""The KPI process (ADR 38): each new reading of a KPI becomes a check-in on every key
result it measures, and each correction of the reading corrects that check-in.

It follows the log from a position it tracks in the store. What it writes to the ledger
is idempotent in the domain (domain/kpi_measured.py: a check-in's id derives from the key
result and the reading, and a key result knows which KPI events it took), so a process
killed between a write and noting its position, or two processes on the same events,
store nothing twice; they only repeat the decision. Which key results a KPI measures is
kept in a table of its own (`kpi_measured_key_results`), written from `KeyResult.Created`
events with the log position of each, in the same transaction as the process's position.
A reading feeds only key results created before it in the log (the one just before is the
baseline, ADR 38), whatever another process has already written to the table.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.persistence import Notification, Tracking
from eventsourcing.utils import get_topic

from application.ledger import GoalLedger
from domain.key_result import KeyResult
from domain.kpi import Kpi
from domain.kpi_measured import Outcome
from storage.read_model_setup import create_tables
from storage.rows import uuid_value
from storage.views import ViewDatabase, ViewTransaction
from storage.waker import Waker

log = logging.getLogger("goalpost.processes")

DEFAULT_BATCH = 200
DEFAULT_POLL_SECONDS = 1.0

TABLES = (
    "CREATE TABLE IF NOT EXISTS {kpi_measured_key_results} ("
    " kpi_id {uuid} NOT NULL,"
    " key_result_id {uuid} NOT NULL,"
    # The log position of the key result's creation: readings after it feed it.
    " position {int} NOT NULL,"
    " PRIMARY KEY (kpi_id, key_result_id))",
)
_INSERT = (
    "INSERT INTO {kpi_measured_key_results} (kpi_id, key_result_id, position)"
    " VALUES (%s, %s, %s) ON CONFLICT (kpi_id, key_result_id) DO NOTHING"
)
_MEASURED_BEFORE = (
    "SELECT key_result_id FROM {kpi_measured_key_results}"
    " WHERE kpi_id = %s AND position < %s ORDER BY position"
)
_MEASURED = (
    "SELECT key_result_id FROM {kpi_measured_key_results} WHERE kpi_id = %s ORDER BY position"
)
_TYPES = {"key_result_id": uuid_value}

CREATED = get_topic(KeyResult.Created)
RECORDED = get_topic(Kpi.ReadingRecorded)
CORRECTED = get_topic(Kpi.ReadingCorrected)
TOPICS = (CREATED, RECORDED, CORRECTED)


def create_process_tables(database: ViewDatabase) -> None:
    """The process's table and the tracking table (safe to re-run; `goalpost db init`)."""
    create_tables(database, TABLES)


def measured_by(database: ViewDatabase, kpi_id: UUID) -> list[UUID]:
    """The key results measured by the KPI, as far as the process has followed the log."""
    rows = database.query(_MEASURED, (kpi_id,), types=_TYPES)
    return [row["key_result_id"] for row in rows]


@dataclass
class Tally:
    """What a run did, by outcome."""

    outcomes: dict[Outcome, int] = field(default_factory=lambda: defaultdict(int))
    events: int = 0

    def add(self, outcome: Outcome) -> None:
        self.outcomes[outcome] += 1


class KpiCheckInProcess:
    """Follows the log from its tracked position, in batches; see the module's docstring."""

    name: ClassVar[str] = "kpi_check_ins"

    def __init__(
        self,
        ledger: GoalLedger,
        *,
        batch_size: int = DEFAULT_BATCH,
        poll_interval: float = DEFAULT_POLL_SECONDS,
    ) -> None:
        self.ledger = ledger
        self.database = ViewDatabase(ledger)
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.tracking_name = self.database.tracking_name(f"process:{self.name}")
        self.stopping = threading.Event()
        self.tally = Tally()
        self._kpi_names: dict[UUID, str] = {}

    def create_tables(self) -> None:
        create_process_tables(self.database)

    def position(self) -> int:
        """The log position the process has handled every event up to."""
        return self.database.tracking.max_tracking_id(self.tracking_name) or 0

    def run_once(self) -> int:
        """One batch of the log after the tracked position; the positions it moved over."""
        start = self.position()
        head = self.database.head()
        if head <= start:
            return 0
        found = self.ledger.recorder.select_notifications(
            start=start,
            limit=self.batch_size,
            stop=head,
            topics=TOPICS,
            inclusive_of_start=False,
        )
        # Fewer than asked: nothing else of ours up to the head read before the query.
        end = found[-1].id if len(found) == self.batch_size else head
        created: list[tuple[UUID, UUID, int]] = []
        for stored in found:
            if self.stopping.is_set():
                # Stopped mid-batch: note only what was handled (all of it idempotent anyway).
                end = stored.id - 1
                break
            self._handle(stored, created)
            self.tally.events += 1
        if end > start:
            self._commit(start, end, created)
        return max(end - start, 0)

    def _handle(self, stored: Notification, created: list[tuple[UUID, UUID, int]]) -> None:
        event: Any = self.ledger.mapper.to_domain_event(stored)
        if stored.topic == CREATED:
            if event.kpi_id is not None:
                created.append((event.kpi_id, event.originator_id, stored.id))
            return
        key_results = self._measured_before(event.originator_id, stored.id, created)
        if not key_results:
            return
        if stored.topic == RECORDED:
            name = self._kpi_name(event.originator_id)
            for key_result_id in key_results:
                self.tally.add(
                    self.ledger.check_in_from_reading(
                        key_result_id=key_result_id,
                        kpi_id=event.originator_id,
                        kpi_name=name,
                        reading_id=event.reading_id,
                        kpi_version=event.originator_version,
                        value=event.value,
                        effective_on=event.effective_on,
                        note=event.note,
                    )
                )
            return
        for key_result_id in key_results:
            self.tally.add(
                self.ledger.correct_from_reading(
                    key_result_id=key_result_id,
                    kpi_id=event.originator_id,
                    reading_id=event.reading_id,
                    kpi_version=event.originator_version,
                    value=event.value,
                    reason=event.reason,
                    reason_code=event.reason_code,
                )
            )

    def _kpi_name(self, kpi_id: UUID) -> str:
        # A KPI's name never changes, and loading a KPI copies all its readings.
        name = self._kpi_names.get(kpi_id)
        if name is None:
            name = self._kpi_names[kpi_id] = self.ledger.get_kpi(kpi_id).name
        return name

    def _measured_before(
        self, kpi_id: UUID, position: int, created: Sequence[tuple[UUID, UUID, int]]
    ) -> list[UUID]:
        """Key results of the KPI created before `position`: the table's (written up to
        the batch's start, or beyond by another process), then this batch's own."""
        rows = self.database.query(_MEASURED_BEFORE, (kpi_id, position), types=_TYPES)
        found = [row["key_result_id"] for row in rows]
        found += [kr for kpi, kr, at in created if kpi == kpi_id and at < position]
        return list(dict.fromkeys(found))

    def _commit(self, start: int, end: int, created: Sequence[tuple[UUID, UUID, int]]) -> None:
        """The batch's table rows and the new position, in one transaction; nothing if
        another process already moved the position as far (its rows are the same)."""
        with self.database.transaction() as tx:
            if tx.lock_position(self.tracking_name) >= end:
                return
            for row in created:
                tx.execute(_INSERT, row)
            self._track(tx, end)

    def _track(self, tx: ViewTransaction, end: int) -> None:
        tx.track(Tracking(self.tracking_name, end))

    def run_until_caught_up(self) -> int:
        total = 0
        while not self.stopping.is_set() and (moved := self.run_once()):
            total += moved
        return total

    def run_forever(self) -> None:
        """Until stopped: catch up, then wait for new events (NOTIFY where there is one)."""
        waker = Waker(self.ledger.recorder)
        try:
            while not self.stopping.is_set():
                # Listen before catching up, so an event stored meanwhile still wakes us.
                waker.listen()
                try:
                    moved = self.run_until_caught_up()
                except Exception:
                    log.exception(
                        "KPI process batch failed; retrying in %.1f s", self.poll_interval
                    )
                    self.stopping.wait(self.poll_interval)
                    continue
                if moved:
                    log.info("KPI process at log position %d", self.position())
                waker.wait(self.poll_interval, self.stopping)
        finally:
            waker.close()

    def stop(self) -> None:
        """Stop after the event in progress (from any thread or a signal handler)."""
        self.stopping.set()


class BackgroundKpiProcess:
    """The KPI process on a thread of this process, on a ledger (and connections) of its
    own, as the embedded store's `goalpost serve` runs its projection worker."""

    def __init__(self, ledger: GoalLedger, *, poll_interval: float = 0.1) -> None:
        self._ledger = type(ledger)(env=dict(ledger.env))
        self.process = KpiCheckInProcess(self._ledger, poll_interval=poll_interval)
        self._thread = threading.Thread(
            target=self.process.run_forever, name="goalpost-kpi-process", daemon=True
        )

    def start(self) -> None:
        self.process.create_tables()
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.process.stop()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("the KPI process thread did not stop within %.0f s", timeout)
            return
        self._ledger.close()
