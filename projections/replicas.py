"""Aggregates as they stood at the projection's position in the log."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar, cast, runtime_checkable
from uuid import UUID

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from application.goal_cache import estimated_bytes
from application.ledger import GoalLedger, replay
from domain.base import LedgerAggregate

A = TypeVar("A", bound=LedgerAggregate)

log = logging.getLogger("goalpost.projections")

# A worker catching up 1M events of 1,000 interleaved key results (bench.catchup) holds
# replicas estimated at 386 MiB (about 340 MiB in fact): they fit, with room to grow, and
# the process stays under 512 MiB.
DEFAULT_REPLICAS_MB = 448
# The ledger's environment may set the budget (tests, tools); the process's otherwise.
REPLICAS_MB_ENV = "WORKER_REPLICAS_MB"
# A goal not asked for in this many positions of the log may leave to make room.
IDLE_POSITIONS = 100_000
# Goals that did not fit the budget, held by count while events keep asking for them.
ASIDE = 8


class WorkerReplicasSettings(BaseSettings):
    """GOALPOST_WORKER_REPLICAS_MB: memory for the goals a worker keeps in step with the log."""

    model_config = SettingsConfigDict(env_prefix="GOALPOST_")

    worker_replicas_mb: int = Field(default=DEFAULT_REPLICAS_MB, ge=0)


def replicas_budget(env: Mapping[str, str]) -> int:
    """The budget in bytes: the ledger's WORKER_REPLICAS_MB, else GOALPOST_WORKER_REPLICAS_MB."""
    configured = env.get(REPLICAS_MB_ENV)
    megabytes = int(configured) if configured else WorkerReplicasSettings().worker_replicas_mb
    return max(megabytes, 0) * 1024 * 1024


@runtime_checkable
class PositionIndex(Protocol):
    def version_at_position(self, originator_id: UUID, position: int) -> int | None: ...


