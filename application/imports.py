"""The bulk import of historical check-ins: every row checked, then stored in batches,
in memory flat in the number of rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from uuid import UUID

from eventsourcing.application import ProcessingEvent
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

    versions: dict[UUID, int] = field(default_factory=dict)
    first_row: dict[UUID, int] = field(default_factory=dict)
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
        file, grouped by key result; a first pass checks each key result's rows on it and
        keeps only its version, a second applies them again and stores them in batches,
        each key result dropped once its events are handed on. Events are made in the
        second pass, so each is stored within moments of its time (ADR 24).
        """
        check_identifier(actor, "actor")
        with RowSpill() as spill:
            for index, row in enumerate(rows):
                spill.add(row.key_result_id, index, _plain_row(row))
            checked = self._check_rows(actor, spill)
            if checked.bad is not None:
                raise checked.bad
            return self._store_rows(actor, spill, checked)

    def _load_for_import(self, key_result_id: UUID) -> KeyResult:
        return self._get(KeyResult, key_result_id, version=_NOW)

    def _apply(
        self,
        actor: str,
        key_result: KeyResult,
        cycle: Cycle,
        row: CheckInImport,
        check_in_id: UUID,
    ) -> bool:
        """Apply one row, whose derived id is `check_in_id`; False when the key result
        holds it already."""
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

    def _check_rows(self, actor: str, spill: RowSpill) -> _Checked:
        """Each key result's rows applied to it in memory, then dropped. The first bad row
        in the file is the smallest index among each key result's first bad row: key
        results do not depend on one another, so that is the row a pass in file order
        would have stopped at."""
        checked = _Checked()
        for key_result_id, group in spill.groups():
            key_result: KeyResult | None = None
            for index, plain in group:
                if checked.bad is not None and index > checked.bad.index:
                    break  # an earlier bad row is already known
                row, check_in_id = _row(key_result_id, plain)
                try:
                    if key_result is None:
                        checked.first_row[key_result_id] = index
                        key_result = self._load_for_import(key_result_id)
                        checked.versions[key_result_id] = key_result.version
                    cycle = self._cycle(checked, key_result.cycle_id)
                    self._apply(actor, key_result, cycle, row, check_in_id)
                except DomainError as error:
                    checked.bad = ImportRowError(index, error)
                    break
                if len(key_result.pending_events) >= IMPORT_BATCH_EVENTS:
                    key_result.collect_events()  # checked; only the state is needed
        return checked

    def _store_rows(self, actor: str, spill: RowSpill, checked: _Checked) -> ImportReport:
        """Apply the checked rows again and store them in bounded transactions. A failure
        between two leaves a prefix, and re-running the import completes it: rows already
        stored are recognised by their derived ids, never duplicated."""
        batch = _Batch(self, checked.cycles)
        interval = self.snapshotting_intervals[KeyResult]
        counts: dict[UUID, tuple[str, int, int]] = {}
        imported = already_present = 0
        for key_result_id, group in spill.groups():
            key_result = self._load_for_import(key_result_id)
            if key_result.version != checked.versions[key_result_id]:
                raise ConcurrencyError(
                    f"key result {key_result_id} changed while importing; re-run the import "
                    "to complete it"
                )
            cycle = checked.cycles[key_result.cycle_id]
            added = present = 0
            for index, plain in group:
                row, check_in_id = _row(key_result_id, plain)
                try:
                    applied = self._apply(actor, key_result, cycle, row, check_in_id)
                except DomainError as error:  # only if the store changed in between
                    raise ImportRowError(index, error) from None
                added += applied
                present += not applied
                if applied and key_result.version % interval == 0:
                    # Where save() would take one: a read as known at any moment of the
                    # imported history replays fewer than `interval` events.
                    batch.add(key_result.collect_events())
                    batch.snapshot(key_result)
                elif len(key_result.pending_events) >= IMPORT_BATCH_EVENTS:
                    batch.add(key_result.collect_events())
            batch.add(key_result.collect_events())
            counts[key_result_id] = (key_result.title, added, present)
            imported += added
            already_present += present
        batch.flush()
        per_key_result = tuple(
            KeyResultImported(kr_id, *counts[kr_id])
            for kr_id in sorted(counts, key=checked.first_row.__getitem__)
        )
        return ImportReport(imported, already_present, tuple(batch.positions), per_key_result)


# Rows wait on disk as plain tuples: pickling UUIDs and enums cost more than the checks.
# Each carries its derived id, made once: both passes need it, and making it in each
# took a sixth of the import's time.
PlainRow = tuple[str, str, str, str, str, str]


def _plain_row(row: CheckInImport) -> PlainRow:
    value = row.value
    kind = "d" if isinstance(value, Decimal) else "i" if isinstance(value, int) else "s"
    return (
        kind,
        str(value),
        str(row.confidence),
        row.effective_on.isoformat(),
        row.note,
        row.derived_id().hex,
    )


def _row(key_result_id: UUID, plain: PlainRow) -> tuple[CheckInImport, UUID]:
    """The row as given, and its derived id."""
    kind, value, confidence, effective_on, note, check_in_id = plain
    typed: Decimal | int | str = (
        Decimal(value) if kind == "d" else int(value) if kind == "i" else value
    )
    row = CheckInImport(key_result_id, typed, confidence, date.fromisoformat(effective_on), note)
    return row, UUID(check_in_id)


class _Batch:
    """Events on their way to the store, at most IMPORT_BATCH_EVENTS a transaction, and
    snapshots to store once the events they stand for are."""

    def __init__(self, ledger: LedgerCore, cycles: dict[str, Cycle]) -> None:
        self._ledger = ledger
        # The cycles too: rows checked against an open cycle land only while it is.
        self._unchanged = [(c.id, c.version) for c in cycles.values()]
        self._events: list[object] = []
        self._snapshots: list[StoredEvent] = []
        self.positions: list[int] = []

    def add(self, events: Sequence[object]) -> None:
        for event in events:
            self._events.append(event)
            if len(self._events) >= IMPORT_BATCH_EVENTS:
                self.flush()

    def snapshot(self, key_result: KeyResult) -> None:
        """A snapshot of the key result as it is now, stored once its events are: imports
        bypass save(), which would take it. Encoded at once, since the key result's state
        goes on changing in memory."""
        snapshots = self._ledger.snapshots
        if snapshots is None:
            return
        self._snapshots.append(
            snapshots.mapper.to_stored_event(KeyResult.Snapshot.take(key_result))
        )
        if not self._events:
            self._store_snapshots()

    def flush(self) -> None:
        if self._events:
            # Straight to the recorder: save() would type-check each of many events
            # against a runtime protocol, which costs more than encoding them.
            processing = ProcessingEvent[UUID]()
            processing.events.extend(self._events)  # type: ignore[arg-type]
            processing.saved_kwargs["unchanged"] = self._unchanged
            try:
                recordings = self._ledger._record(processing)
            except IntegrityError:
                raise ConcurrencyError(
                    "a key result or its cycle changed while importing; nothing of this "
                    "batch was stored, re-run the import to complete it"
                ) from None
            ids = [r.notification.id for r in recordings if r.notification.id]
            if ids:
                # The last position of each transaction: enough to read one's own import,
                # and a list that grows with batches, not rows.
                self.positions.append(ids[-1])
            self._events = []
        self._store_snapshots()

    def _store_snapshots(self) -> None:
        if self._snapshots and self._ledger.snapshots is not None:
            self._ledger.snapshots.recorder.insert_events(self._snapshots)
        self._snapshots = []
