"""The bulk import of historical check-ins: every row checked, then stored in batches."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError

from application.core import LedgerCore
from application.values import CheckInImport, ImportReport, KeyResultImported
from domain.cycle import Cycle
from domain.errors import ConcurrencyError, DomainError, InvalidInputError
from domain.key_result import KeyResult
from domain.values import check_identifier

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


class CheckInImports(LedgerCore):
    def import_check_ins(self, *, actor: str, rows: Iterable[CheckInImport]) -> ImportReport:
        """Import historical check-ins; a re-run skips the rows already stored.

        Every row is checked by the key result's own rules before anything is stored;
        the first bad row is reported by its index (ImportRowError) and nothing is
        written. An import is the operator's, at the store: it takes no grant, and
        `actor` names who ran it.
        """
        check_identifier(actor, "actor")
        key_results: dict[UUID, KeyResult] = {}
        # Per key result, in the order the rows first name them: [imported, already present].
        counts: dict[UUID, list[int]] = {}
        loaded_versions: dict[UUID, int] = {}
        cycles: dict[str, Cycle] = {}
        imported = already_present = 0
        for index, row in enumerate(rows):
            try:
                key_result = key_results.get(row.key_result_id)
                if key_result is None:
                    key_result = self.get_key_result(row.key_result_id)
                    key_results[row.key_result_id] = key_result
                    loaded_versions[key_result.id] = key_result.version
                    counts[key_result.id] = [0, 0]
                cycle = cycles.get(key_result.cycle_id)
                if cycle is None:
                    cycle = cycles[key_result.cycle_id] = self.get_cycle(key_result.cycle_id)
                check_in_id = row.derived_id()
                if check_in_id in key_result.check_ins:
                    already_present += 1
                    counts[key_result.id][1] += 1
                    continue
                key_result.record_check_in(
                    actor=actor,
                    cycle=cycle,
                    value=row.value,
                    confidence=row.confidence,
                    note=row.note,
                    effective_on=row.effective_on,
                    check_in_id=check_in_id,
                )
            except DomainError as error:
                raise ImportRowError(index, error) from None
            imported += 1
            counts[key_result.id][0] += 1
        # Every row passed its checks; store in bounded transactions. A failure between
        # two of them leaves a prefix, and re-running the import completes it: rows
        # already stored are recognised by their derived ids, never duplicated.
        events = [e for kr in key_results.values() for e in kr.collect_events()]
        positions: list[int] = []
        for start in range(0, len(events), IMPORT_BATCH_EVENTS):
            # Straight to the recorder: save() would type-check each of many events
            # against a runtime protocol, which costs more than encoding them.
            batch = ProcessingEvent[UUID]()
            batch.events.extend(events[start : start + IMPORT_BATCH_EVENTS])
            # The cycles too: rows checked against an open cycle land only while it is.
            batch.saved_kwargs["unchanged"] = [(c.id, c.version) for c in cycles.values()]
            try:
                recordings = self._record(batch)
            except IntegrityError:
                raise ConcurrencyError(
                    "a key result or its cycle changed while importing; nothing of this "
                    "batch was stored, re-run the import to complete it"
                ) from None
            positions.extend(r.notification.id for r in recordings if r.notification.id)
        self._snapshot_imported(key_results.values(), loaded_versions)
        per_key_result = tuple(
            KeyResultImported(kr_id, key_results[kr_id].title, *counted)
            for kr_id, counted in counts.items()
        )
        return ImportReport(imported, already_present, tuple(positions), per_key_result)

    def _snapshot_imported(
        self, key_results: Iterable[KeyResult], loaded_versions: dict[UUID, int]
    ) -> None:
        """Imports bypass save(), so snapshot from memory each key result they carried past
        a snapshot interval (not one they left as it was: its snapshot exists already)."""
        interval = self.snapshotting_intervals[KeyResult]
        if self.snapshots is None:
            return
        snapshots = [
            KeyResult.Snapshot.take(kr)
            for kr in key_results
            if kr.version // interval > loaded_versions[kr.id] // interval
        ]
        if snapshots:
            self.snapshots.put(snapshots)
