"""The event feed: goal events after a position, in log order, as CloudEvents."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from application.ledger import GoalLedger
from delivery.cloud_events import cloud_event


@dataclass(frozen=True)
class FeedPage:
    """A page of the feed: its events, the cursor to continue from, and the log's head."""

    events: list[dict[str, Any]]
    next_after: int
    head: int


def read_page(ledger: GoalLedger, after: int, limit: int, topics: list[str]) -> FeedPage:
    """Events after a position, in order. Positions commit in order (the save holds the
    table lock), so everything at or below the head read first is already visible: a
    page that ends early can safely move the cursor to that head."""
    head = ledger.recorder.max_notification_id() or 0
    stored = ledger.recorder.select_notifications(
        start=after, stop=head, limit=limit, topics=topics, inclusive_of_start=False
    )
    events = [cloud_event(s, ledger.mapper.to_domain_event(s)) for s in stored]  # type: ignore[arg-type]
    next_after = stored[-1].id if len(stored) == limit else max(after, head)
    return FeedPage(events=events, next_after=next_after, head=head)
