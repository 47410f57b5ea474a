"""A hot standby's replay of its primary's WAL, as the standby itself reports it (ADR 31)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.sql import SQL

# The pause state is asked only in recovery: on a server that is not a standby the
# function refuses to answer. WAL received but not yet replayed is the lag in bytes; its
# age is that of the last transaction replayed, counted only while WAL waits (an idle
# primary sends nothing, which is not lag).
REPLAY_STATEMENT = SQL(
    "SELECT pg_is_in_recovery() AS in_recovery,"
    " CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END AS paused,"
    " greatest(coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(),"
    " pg_last_wal_replay_lsn()), 0), 0)::bigint AS lag_bytes,"
    " pg_last_xact_replay_timestamp() AS replayed_at,"
    " CASE WHEN pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()"
    " THEN greatest(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0)"
    " ELSE 0 END::float8 AS lag_seconds"
)


@dataclass(frozen=True)
class Replay:
    """Where a standby's replay stands."""

    # False: the server is not a standby (a primary named as one reads its own writes).
    in_recovery: bool
    # Replay paused (`pg_wal_replay_pause()`): WAL is still received, not applied.
    paused: bool
    # WAL the standby has received and not yet replayed.
    lag_bytes: int
    # Seconds since the last replayed transaction committed on the primary, while
    # received WAL waits to be replayed; 0 when all of it is.
    lag_seconds: float
    # When the last transaction it replayed committed on the primary (None before one).
    replayed_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> Replay:
        return cls(
            in_recovery=bool(row["in_recovery"]),
            paused=bool(row["paused"]),
            lag_bytes=int(row["lag_bytes"] or 0),
            lag_seconds=float(row["lag_seconds"] or 0.0),
            replayed_at=row["replayed_at"],
        )


def replay_state(datastore: Any) -> Replay:
    """The replay of the server behind a PostgreSQL datastore (read-only: safe on a standby)."""
    with datastore.transaction(commit=False) as cursor:
        cursor.execute(REPLAY_STATEMENT)
        return Replay.of(cursor.fetchone())
