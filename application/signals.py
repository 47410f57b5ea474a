"""Recording signals: one save per occurrence, a second recording of it refused by the store."""

from __future__ import annotations

from uuid import UUID

from application.core import LedgerCore
from domain.errors import ConcurrencyError
from domain.signal import Signal


class SignalCommands(LedgerCore):
    def signal_recorded(self, signal_id: UUID) -> bool:
        """Whether the occurrence with this id is in the log (one indexed lookup)."""
        return bool(self.recorder.select_events(signal_id, limit=1))

    def current_version(self, aggregate_id: UUID) -> int | None:
        """The version of a goal's last event (one indexed lookup), None if none."""
        last = self.recorder.select_events(aggregate_id, desc=True, limit=1)
        return last[0].originator_version if last else None

    def record_signal(self, signal: Signal) -> bool:
        """Store a signal; False when it was already recorded, here or by another worker.

        The signal's id is its occurrence's, so a second recording asks for version 1 of
        a stream that has it: the store's unique (originator_id, version) refuses it, and
        that refusal is the answer "already recorded" (docs/adr/0039-signals.md).
        """
        try:
            self._save(signal)
        except ConcurrencyError:
            return False
        return True
