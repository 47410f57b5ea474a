"""The signals process: on each tick of the clock, record the time-driven facts now due.

Each tick asks the read models which goals could have a signal due (stale-looking key
results in `key_result_scores`, KPIs whose last reading is old or that are candidates in
`kpi_health`, cycles ending within a week in `objective_scores`), so a tick reads rows,
not the log. Each signal is decided by the domain's rules (domain/signal.py) on the goal
as it now stands: a key result on its row when the row is at the key result's latest
version (one indexed lookup), any other goal, or a key result the row lags, loaded from
the log. A read model that lags can delay a signal, never make a wrong one; recording
one twice, by a restarted or a second worker, is refused by the store and counted as
"already recorded" (docs/adr/0039-signals.md).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from application.ledger import GoalLedger
from domain.cycle import Cycle
from domain.errors import NotFoundError
from domain.scoring import STALE_AFTER_DAYS
from domain.signal import (
    CYCLE_ENDING_NOTICE_DAYS,
    Signal,
    Staleness,
    cycle_ending_signal,
    key_result_stale_signal,
    kpi_candidate_signal,
    kpi_overdue_signal,
    reading_due_on,
    signal_id,
    stale_on,
    stale_signal,
    tracked_since,
)
from domain.values import utc_now
from storage.rows import day, uuid_value
from storage.views import ViewDatabase

log = logging.getLogger("goalpost.signals")

Clock = Callable[[], datetime]
DEFAULT_INTERVAL_SECONDS = 60.0
# Occurrences known to be recorded, kept per process so a steady tick asks the store
# about each at most once; forgotten wholesale past this many (they are then asked again).
REMEMBERED = 100_000

# A key result whose last check-in (or, without one, its first plan and its cycle's start)
# is at least 21 days before today; retired ones and closed cycles never signal.
_STALE_CANDIDATES = (
    "SELECT key_result_id, objective_id, owner, cycle_id, cycle_starts_on, cycle_ends_on,"
    " original_effective_on, last_check_in_on, version FROM {key_result_scores}"
    " WHERE retired = %s AND cycle_closed = %s AND (last_check_in_on <= %s"
    " OR (last_check_in_on IS NULL AND original_effective_on <= %s AND cycle_starts_on <= %s))"
    " ORDER BY created_at"
)
# Every cadence is at least a day: a KPI read (or defined) yesterday or later is not due.
_OVERDUE_CANDIDATES = (
    "SELECT kpi_id, cadence, defined_on, last_on FROM {kpi_health}"
    " WHERE retired_on IS NULL AND COALESCE(last_on, defined_on) < %s ORDER BY defined_at"
)
_CANDIDATES = (
    "SELECT kpi_id, version FROM {kpi_health}"
    " WHERE okr_candidate = %s AND retired_on IS NULL ORDER BY defined_at"
)
_ENDING_CYCLES = (
    "SELECT DISTINCT cycle_id FROM {objective_scores}"
    " WHERE cycle_closed = %s AND cycle_ends_on >= %s AND cycle_ends_on <= %s"
)
_TYPES = {
    "key_result_id": uuid_value,
    "objective_id": uuid_value,
    "kpi_id": uuid_value,
    "cycle_starts_on": day,
    "cycle_ends_on": day,
    "original_effective_on": day,
    "last_check_in_on": day,
    "defined_on": day,
    "last_on": day,
}


@dataclass
class Tick:
    """What one evaluation found: the signals it recorded, and those already recorded."""

    today: date
    recorded: list[Signal] = field(default_factory=list)
    already_recorded: int = 0


class SignalProcess:
    """Records every signal due on the clock's day, once; `clock` answers "now" (UTC)."""

    def __init__(
        self,
        ledger: GoalLedger,
        *,
        clock: Clock = utc_now,
        views: ViewDatabase | None = None,
    ) -> None:
        self.ledger = ledger
        self.clock = clock
        self.views = views if views is not None else ViewDatabase(ledger)
        self._recorded: set[UUID] = set()
        # KPI id -> the version last found a candidate whose signal is recorded: while
        # the KPI stays at that version its entry into candidacy is the same one.
        self._candidates_done: dict[UUID, int] = {}
        self._deciding: dict[UUID, tuple[UUID, int]] = {}

    def today(self) -> date:
        return self.clock().astimezone(UTC).date()

    # One tick

    def run_once(self) -> Tick:
        """Record what is due today and not yet recorded (by anyone)."""
        tick = Tick(self.today())
        for signal in self._due(tick.today, tick):
            if self._is_recorded(signal.id) or not self.ledger.record_signal(signal):
                tick.already_recorded += 1
            else:
                tick.recorded.append(signal)
            self._remember(signal.id)
            if (decided := self._deciding.pop(signal.id, None)) is not None:
                kpi_id, version = decided
                self._candidates_done[kpi_id] = version
        return tick

    def due(self, today: date | None = None) -> list[Signal]:
        """Every signal due by `today` (default: the clock's), recorded or not: what a fresh
        store's first tick would record."""
        return list(self._due(today or self.today(), None))

    def run_forever(
        self, stop: threading.Event, interval: float = DEFAULT_INTERVAL_SECONDS
    ) -> None:
        """A tick, then another every `interval` seconds until `stop` is set."""
        while not stop.is_set():
            try:
                tick = self.run_once()
            except Exception:
                # The store may be briefly away; the next tick evaluates everything again.
                log.exception("signals tick failed; trying again in %.0f s", interval)
            else:
                if tick.recorded:
                    log.info(
                        "signals for %s: %d recorded, %d already recorded",
                        tick.today,
                        len(tick.recorded),
                        tick.already_recorded,
                    )
            stop.wait(interval)

    # Candidates, nominated by the read models and decided on the goals

    def _due(self, today: date, tick: Tick | None) -> Iterator[Signal]:
        """Signals due by `today`; with a `tick`, those it knows are recorded are counted
        there and skipped before their goal is loaded."""
        yield from self._stale(today, tick)
        yield from self._overdue(today, tick)
        yield from self._candidates(tick)
        yield from self._ending(today, tick)

    def _known(self, tick: Tick | None, occurrence: UUID) -> bool:
        if tick is None or not self._is_recorded(occurrence):
            return False
        tick.already_recorded += 1
        return True

    def _stale(self, today: date, tick: Tick | None) -> Iterator[Signal]:
        cutoff = today - timedelta(days=STALE_AFTER_DAYS)
        rows = self._query(_STALE_CANDIDATES, (False, False, cutoff, cutoff, cutoff))
        cycles: dict[str, Cycle | None] = {}
        for row in rows:
            since = tracked_since(row["original_effective_on"], row["cycle_starts_on"])
            hinted = stale_on(row["last_check_in_on"], since, row["cycle_ends_on"])
            if hinted is None or hinted > today:
                continue
            kr_id = row["key_result_id"]
            if self._known(tick, signal_id(Signal.KeyResultBecameStale, kr_id, hinted)):
                continue
            cycle_id = str(row["cycle_id"])
            if cycle_id not in cycles:
                cycles[cycle_id] = self._cycle(cycle_id)
            cycle = cycles[cycle_id]
            if cycle is None:
                continue
            last_on = row["last_check_in_on"]
            if int(row["version"]) == self.ledger.current_version(kr_id) and (
                last_on is None or last_on <= today
            ):
                # The row holds the key result as it now stands: judged on what it holds
                # (a long key result is not loaded to be told what its row says).
                facts = Staleness(
                    key_result_id=kr_id,
                    objective_id=row["objective_id"],
                    owner=str(row["owner"]),
                    cycle_id=cycle_id,
                    last_check_in_on=last_on,
                    tracked_since=since,
                    ends_on=row["cycle_ends_on"],
                    retired=False,
                    cycle_closed=cycle.is_closed,
                )
                signal = stale_signal(facts, today)
            else:
                # The read model is behind this key result: judged on the key result.
                try:
                    key_result = self.ledger.get_key_result(kr_id)
                except NotFoundError:
                    continue
                signal = key_result_stale_signal(key_result, cycle, today)
            if signal is not None:
                yield signal

    def _overdue(self, today: date, tick: Tick | None) -> Iterator[Signal]:
        for row in self._query(_OVERDUE_CANDIDATES, (today - timedelta(days=1),)):
            due = reading_due_on(row["cadence"], row["last_on"], row["defined_on"])
            if today <= due:
                continue
            kpi_id = row["kpi_id"]
            if self._known(tick, signal_id(Signal.KpiReadingOverdue, kpi_id, due)):
                continue
            try:
                kpi = self.ledger.get_kpi(kpi_id)
            except NotFoundError:
                continue
            if signal := kpi_overdue_signal(kpi, today):
                yield signal

    def _candidates(self, tick: Tick | None) -> Iterator[Signal]:
        for row in self._query(_CANDIDATES, (True,)):
            kpi_id, version = row["kpi_id"], int(row["version"])
            if tick is not None and self._candidates_done.get(kpi_id) == version:
                tick.already_recorded += 1
                continue
            try:
                kpi = self.ledger.get_kpi(kpi_id)
            except NotFoundError:
                continue
            signal = kpi_candidate_signal(kpi)
            if signal is None:
                continue
            if tick is not None:
                # Once recorded, the KPI is not loaded again until its version moves.
                self._deciding[signal.id] = (kpi_id, kpi.version)
            yield signal

    def _ending(self, today: date, tick: Tick | None) -> Iterator[Signal]:
        last_day = today + timedelta(days=CYCLE_ENDING_NOTICE_DAYS)
        for row in self._query(_ENDING_CYCLES, (False, today, last_day)):
            cycle = self._cycle(str(row["cycle_id"]))
            if cycle is None:
                continue
            if self._known(tick, signal_id(Signal.CycleEndsInSevenDays, cycle.id, cycle.ends_on)):
                continue
            if signal := cycle_ending_signal(cycle, today):
                yield signal

    # Helpers

    def _query(self, template: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        return self.views.query(template, params, _TYPES)

    def _cycle(self, key: str) -> Cycle | None:
        try:
            return self.ledger.get_cycle(key)
        except NotFoundError:
            return None

    def _is_recorded(self, occurrence: UUID) -> bool:
        if occurrence in self._recorded:
            return True
        if self.ledger.signal_recorded(occurrence):
            self._remember(occurrence)
            return True
        return False

    def _remember(self, occurrence: UUID) -> None:
        if len(self._recorded) >= REMEMBERED:
            self._recorded.clear()
        self._recorded.add(occurrence)


class BackgroundSignals:
    """The signal process on a thread of this process, on a ledger (and connections) of its
    own, as the embedded store's `goalpost serve` runs its projection worker."""

    def __init__(self, ledger: GoalLedger, *, interval: float = DEFAULT_INTERVAL_SECONDS) -> None:
        self._ledger = type(ledger)(env=dict(ledger.env))
        self.process = SignalProcess(self._ledger)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self.process.run_forever,
            args=(self._stop, interval),
            name="goalpost-signals",
            daemon=True,
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("the signals thread did not stop within %.0f s", timeout)
            return
        self._ledger.close()
