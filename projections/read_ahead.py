"""The log's next page, read on a connection of its own while the current one is applied.

A rebuild reads a page of the log, applies it and commits, then reads the next: the
reading waits on the server while Python does nothing, and the writing waits while the
next page could be on its way. Read ahead, the next page is read by a thread on another
of the recorder's connections while this page is applied and committed (the wait
releases the interpreter), and is taken only if it is still the page wanted.

Only a full page is taken. The events table's lock makes positions commit in order, so
any read sees a prefix of the log: a full page read early holds exactly the events a
later read of that page would. A short page may have been read before more events
arrived, so the page is read again.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Protocol

from eventsourcing.persistence import Notification


class LogPages(Protocol):
    def select_notifications(
        self, start: int | None, limit: int, *, inclusive_of_start: bool = True
    ) -> Sequence[Notification]: ...


class ReadAhead:
    """Pages of `limit` events after a position, the next one read while this one is used."""

    def __init__(self, log: LogPages, limit: int, *, enabled: bool = True) -> None:
        self._log = log
        self._limit = limit
        self._enabled = enabled
        self._ahead: tuple[int, Future[Sequence[Notification]]] | None = None

    def page(self, after: int) -> Sequence[Notification]:
        """The events after `after`, up to the limit; the page after it starts reading."""
        notifications = self._taken(after)
        if notifications is None:
            notifications = self._read(after)
        if self._enabled and len(notifications) == self._limit:
            self._ahead = (notifications[-1].id, self._start(notifications[-1].id))
        return notifications

    def _taken(self, after: int) -> Sequence[Notification] | None:
        ahead, self._ahead = self._ahead, None
        if ahead is None or ahead[0] != after:
            return None  # someone else moved the position: not the page wanted
        try:
            notifications = ahead[1].result()
        except Exception:
            return None  # read again here, where a failure reaches the caller
        return notifications if len(notifications) == self._limit else None

    def _read(self, after: int) -> Sequence[Notification]:
        return self._log.select_notifications(
            start=after, limit=self._limit, inclusive_of_start=False
        )

    def _start(self, after: int) -> Future[Sequence[Notification]]:
        future: Future[Sequence[Notification]] = Future()

        def read() -> None:
            try:
                future.set_result(self._read(after))
            except BaseException as error:  # handed to whoever takes the page
                future.set_exception(error)

        # A daemon: a rebuild stopped between pages leaves at most one read unfinished.
        threading.Thread(target=read, name="goalpost-read-ahead", daemon=True).start()
        return future
