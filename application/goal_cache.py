"""Loaded goals kept in memory, bounded in bytes (ADR 45, amending ADR 20).

A count bound (2,000 goals) let one process hold gigabytes: a key result with a thousand
check-ins weighs about 350 KB in memory, one just created about 3 KB. This cache evicts
the least recently loaded goals once their estimated weight passes a budget in bytes
(`GOALPOST_GOAL_CACHE_MB`), and keeps a count bound too, for the index's own overhead.

A goal's weight is estimated, not measured: a fixed part plus a part per event applied
to it (its version). Each event adds about one item to a goal's state (a check-in, a
reading, a plan change), and the per-event figure was measured with tracemalloc on key
results with hundreds and thousands of check-ins (tests/unit/test_goal_cache.py keeps
it honest). A goal in the cache is brought up to date in place on each load (ADR 20), so
its weight is taken again after each load has done so.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from copy import deepcopy
from typing import Any
from uuid import UUID

from eventsourcing.application import Cache, Repository
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Measured (tracemalloc, key results loaded from the store): about 2.8 KB for a goal with
# one event, about 350 bytes for each further check-in since check-ins are held as
# tuples keyed by integers (810 before). Rounded up.
BASE_BYTES = 4096
EVENT_BYTES = 400
DEFAULT_CACHE_MB = 256
# The ledger's environment may set the budget (tests, tools); the process's otherwise.
CACHE_MB_ENV = "GOAL_CACHE_MB"
MAXSIZE_ENV = "AGGREGATE_CACHE_MAXSIZE"


class GoalCacheSettings(BaseSettings):
    """GOALPOST_GOAL_CACHE_MB: memory for loaded goals per process; 0 keeps none."""

    model_config = SettingsConfigDict(env_prefix="GOALPOST_")

    goal_cache_mb: int = Field(default=DEFAULT_CACHE_MB, ge=0)


def estimated_bytes(goal: Any) -> int:
    """What a loaded goal weighs in memory, about: constant time."""
    return BASE_BYTES + EVENT_BYTES * max(0, int(getattr(goal, "version", 1)) - 1)


class GoalCache(Cache[UUID, Any]):
    """Least recently loaded first out, once the goals' weight passes `max_bytes` or
    their number passes `max_goals`. Safe to share between threads."""

    def __init__(
        self,
        max_bytes: int,
        max_goals: int,
        weigh: Callable[[Any], int] = estimated_bytes,
    ) -> None:
        super().__init__()
        self.max_bytes = max_bytes
        self.max_goals = max_goals
        self._weigh = weigh
        self._entries: OrderedDict[UUID, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def estimated_bytes(self) -> int:
        return self._bytes

    def goal_ids(self) -> list[UUID]:
        """Least recently loaded first."""
        with self._lock:
            return list(self._entries)

    def get(self, key: UUID, *, evict: bool = False) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                raise KeyError(key)
            value, weight = entry
            if evict:
                del self._entries[key]
                self._bytes -= weight
            else:
                self._entries.move_to_end(key)
            return value

    def reweigh(self, key: UUID) -> None:
        """Weigh a goal again after the repository brought it up to date in place."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._keep(key, entry[0], entry[1])

    def put(self, key: UUID, value: Any | None) -> None:
        if value is None:
            return
        with self._lock:
            entry = self._entries.get(key)
            self._keep(key, value, entry[1] if entry is not None else 0)

    def _keep(self, key: UUID, value: Any, old_weight: int) -> None:
        weight = self._weigh(value)
        self._entries[key] = (value, weight)
        self._entries.move_to_end(key)
        self._bytes += weight - old_weight
        # Oldest first; a goal heavier than the whole budget is not kept either.
        while self._entries and (
            self._bytes > self.max_bytes or len(self._entries) > self.max_goals
        ):
            _, (_, dropped) = self._entries.popitem(last=False)
            self._bytes -= dropped


class GoalRepository(Repository[UUID]):
    """The library's repository, weighing each goal again once a load has fast-forwarded it,
    and serving a command's first attempt from memory as it stands (ADR 46)."""

    def get(self, aggregate_id: UUID, **kwargs: Any) -> Any:
        aggregate = super().get(aggregate_id, **kwargs)
        if kwargs.get("version") is None and isinstance(self.cache, GoalCache):
            self.cache.reweigh(aggregate_id)
        return aggregate

    @contextmanager
    def _fast_forward_lock(self, aggregate_id: UUID) -> Iterator[None]:
        """The library's lock on bringing one goal up to date: held, a copy is never taken
        half-way through another thread's fast-forward of the same goal, nor put over it."""
        lock = self._use_fastforward_lock(aggregate_id)
        try:
            with lock:
                yield
        finally:
            self._disuse_fastforward_lock(aggregate_id)

    def get_as_kept(self, aggregate_id: UUID, **kwargs: Any) -> Any:
        """A copy of the goal as this process last saw it, without asking the store
        whether it has changed since; a goal not kept is loaded from the store. Only for
        a decision whose save checks every goal it read is still at this version."""
        if self.cache is not None:
            with self._fast_forward_lock(aggregate_id):
                try:
                    return deepcopy(self.cache.get(aggregate_id))
                except KeyError:
                    pass
        return self.get(aggregate_id, **kwargs)

    def keep_saved(self, aggregate: Any) -> None:
        """Keep a copy of a goal just saved, unless a later version is kept already: the
        next command on it starts from here rather than reading back its own event."""
        if self.cache is None:
            return
        with self._fast_forward_lock(aggregate.id):
            try:
                kept = self.cache.get(aggregate.id)
            except KeyError:
                kept = None
            if kept is None or kept.version < aggregate.version:
                # A copy: the command may go on using its own after the save.
                self.cache.put(aggregate.id, deepcopy(aggregate))


def bounded_in_bytes(library: Repository[UUID], env: Mapping[str, str]) -> Repository[UUID]:
    """The library's repository, with a cache bounded in bytes where it made one by count."""
    repository = GoalRepository(
        event_store=library.event_store,
        snapshot_store=library.snapshot_store,
        fastforward=library.fastforward,
        fastforward_skipping=library.fastforward_skipping,
        deepcopy_from_cache=library.deepcopy_from_cache,
    )
    configured = env.get(CACHE_MB_ENV)
    megabytes = int(configured) if configured else GoalCacheSettings().goal_cache_mb
    if library.cache is not None and megabytes > 0:
        max_goals = int(env.get(MAXSIZE_ENV) or 0)
        repository.cache = GoalCache(
            megabytes * 1024 * 1024, max_goals if max_goals > 0 else 1_000_000
        )
    return repository
