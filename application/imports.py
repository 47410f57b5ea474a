"""The bulk import of historical check-ins: every row checked, then stored in batches,
in memory flat in the number of rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent

from application.core import LedgerCore
from application.values import CheckInImport, ImportReport, KeyResultImported
from domain.cycle import Cycle
from domain.errors import ConcurrencyError, DomainError, InvalidInputError
from domain.key_result import KeyResult
from domain.values import check_identifier
from storage.row_spill import RowSpill

# One transaction per this many imported events: large enough to amortise the commit,
# small enough to stay clear of pipeline and lock-hold limits.
IMPORT_BATCH_EVENTS = 2000


class ImportRowError(InvalidInputError):
    """A row the key result's rules refuse: its index among the rows, and the rule's message.

    The index lets a caller name the row as its reader knows it (a CSV file's line).
    """

    def __init__(self, index: int, error: DomainError) -> None:
        super().__init__(
            f"row {index}: {error.message}",
            field=f"rows[{index}].{error.field or 'key_result_id'}",
        )
        self.index = index
        self.reason = error.message


# Far past any version a goal reaches: a load "at" it reads the goal as it is now, past
# the goal cache. An import touches each key result once; keeping them would fill the
# cache with goals no one reads next, and grow the import's memory with the file.
_NOW = 2**62


@dataclass
class _Checked:
    """What the checking pass learnt, per key result (never per row)."""

    first_row: dict[UUID, int] = field(default_factory=dict)
    # Title, rows imported, rows already there.
    counts: dict[UUID, tuple[str, int, int]] = field(default_factory=dict)
    cycles: dict[str, Cycle] = field(default_factory=dict)
    bad: ImportRowError | None = None


class CheckInImports(LedgerCore):
    def import_check_ins(self, *, actor: str, rows: Iterable[CheckInImport]) -> ImportReport:
        """Import historical check-ins; a re-run skips the rows already stored.

        Every row is checked by the key result's own rules before anything is stored;
        the first bad row is reported by its index (ImportRowError) and nothing is
        written. An import is the operator's, at the store: it takes no grant, and
        `actor` names who ran it.

        Memory stays flat in the number of rows (ADR 45): the rows wait in a temporary
        file, grouped by key result; a first pass applies each key result's rows to it,
        setting its events and snapshots aside in the same file and dropping it; only
        if every row passed does a second pass store them, in batches.
        """
        check_identifier(actor, "actor")
        with RowSpill() as spilled, RowSpill() as events, RowSpill() as snapshots:
            for index, row in enumerate(rows):
                spilled.add(row.key_result_id, index, _plain_row(row))
            checked = self._check_rows(actor, spilled, events, snapshots)
            if checked.bad is not None:
                raise checked.bad
            return self._store(checked, events, snapshots)

    def _load_for_import(self, key_result_id: UUID) -> KeyResult:
        return self._get(KeyResult, key_result_id, version=_NOW)

    def _apply(self, actor: str, key_result: KeyResult, cycle: Cycle, row: CheckInImport) -> bool:
        """Apply one row; False when the key result holds it already."""
        check_in_id = row.derived_id()
        if check_in_id in key_result.check_ins:
            return False
        key_result.record_check_in(
            actor=actor,
            cycle=cycle,
            value=row.value,
            confidence=row.confidence,
            note=row.note,
            effective_on=row.effective_on,
            check_in_id=check_in_id,
        )
        return True

    def _cycle(self, checked: _Checked, cycle_id: str) -> Cycle:
        cycle = checked.cycles.get(cycle_id)
        if cycle is None:
            cycle = checked.cycles[cycle_id] = self.get_cycle(cycle_id)
        return cycle

    def _check_rows(
        self, actor: str, spilled: RowSpill, events: RowSpill, snapshots: RowSpill
    ) -> _Checked:
        """Each key result's rows applied to it in memory; its events and snapshots set
        aside, then it is dropped. The first bad row in the file is the smallest index
        among each key result's first bad row: key results do not depend on one another,
        so that is the row a pass in file order would have stopped at."""
        checked = _Checked()
        interval = self.snapshotting_intervals[KeyResult]
        for key_result_id, group in spilled.groups():
            key_result: KeyResult | None = None
            added = present = 0
            for index, plain in group:
                if checked.bad is not None and index > checked.bad.index:
                    break  # an earlier bad row is already known
                row = _row(key_result_id, plain)
                try:
                    if key_result is None:
                        checked.first_row[key_result_id] = index
                        key_result = self._load_for_import(key_result_id)
                    applied = self._apply(
                        actor, key_result, self._cycle(checked, key_result.cycle_id), row
                    )
                except DomainError as error:
                    checked.bad = ImportRowError(index, error)
                    break
                present += not applied
                added += applied
                if applied and key_result.version % interval == 0:
                    # Where save() would take one, so a read as known at any moment of
                    # the imported history replays fewer than `interval` events.
                    # Encoded now: the state goes on changing in memory.
                    _set_aside(self, events, key_result)
                    if self.snapshots is not None:
                        snapshot = KeyResult.Snapshot.take(key_result)
                        stored = self.snapshots.mapper.to_stored_event(snapshot)
                        snapshots.add(key_result_id, key_result.version, stored)
                elif len(key_result.pending_events) >= IMPORT_BATCH_EVENTS:
                    _set_aside(self, events, key_result)
            if key_result is not None and checked.bad is None:
                _set_aside(self, events, key_result)
                checked.counts[key_result_id] = (key_result.title, added, present)
        return checked

    def _store(self, checked: _Checked, events: RowSpill, snapshots: RowSpill) -> ImportReport:
        """Store the events in bounded transactions, then the snapshots. A failure between
        two transactions leaves a prefix, and re-running the import completes it: rows
        already stored are recognised by their derived ids, never duplicated. A key
        result changed since it was checked makes its events clash with the new ones
        (their versions are taken), which stops the import as a lost race does."""
        batch = _Batch(self, checked.cycles)
        for key_result_id, group in events.groups():
            for version, encoded in group:
                batch.add(key_result_id, version, encoded)
        batch.flush()
        if self.snapshots is not None:
            taken: list[StoredEvent] = []
            for _, group in snapshots.groups():
                for _, stored in group:
                    taken.append(stored)
                    if len(taken) >= 100:
                        self.snapshots.recorder.insert_events(taken)
                        taken = []
            if taken:
                self.snapshots.recorder.insert_events(taken)
        ordered = sorted(checked.counts, key=checked.first_row.__getitem__)
        per_key_result = tuple(KeyResultImported(kr, *checked.counts[kr]) for kr in ordered)
        return ImportReport(
            sum(kr.imported for kr in per_key_result),
            sum(kr.already_present for kr in per_key_result),
            tuple(batch.positions),
            per_key_result,
        )


# Rows and events wait on disk as plain tuples: pickling UUIDs, enums and event objects
# cost more than the import's own checks.


def _plain_row(row: CheckInImport) -> tuple[str, str, str, str, str]:
    value = row.value
    kind = "d" if isinstance(value, Decimal) else "i" if isinstance(value, int) else "s"
    return kind, str(value), str(row.confidence), row.effective_on.isoformat(), row.note


def _row(key_result_id: UUID, plain: tuple[str, str, str, str, str]) -> CheckInImport:
    kind, value, confidence, effective_on, note = plain
    typed: Decimal | int | str = (
        Decimal(value) if kind == "d" else int(value) if kind == "i" else value
    )
    return CheckInImport(key_result_id, typed, confidence, date.fromisoformat(effective_on), note)


def _set_aside(ledger: LedgerCore, events: RowSpill, key_result: KeyResult) -> None:
    """The key result's new events, encoded, with the times they were made."""
    for event in key_result.collect_events():
        stored = ledger.mapper.to_stored_event(event)
        events.add(
            key_result.id, event.originator_version, (stored.topic, stored.state, event.timestamp)
        )


class _Batch:
    """Encoded events on their way to the store, at most IMPORT_BATCH_EVENTS a transaction."""

    def __init__(self, ledger: LedgerCore, cycles: dict[str, Cycle]) -> None:
        self._ledger = ledger
        # The cycles too: rows checked against an open cycle land only while it is.
        self._unchanged = [(c.id, c.version) for c in cycles.values()]
        self._events: list[StoredEvent] = []
        self._times: list[tuple[UUID, int, datetime]] = []
        self.positions: list[int] = []

    def add(self, key_result_id: UUID, version: int, encoded: tuple[str, bytes, datetime]) -> None:
        topic, state, timestamp = encoded
        self._events.append(StoredEvent(key_result_id, version, topic, state))
        # Each event's record time, indexed in the same transaction (ADR 4), as
        # LedgerCore._record does for events saved the ordinary way.
        self._times.append((key_result_id, version, timestamp))
        if len(self._events) >= IMPORT_BATCH_EVENTS:
            self.flush()

    def flush(self) -> None:
        if not self._events:
            return
        # Straight to the recorder: save() would type-check each of many events against
        # a runtime protocol, and the events were encoded when they were checked.
        try:
            ids = self._ledger.recorder.insert_events(
                self._events, event_timestamps=self._times, unchanged=self._unchanged
            )
        except IntegrityError:
            raise ConcurrencyError(
                "a key result or its cycle changed while importing; nothing of this "
                "batch was stored, re-run the import to complete it"
            ) from None
        if ids:
            # The last position of each transaction: enough to read one's own import,
            # and a list that grows with batches, not rows.
            self.positions.append(ids[-1])
        self._events = []
        self._times = []