class Replicas:
    """The goals a projection has seen, advanced event by event in log order.

    Read models take "before" and "after" from the domain's own aggregates, so scores,
    plans and flags mean exactly what they mean to the domain. A goal not in memory is
    loaded as of the current position (never later), so a rebuild sees what a live
    worker saw.

    The goals kept are bounded by an estimate of their weight in bytes (as the API's goal
    cache, ADR 45) and by their number. Past the budget, the least recently used goal
    leaves only if no event has asked for it in `IDLE_POSITIONS` positions; otherwise
    every goal held is in use, as on a log whose goals interleave, where pushing out the
    least recently used would load each goal again at its next event, all of them in
    turn. Then the goal that does not fit waits aside (a few, by count) and is loaded
    again when needed, while the others stay: only the overflow pays the loads.
    """

    def __init__(
        self,
        ledger: GoalLedger,
        maxsize: int = 20_000,
        *,
        max_bytes: int | None = None,
        weigh: Callable[[Any], int] = estimated_bytes,
    ) -> None:
        self._ledger = ledger
        self._maxsize = maxsize
        self.max_bytes = replicas_budget(ledger.env) if max_bytes is None else max_bytes
        self._weigh = weigh
        self._cache: OrderedDict[UUID, LedgerAggregate] = OrderedDict()
        self._weights: dict[UUID, int] = {}
        self._used: dict[UUID, int] = {}
        self._aside: OrderedDict[UUID, LedgerAggregate] = OrderedDict()
        self._bytes = 0
        # The latest position asked about: the clock that says how long a goal was idle.
        self._now = 0
        # Goals read from the store (each a round trip or more): what a budget costs.
        self.loads = 0
        self._warned = False
        recorder = ledger.recorder
        if not isinstance(recorder, PositionIndex):
            raise TypeError("replicas need a recorder that indexes versions by position")
        self._index: PositionIndex = recorder

    @property
    def estimated_bytes(self) -> int:
        """The estimated weight of the goals kept within the budget."""
        return self._bytes

    def kept(self) -> list[UUID]:
        """The goals kept within the budget, least recently used first."""
        return list(self._cache)

    def clear(self) -> None:
        """Forget everything: after a rolled-back batch the cache may be ahead of the store."""
        self._cache.clear()
        self._weights.clear()
        self._used.clear()
        self._aside.clear()
        self._bytes = 0

    def get(self, aggregate_id: UUID, position: int) -> LedgerAggregate | None:
        """The goal as of `position` (None if it did not exist yet)."""
        self._now = max(self._now, position)
        cached = self._cache.get(aggregate_id)
        if cached is not None:
            self._cache.move_to_end(aggregate_id)
            self._used[aggregate_id] = self._now
            return cached
        aside = self._aside.get(aggregate_id)
        if aside is not None:
            self._remember(aside)
            return aside
        version = self._index.version_at_position(aggregate_id, position)
        if version is None:
            return None
        loaded: LedgerAggregate = self._ledger.repository.get(
            aggregate_id, version=version, projector_func=replay
        )
        self.loads += 1
        self._remember(loaded)
        return loaded

    def after(
        self, event: LedgerAggregate.Event | LedgerAggregate.Created, position: int
    ) -> LedgerAggregate | None:
        """The goal as it stands after `event`, once advanced by it (`position` is its own).

        A goal the event creates is made from the event, as the store would load it
        there, rather than loaded in two round trips: a rebuild meets every goal so.
        """
        if isinstance(event, LedgerAggregate.Created) and not self._holds(event.originator_id):
            self._now = max(self._now, position)
            created = cast(LedgerAggregate, event.mutate(None))
            self._remember(created)
            return created
        return self.get(event.originator_id, position)

    def typed(self, cls: type[A], aggregate_id: UUID, position: int) -> A | None:
        found = self.get(aggregate_id, position)
        return found if isinstance(found, cls) else None

    def advance(self, event: LedgerAggregate.Event) -> None:
        """Keep a goal in memory in step with the log; one not in memory loads when needed."""
        goal_id = event.originator_id
        cached = self._cache.get(goal_id) or self._aside.get(goal_id)
        if cached is None:
            return
        if cached.version == event.originator_version - 1:
            event.mutate(cached)
            self._remember(cached)
        elif cached.version < event.originator_version:
            # Out of step (should not happen in log order): load afresh when next needed.
            self._drop(goal_id)
            self._aside.pop(goal_id, None)

    def apply(self, event: LedgerAggregate.Event, position: int) -> LedgerAggregate:
        """Advance the goal by one event; returns it as it stands after the event."""
        current = self.get(event.originator_id, position - 1)
        if current is not None and current.version >= event.originator_version:
            # Loaded from the store already including this event (first sight mid-batch).
            return current
        advanced = cast(LedgerAggregate, event.mutate(current))
        self._remember(advanced)
        return advanced

    def _holds(self, goal_id: UUID) -> bool:
        return goal_id in self._cache or goal_id in self._aside

    def _remember(self, aggregate: LedgerAggregate) -> None:
        """Keep a goal, weighed (again) as it stands; then bring the rest within bounds."""
        goal_id = aggregate.id
        self._aside.pop(goal_id, None)
        weight = self._weigh(aggregate)
        self._bytes += weight - self._weights.get(goal_id, 0)
        self._weights[goal_id] = weight
        self._used[goal_id] = self._now
        self._cache[goal_id] = aggregate
        self._cache.move_to_end(goal_id)
        while len(self._cache) > self._maxsize:
            self._drop(next(iter(self._cache)))
        while self._bytes > self.max_bytes:
            oldest = next(iter(self._cache))
            if oldest != goal_id and self._now - self._used[oldest] >= IDLE_POSITIONS:
                self._drop(oldest)
                continue
            # Every other goal is in use: this one waits aside rather than push out one
            # that the next events need (which would then push out another, and so on).
            self._drop(goal_id)
            self._aside[goal_id] = aggregate
            if len(self._aside) > ASIDE:
                self._aside.popitem(last=False)
            if not self._warned and self.max_bytes > 0:
                self._warned = True
                log.warning(
                    "the goals in use outweigh the replicas' budget (%d goals kept, about "
                    "%.0f MiB): the others are loaded from the store at their events, "
                    "which is slow; GOALPOST_WORKER_REPLICAS_MB raises it",
                    len(self._cache),
                    self._bytes / 2**20,
                )
            return

    def _drop(self, goal_id: UUID) -> None:
        if self._cache.pop(goal_id, None) is not None:
            self._bytes -= self._weights.pop(goal_id)
            del self._used[goal_id]
