"""What verification reads of the log that the library's recorder does not offer.

Both recorders answer these, each in its own dialect, so a caller asks the recorder
for what it needs instead of which class it was given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

# (position, originator id, originator version, topic, state, record time): each column
# as the store returns it (SQLite: the id as hex text), the record time None without a
# row in the record-time index. Verification judges the columns itself.
LoggedEvent = Sequence[Any]
# (originator id, originator version, record time, the goal's last position or None).
OrphanRecordTime = Sequence[Any]


@runtime_checkable
class EventLog(Protocol):
    """The events with their record times, in log order, and what lies beside them."""

    def events_with_record_times(self, after: int, limit: int) -> Sequence[LoggedEvent]:
        """Up to `limit` events after position `after`, in order, each with its record time."""
        ...

    def orphan_record_time(self) -> OrphanRecordTime | None:
        """A row of the record-time index that names no event (the first by position)."""
        ...

    def log_tail(self, after: int) -> tuple[int, int]:
        """The log's last position (0 while empty), and how many events lie after `after`."""
        ...
