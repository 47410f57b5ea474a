"""Reads from hot standbys: which store serves a read, and how far each standby lags (ADR 31).

With GOALPOST_READ_DATABASE_URL set, read-model routes and the feed read from the
standbys in turn, one store per request, and say which in `Goalpost-Read-From`; writes,
tokens and goal loads stay on the primary. A standby is read-only, so nothing on the
read path writes: its ViewDatabase is only ever read, and its read models are the
primary's, replicated with their tracking positions, so waiting for a position on the
standby waits for exactly what that standby can show.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from application.ledger import GoalLedger
from storage.replication import Replay
from storage.views import ViewDatabase

READ_FROM_HEADER = "Goalpost-Read-From"
PRIMARY = "primary"


@dataclass(frozen=True)
class ReadStore:
    """One store reads can be served from: the primary, or a standby of it."""

    name: str
    ledger: GoalLedger
    views: ViewDatabase


class ReadStores:
    """The stores reads go to: the standbys in turn, or the primary when there are none."""

    def __init__(self, primary: ReadStore, standbys: Sequence[ReadStore] = ()) -> None:
        self.primary = primary
        self.standbys = tuple(standbys)
        self._next = 0
        self._lock = threading.Lock()

    @classmethod
    def of(
        cls, ledger: GoalLedger, views: ViewDatabase, standbys: Sequence[GoalLedger]
    ) -> ReadStores:
        """The primary's ledger and views, and a ledger on each standby (`standby-1`, ...)."""
        named = [f"standby-{number}" for number in range(1, len(standbys) + 1)]
        return cls(
            ReadStore(PRIMARY, ledger, views),
            [
                ReadStore(name, standby, ViewDatabase(standby, primary=ledger, source=name))
                for name, standby in zip(named, standbys, strict=True)
            ],
        )

    def pick(self) -> ReadStore:
        """The store for the next read: round robin, so standbys share the reads evenly."""
        if not self.standbys:
            return self.primary
        with self._lock:
            chosen = self.standbys[self._next % len(self.standbys)]
            self._next += 1
        return chosen

    def close(self) -> None:
        """Close the standbys' ledgers (the primary's belongs to the app's caller)."""
        for standby in self.standbys:
            standby.ledger.close()


@dataclass(frozen=True)
class StandbyStatus:
    """Where one standby stands against the primary's log."""

    name: str
    # None when the standby did not answer (`detail` says why).
    replay: Replay | None = None
    # Its own copy of the log's last position, and each read model's position there.
    log_position: int = 0
    read_models: dict[str, int] = field(default_factory=dict)
    detail: str | None = None

    @property
    def up(self) -> bool:
        return self.replay is not None


def standby_status(store: ReadStore, read_models: Sequence[str]) -> StandbyStatus:
    """The standby's replay and positions, read on the standby itself."""
    try:
        replay = store.views.replay()
        # Positions before the head, as on the primary: a head read after is never behind.
        positions = {name: store.views.position(name) for name in read_models}
        head = store.views.head()
    except Exception as error:  # any failure to answer means the standby cannot serve reads
        first = (str(error).strip().splitlines() or [""])[0]
        return StandbyStatus(store.name, detail=f"{type(error).__name__}: {first}".rstrip(": "))
    return StandbyStatus(store.name, replay, head, positions)


def unavailable(statuses: Sequence[StandbyStatus]) -> str | None:
    """Why reads cannot all be served, when a standby does not answer."""
    down = [s for s in statuses if not s.up]
    if not down:
        return None
    return "; ".join(
        f"standby {s.name} does not answer ({s.detail}): reads sent to it fail" for s in down
    )


def _gauge(name: str, text: str, samples: Sequence[tuple[str, object]]) -> list[str]:
    return [
        f"# HELP {name} {text}",
        f"# TYPE {name} gauge",
        *(f"{name}{{{labels}}} {value}" for labels, value in samples),
    ]


def standby_metrics(statuses: Sequence[StandbyStatus], log_head: int) -> list[str]:
    """Per standby: whether it answers, its replay lag, and its positions against the log."""
    replays = [(s, s.replay) for s in statuses if s.replay is not None]
    up = [s for s, _ in replays]

    def label(status: StandbyStatus) -> str:
        return f'standby="{status.name}"'

    by_model = [
        (f'{label(s)},read_model="{name}"', position)
        for s in up
        for name, position in s.read_models.items()
    ]
    return [
        *_gauge(
            "goalpost_standby_up",
            "1 while a standby answers.",
            [(label(s), int(s.up)) for s in statuses],
        ),
        *_gauge(
            "goalpost_standby_replay_lag_bytes",
            "WAL a standby has received and not yet replayed.",
            [(label(s), r.lag_bytes) for s, r in replays],
        ),
        *_gauge(
            "goalpost_standby_replay_lag_seconds",
            "Age of the last transaction a standby replayed, while WAL waits to be replayed.",
            [(label(s), f"{r.lag_seconds:.3f}") for s, r in replays],
        ),
        *_gauge(
            "goalpost_standby_replay_paused",
            "1 while a standby's replay is paused.",
            [(label(s), int(r.paused)) for s, r in replays],
        ),
        *_gauge(
            "goalpost_standby_log_position",
            "A standby's copy of the log's last position.",
            [(label(s), s.log_position) for s in up],
        ),
        *_gauge(
            "goalpost_standby_log_lag",
            "Positions a standby's copy of the log is behind the primary's.",
            [(label(s), max(log_head - s.log_position, 0)) for s in up],
        ),
        *_gauge(
            "goalpost_standby_read_model_position",
            "The log position a read model reflects on a standby.",
            by_model,
        ),
        *_gauge(
            "goalpost_standby_read_model_lag",
            "Positions a read model on a standby is behind the primary's log.",
            [(labels, max(log_head - position, 0)) for labels, position in by_model],
        ),
    ]
