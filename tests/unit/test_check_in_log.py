"""The check-in log answers "latest on a day" as a scan of every check-in would."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from domain.check_in_log import CheckIn, CheckInLog, Correction, loaded_for_one_read
from domain.key_result import KeyResult
from domain.values import Confidence, ReasonCode

START = date(2026, 7, 1)
RECORDED = datetime(2026, 7, 1, tzinfo=UTC)


def brute_latest(log: CheckInLog, on: date) -> CheckIn | None:
    candidates = [c for c in log if c.effective_on <= on]
    return max(candidates, key=lambda c: (c.effective_on, c.version), default=None)


def check_in(n: int, day: int) -> CheckIn:
    return CheckIn(
        id=UUID(int=n + 1),
        effective_on=START + timedelta(days=day),
        value=Decimal(n),
        confidence=Confidence.ON_TRACK,
        note="",
        actor="someone",
        recorded_at=RECORDED,
        version=n + 2,
        original_value=Decimal(n),
    )


# Each step adds a check-in effective on a day, or corrects an earlier one.
steps = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 30)),
        st.tuples(st.just("correct"), st.integers(0, 1000)),
    ),
    max_size=40,
)


@given(steps=steps, asks=st.lists(st.integers(-1, 32), min_size=1, max_size=10))
def test_latest_is_the_greatest_effective_date_then_version(
    steps: list[tuple[str, int]], asks: list[int]
) -> None:
    log = CheckInLog()
    added: list[CheckIn] = []
    for n, (kind, arg) in enumerate(steps):
        if kind == "add" or not added:
            made = check_in(n, arg % 31)
            added.append(made)
            log.put(made)
        else:
            index = arg % len(added)
            corrected = replace(
                log[added[index].id],
                value=Decimal(-n),
                corrections=(
                    Correction(Decimal(-n), "typo", ReasonCode.DATA_ERROR, "someone", RECORDED, n),
                ),
            )
            log.put(corrected)
        # Asked between steps too, so what is remembered is tested against later puts.
        day = START + timedelta(days=asks[n % len(asks)])
        assert log.latest(day) == brute_latest(log, day)
        assert log.latest_value(day) == _value(brute_latest(log, day))
    for ask in asks:
        day = START + timedelta(days=ask)
        assert log.latest(day) == brute_latest(log, day)
        # A snapshot's rows and a deep copy answer the same.
        assert CheckInLog(dict(log.rows)).latest(day) == brute_latest(log, day)
        assert copy.deepcopy(log).latest(day) == brute_latest(log, day)
        # So do the snapshot's rows loaded as they are, for a goal read once.
        with loaded_for_one_read():
            once = CheckInLog(json.loads(json.dumps(log.rows)))
        assert once.latest(day) == brute_latest(log, day)
        assert once.latest_value(day) == _value(brute_latest(log, day))
        assert once == log


def _value(check_in: CheckIn | None) -> Decimal | None:
    return None if check_in is None else check_in.value


def test_a_snapshot_stores_rows_as_it_always_has_and_loads_them_compact() -> None:
    # One check-in as recorded, one corrected once.
    log = CheckInLog()
    plain = check_in(0, 3)
    log.put(plain)
    corrected = check_in(1, 4)
    fix = Correction(Decimal("7.5"), "typo", ReasonCode.DATA_ERROR, "lead", RECORDED, 9)
    log.put(replace(corrected, value=Decimal("7.5"), corrections=(fix,)))

    # The rows a snapshot stores: keyed by the id's hex, JSON arrays, ISO 8601 strings.
    stored = log.rows
    assert stored == {
        plain.id.hex: ["2026-07-04", 2, "0", "on_track", "", "someone",
                       "2026-07-01T00:00:00+00:00", "0", []],
        corrected.id.hex: ["2026-07-05", 3, "7.5", "on_track", "", "someone",
                           "2026-07-01T00:00:00+00:00", "1",
                           [["7.5", "typo", "data_error", "lead", "2026-07-01T00:00:00+00:00", 9]]],
    }  # fmt: skip

    # Loaded back (as from a snapshot's JSON), the log is the same, and stores the same.
    loaded = CheckInLog(json.loads(json.dumps(stored)))
    assert loaded == log
    assert loaded.rows == stored
    assert list(loaded) == list(log)
    assert loaded[corrected.id].corrections == (fix,)


def test_a_log_loaded_for_one_read_keeps_the_snapshots_rows_and_takes_events_alike() -> None:
    log = CheckInLog()
    first = check_in(0, 3)
    log.put(first)
    log.put(check_in(1, 5))
    stored = json.loads(json.dumps(log.rows))
    compact = CheckInLog(stored)
    with loaded_for_one_read():
        once = CheckInLog(stored)
    assert once == compact
    assert once.rows == compact.rows == stored
    assert list(once) == list(compact)

    # Later events (a check-in, a correction of a loaded row) apply to both alike.
    fix = Correction(Decimal("9"), "typo", ReasonCode.DATA_ERROR, "lead", RECORDED, 9)
    for target in (once, compact):
        target.put(check_in(2, 4))
        target.put(replace(target[first.id], value=Decimal("9"), corrections=(fix,)))
    assert once == compact
    assert once.rows == compact.rows
    assert once.latest(START + timedelta(days=4)) == compact.latest(START + timedelta(days=4))
    assert once[first.id].value == Decimal("9")


@given(days=st.lists(st.integers(0, 30), min_size=1, max_size=20))
def test_a_check_in_recorded_as_a_row_is_the_check_in_put(days: list[int]) -> None:
    put, recorded = CheckInLog(), CheckInLog()
    for n, day in enumerate(days):
        made = replace(
            check_in(n, day), value=Decimal(f"{n}.50"), original_value=Decimal(f"{n}.50")
        )
        put.put(made)
        recorded.record(
            KeyResult.CheckInRecorded(
                originator_id=UUID(int=0),
                originator_version=made.version,
                timestamp=made.recorded_at,
                actor=made.actor,
                check_in_id=made.id,
                value=made.value,
                confidence=made.confidence.value,
                note=made.note,
                effective_on=made.effective_on,
            )
        )
    assert recorded == put
    assert list(recorded) == list(put)
    assert recorded.rows == put.rows
    last = START + timedelta(days=max(days))
    assert recorded.latest(last) == put.latest(last)
