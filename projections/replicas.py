"""Aggregates as they stood at the projection's position in the log."""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol, TypeVar, cast, runtime_checkable
from uuid import UUID

from application.ledger import GoalLedger, replay
from domain.base import LedgerAggregate

A = TypeVar("A", bound=LedgerAggregate)


@runtime_checkable
class PositionIndex(Protocol):
    def version_at_position(self, originator_id: UUID, position: int) -> int | None: ...


class Replicas:
    """The goals a projection has seen, advanced event by event in log order.

    Read models take "before" and "after" from the domain's own aggregates, so scores,
    plans and flags mean exactly what they mean to the domain. A goal not in memory is
    loaded as of the current position (never later), so a rebuild sees what a live
    worker saw.
    """

    def __init__(self, ledger: GoalLedger, maxsize: int = 20_000) -> None:
        self._ledger = ledger
        self._maxsize = maxsize
        self._cache: OrderedDict[UUID, LedgerAggregate] = OrderedDict()
        recorder = ledger.recorder
        if not isinstance(recorder, PositionIndex):
            raise TypeError("replicas need a recorder that indexes versions by position")
        self._index: PositionIndex = recorder

    def clear(self) -> None:
        """Forget everything: after a rolled-back batch the cache may be ahead of the store."""
        self._cache.clear()

    def get(self, aggregate_id: UUID, position: int) -> LedgerAggregate | None:
        """The goal as of `position` (None if it did not exist yet)."""
        cached = self._cache.get(aggregate_id)
        if cached is not None:
            self._cache.move_to_end(aggregate_id)
            return cached
        version = self._index.version_at_position(aggregate_id, position)
        if version is None:
            return None
        loaded: LedgerAggregate = self._ledger.repository.get(
            aggregate_id, version=version, projector_func=replay
        )
        self._remember(loaded)
        return loaded

    def after(
        self, event: LedgerAggregate.Event | LedgerAggregate.Created, position: int
    ) -> LedgerAggregate | None:
        """The goal as it stands after `event`, once advanced by it (`position` is its own).

        A goal the event creates is made from the event, as the store would load it
        there, rather than loaded in two round trips: a rebuild meets every goal so.
        """
        if isinstance(event, LedgerAggregate.Created) and event.originator_id not in self._cache:
            created = cast(LedgerAggregate, event.mutate(None))
            self._remember(created)
            return created
        return self.get(event.originator_id, position)

    def typed(self, cls: type[A], aggregate_id: UUID, position: int) -> A | None:
        found = self.get(aggregate_id, position)
        return found if isinstance(found, cls) else None

    def advance(self, event: LedgerAggregate.Event) -> None:
        """Keep a goal in memory in step with the log; one not in memory loads when needed."""
        cached = self._cache.get(event.originator_id)
        if cached is None:
            return
        if cached.version == event.originator_version - 1:
            event.mutate(cached)
        elif cached.version < event.originator_version:
            # Out of step (should not happen in log order): load afresh when next needed.
            del self._cache[event.originator_id]

    def apply(self, event: LedgerAggregate.Event, position: int) -> LedgerAggregate:
        """Advance the goal by one event; returns it as it stands after the event."""
        current = self.get(event.originator_id, position - 1)
        if current is not None and current.version >= event.originator_version:
            # Loaded from the store already including this event (first sight mid-batch).
            return current
        advanced = cast(LedgerAggregate, event.mutate(current))
        self._remember(advanced)
        return advanced

    def _remember(self, aggregate: LedgerAggregate) -> None:
        self._cache[aggregate.id] = aggregate
        self._cache.move_to_end(aggregate.id)
        while len(self._cache) > self._maxsize:
            self._cache.popitem(last=False)
