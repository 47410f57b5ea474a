"""Waking a waiting process when events are stored: LISTEN on PostgreSQL, else a poll."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import psycopg
from psycopg import sql

log = logging.getLogger("goalpost.projections")

# The LISTEN connection's name in pg_stat_activity, so operators (and tests) can find it.
LISTENER_APPLICATION_NAME = "goalpost-projections-listener"


class Waker:
    """Wakes the worker when events are stored: LISTEN on PostgreSQL, else a poll.

    A dropped LISTEN connection is not fatal (the library's own subscription stops for
    good then): the worker notices, catches up from its tracked position, listens again,
    and polls for as long as it cannot.
    """

    def __init__(self, recorder: Any) -> None:
        datastore = getattr(recorder, "datastore", None)
        pool = getattr(datastore, "pool", None)
        self._conninfo: str | None = getattr(pool, "conninfo", None)
        self._kwargs: dict[str, Any] = dict(getattr(pool, "kwargs", {}) or {})
        self._channel: str | None = getattr(recorder, "channel_name", None)
        self._connection: psycopg.Connection[Any] | None = None
        self._failing = False

    @property
    def listening(self) -> bool:
        return self._connection is not None and not self._connection.closed

    def listen(self) -> None:
        """LISTEN unless already listening; on failure, poll until the next try."""
        if self._conninfo is None or self._channel is None or self.listening:
            return
        try:
            self._connection = psycopg.connect(
                self._conninfo,
                **{
                    **self._kwargs,
                    "autocommit": True,
                    "application_name": LISTENER_APPLICATION_NAME,
                },
            )
            self._connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
        except psycopg.Error as error:
            self.close()
            if not self._failing:
                log.warning("cannot LISTEN for new events (%s); polling instead", error)
            self._failing = True
            return
        if self._failing:
            log.info("listening for new events again")
        self._failing = False

    def wait(self, timeout: float, stopping: threading.Event) -> None:
        """Until a notification, the timeout, or stopping (checked every quarter second)."""
        if not self.listening:
            stopping.wait(timeout)
            return
        assert self._connection is not None
        deadline = time.monotonic() + timeout
        try:
            while not stopping.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                for _ in self._connection.notifies(timeout=min(remaining, 0.25), stop_after=1):
                    return
        except psycopg.Error as error:
            # The connection dropped: events may have come meanwhile; catch up and relisten.
            log.warning(
                "the LISTEN connection dropped (%s); resuming from the tracked position", error
            )
            self._failing = True
            self.close()

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None
