"""The check-in import streams its rows, grouped by key result, and keeps ADR 9's promises.

Rows wait on disk and come back one key result at a time, so the order the import works
in is not the file's: the bad row it reports must still be the first in the file, the
report must still list key results in the order the file first names them, and a key
result longer than a transaction must still be stored whole, snapshots and all.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from application.imports import IMPORT_BATCH_EVENTS, CheckInImports, ImportRowError
from application.ledger import CheckInImport, GoalLedger, replay
from domain.key_result import KeyResult
from domain.values import utc_today
from tests.integration.test_cycle_close_race import quarter_with_key_result


def _key_result(ledger: GoalLedger, objective: UUID, n: int) -> UUID:
    return ledger.create_key_result(
        actor="analyst",
        objective_id=objective,
        title=f"Key result {n}",
        owner="analyst",
        unit="points",
        direction="increase",
        baseline=0,
        target=100,
        measurement_source="survey",
        measurement_query=f"points({n})",
        effective_on=utc_today() - timedelta(days=30),
    ).id


def _row(key_result: UUID, n: int, value: str | None = None) -> CheckInImport:
    return CheckInImport(
        key_result_id=key_result,
        value=value if value is not None else str(n % 90),
        confidence="on_track",
        effective_on=utc_today() - timedelta(days=n % 30),
        note=f"row {n}",
    )


def _streamed(rows: list[CheckInImport], taken: list[int]) -> Iterator[CheckInImport]:
    for row in rows:
        taken.append(1)
        yield row


def test_the_first_bad_row_of_the_file_is_reported_whatever_order_groups_come_in(
    ledger: GoalLedger,
) -> None:
    objective, first = quarter_with_key_result(ledger)
    others = [_key_result(ledger, objective, n) for n in range(3)]
    ids = sorted([first, *others], key=lambda u: u.hex)
    head = ledger.recorder.max_notification_id()
    # Interleaved rows; the key result that sorts last has a bad row early in the file,
    # the one that sorts first a bad row later.
    rows = [_row(ids[n % 4], n) for n in range(40)]
    rows[7] = _row(ids[3], 7, value="lots")
    rows[24] = _row(ids[0], 24, value="-")
    with pytest.raises(ImportRowError) as refused:
        ledger.import_check_ins(actor="importer", rows=rows)
    assert refused.value.index == 7
    assert refused.value.args[0].startswith("row 7:")
    # Nothing was stored.
    assert ledger.recorder.max_notification_id() == head
    # A bad row in the group read first, and a missing key result, are found as well.
    rows[7] = _row(ids[3], 7)
    with pytest.raises(ImportRowError) as refused:
        ledger.import_check_ins(actor="importer", rows=rows)
    assert refused.value.index == 24
    missing = UUID(int=1)
    with pytest.raises(ImportRowError) as refused:
        ledger.import_check_ins(actor="importer", rows=[*rows[:24], _row(missing, 24)])
    assert refused.value.index == 24 and "no key result" in refused.value.args[0]
    assert ledger.recorder.max_notification_id() == head


def test_a_streamed_import_reports_in_file_order_and_a_rerun_stores_nothing_twice(
    ledger: GoalLedger,
) -> None:
    objective, first = quarter_with_key_result(ledger)
    ids = [first, *(_key_result(ledger, objective, n) for n in range(4))]
    # One key result is longer than a transaction: its events span several, and it
    # crosses snapshot intervals on the way.
    long = ids[2]
    rows = [_row(ids[n % 5], n) for n in range(50)]
    rows += [_row(long, n) for n in range(50, 50 + IMPORT_BATCH_EVENTS + 500)]
    taken: list[int] = []
    report = ledger.import_check_ins(actor="importer", rows=_streamed(rows, taken))
    assert len(taken) == len(rows)  # read once, as an iterator
    assert (report.imported, report.already_present) == (len(rows), 0)
    assert [kr.key_result_id for kr in report.key_results] == ids
    assert [kr.imported for kr in report.key_results] == [
        10,
        10,
        10 + IMPORT_BATCH_EVENTS + 500,
        10,
        10,
    ]
    # One position per transaction, the last being the log's head.
    assert len(report.positions) == -(-len(rows) // IMPORT_BATCH_EVENTS)
    assert report.positions[-1] == ledger.recorder.max_notification_id()
    stored = ledger.get_key_result(long)
    assert len(stored.check_ins) == 10 + IMPORT_BATCH_EVENTS + 500
    # Snapshots were taken from memory where save() takes them, every 100 versions, and
    # each loads as the events up to it replay.
    assert ledger.snapshots is not None
    snapshots = list(ledger.snapshots.get(long))
    assert [s.originator_version for s in snapshots] == list(range(100, stored.version, 100))
    for snapshot in snapshots[::7]:
        at = ledger.repository.get(long, version=snapshot.originator_version)
        from_events = replay(None, ledger.events.get(long, lte=snapshot.originator_version))  # type: ignore[arg-type]
        assert isinstance(from_events, KeyResult) and at.check_ins == from_events.check_ins
    replayed = replay(None, ledger.events.get(long))  # type: ignore[arg-type]
    assert isinstance(replayed, KeyResult) and replayed.check_ins == stored.check_ins

    again = ledger.import_check_ins(actor="importer", rows=rows)
    assert (again.imported, again.already_present) == (0, len(rows))
    assert again.positions == ()
    assert [kr.key_result_id for kr in again.key_results] == ids


def test_events_are_made_after_the_whole_file_was_checked(
    ledger: GoalLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An event's time is its record time, which the store refuses far from its clock
    # (ADR 24): checking a large file takes longer than that, so no event may be made
    # while checking.
    objective, first = quarter_with_key_result(ledger)
    ids = [first, _key_result(ledger, objective, 1)]
    checked_at: list[datetime] = []
    check = CheckInImports._check_rows

    def timed_check(self: CheckInImports, *args: Any) -> Any:
        result = check(self, *args)
        checked_at.append(datetime.now(UTC))
        return result

    monkeypatch.setattr(CheckInImports, "_check_rows", timed_check)
    ledger.import_check_ins(actor="importer", rows=[_row(ids[n % 2], n) for n in range(300)])
    (done,) = checked_at
    for key_result in ids:
        imported = [
            e for e in ledger.events.get(key_result) if isinstance(e, KeyResult.CheckInRecorded)
        ]
        assert len(imported) == 150
        assert all(e.timestamp >= done for e in imported)
