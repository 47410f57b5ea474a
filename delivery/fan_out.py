"""Webhook fan-out: each new event reaches only the subscriptions it matches (ADR 43).

Without it every subscription walks every event: with a thousand subscriptions, each
event means a thousand claims, page reads and position writes, and the one subscriber
that wants the event waits in line behind the others. The fan-out reads the new events
once, looks up the subscriptions each matches in an index of their filters (by type,
owner and cycle), and moves every known subscription that matches none of them past
those events in one statement. What is left behind the log is what has something to
send, and the dispatcher's ordinary claims deliver it, in order, at least once.

The index is a cache of the subscription tables, reloaded when their revision changes;
the position the fan-out has read up to lives in one process only and is never needed
by another: any dispatcher may fan out any range, and doing it twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from uuid import UUID

from application.ledger import GoalLedger
from delivery.cloud_events import GOAL_TOPICS, TOPICS_BY_TYPE
from storage.subscription_index import SubscriptionFilter, filters, revision, skip_unmatched
from storage.subscriptions import WebhookStore

# A topic no event has: a subscription whose types all left the code matches nothing.
NO_TOPIC = "goalpost:no-such-event"

Scope = tuple[str | None, str | None]
"""A goal's owner and cycle."""


class FilterIndex:
    """Subscriptions by each filter's value; None stands for "any" (no filter)."""

    def __init__(self, subscriptions: Iterable[SubscriptionFilter]) -> None:
        self.ids: set[UUID] = set()
        self._by_topic: dict[str | None, set[UUID]] = {None: set()}
        self._by_owner: dict[str | None, set[UUID]] = {None: set()}
        self._by_cycle: dict[str | None, set[UUID]] = {None: set()}
        self._memo: dict[tuple[str, str | None, str | None], frozenset[UUID]] = {}
        for sub in subscriptions:
            self.ids.add(sub.id)
            topics: set[str | None] = {TOPICS_BY_TYPE.get(t, NO_TOPIC) for t in sub.event_types}
            for topic in topics or {None}:
                self._by_topic.setdefault(topic, set()).add(sub.id)
            self._by_owner.setdefault(sub.owner, set()).add(sub.id)
            self._by_cycle.setdefault(sub.cycle_id, set()).add(sub.id)

    def matching(self, topic: str, owner: str | None, cycle: str | None) -> frozenset[UUID]:
        """The subscriptions an event of this topic, on a goal of this scope, goes to."""
        key = (topic, owner, cycle)
        found = self._memo.get(key)
        if found is None:
            found = frozenset(
                self._any_or(self._by_topic, topic)
                & self._any_or(self._by_owner, owner)
                & self._any_or(self._by_cycle, cycle)
            )
            self._memo[key] = found
        return found

    @staticmethod
    def _any_or(index: dict[str | None, set[UUID]], value: str | None) -> set[UUID]:
        unfiltered = index[None]
        if value is None:
            return unfiltered
        return unfiltered | index.get(value, set())


class FanOut:
    """Moves subscriptions past the events they do not match, many at a time."""

    def __init__(
        self,
        ledger: GoalLedger,
        store: WebhookStore,
        scope_of: Callable[[UUID], Scope],
        *,
        page: int = 1000,
        pages_a_round: int = 20,
    ) -> None:
        self._ledger = ledger
        self._store = store
        self._scope_of = scope_of
        self._page = page
        self._pages_a_round = pages_a_round
        self._revision: tuple[int, str] | None = None
        self._index = FilterIndex(())
        # Where this process has fanned out to; below it, subscriptions walk on their own.
        self._low: int | None = None

    @property
    def index(self) -> FilterIndex:
        return self._index

    def refresh(self) -> None:
        """Reload the index if a subscription was added or deleted since the last look."""
        current = revision(self._store)
        if current == self._revision:
            return
        subscriptions = filters(self._store)
        self._index = FilterIndex(subscriptions)
        self._revision = current
        if self._low is None:
            active = [s.position for s in subscriptions if s.active]
            if active:
                self._low = min(active)

    def route(
        self,
        head: int | None = None,
        on_matched: Callable[[frozenset[UUID]], None] | None = None,
    ) -> int:
        """Fan out the events up to `head` (the log's, by default), a bounded number of
        pages at a time; how many subscription positions moved. `on_matched` hears which
        subscriptions the events match before the others are moved, so their deliveries
        need not wait for the move."""
        self.refresh()
        if head is None:
            head = self._ledger.recorder.max_notification_id() or 0
        if not self._index.ids:
            # Nobody to move: a subscription added later starts at the head of its day.
            self._low = head
            return 0
        low = head if self._low is None else self._low
        moves: list[tuple[list[UUID], int, int]] = []
        wanted: set[UUID] = set()
        for _ in range(self._pages_a_round):
            if low >= head:
                break
            stored = self._ledger.recorder.select_notifications(
                start=low,
                stop=head,
                limit=self._page,
                topics=GOAL_TOPICS,
                inclusive_of_start=False,
            )
            # Positions commit in order (ADR 16): a short page has read all up to `head`.
            high = stored[-1].id if len(stored) == self._page else head
            matched: set[UUID] = set()
            for notification in stored:
                owner, cycle = self._scope_of(UUID(str(notification.originator_id)))
                matched |= self._index.matching(notification.topic, owner, cycle)
            moves.append((list(self._index.ids - matched), low, high))
            wanted |= matched
            low = high
        if on_matched is not None and wanted:
            on_matched(frozenset(wanted))
        moved = sum(skip_unmatched(self._store, ids, start, end) for ids, start, end in moves)
        self._low = max(low, self._low or 0)
        return moved
