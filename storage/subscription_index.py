"""What the webhook fan-out reads and writes of the subscription tables (ADR 43).

The fan-out keeps an index of every subscription's filters in memory and reloads it when
the tables change; the tables stay the only truth. It reads the filters with one query, a
cheap revision of them with another, and moves many subscriptions past events none of
them match with one statement, without leasing them.

Filters never change in place (a subscription is added or deleted, never edited), so an
index that missed a change is slow for the subscriptions it does not know, never wrong
for those it does: a subscription it does not list is left to walk the log itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from storage.subscriptions import WebhookStore

_FILTERS = (
    "SELECT w.id, w.event_types, w.owner, w.cycle_id, d.position, d.state"
    " FROM {webhooks} w JOIN {webhook_deliveries} d ON d.webhook_id = w.id"
)
_REVISION = "SELECT count(*) AS n, max(created_at) AS latest FROM {webhooks}"
# The ids travel as one parameter, so the statement's text is one whatever their number:
# a PostgreSQL array literal, or a JSON list on SQLite.
_SKIP = {
    "postgresql": (
        "UPDATE {webhook_deliveries} SET position = %s"
        " WHERE position >= %s AND position < %s AND webhook_id = ANY(%s::uuid[])"
        " RETURNING webhook_id"
    ),
    "sqlite": (
        "UPDATE {webhook_deliveries} SET position = %s"
        " WHERE position >= %s AND position < %s"
        " AND webhook_id IN (SELECT value FROM json_each(%s))"
        " RETURNING webhook_id"
    ),
}


@dataclass(frozen=True)
class SubscriptionFilter:
    """One subscription as the fan-out sees it: what it asked for and where it stands."""

    id: UUID
    event_types: tuple[str, ...]
    owner: str | None
    cycle_id: str | None
    position: int
    active: bool


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def filters(store: WebhookStore) -> list[SubscriptionFilter]:
    """Every subscription's filters and position."""
    store.ensure_tables()
    with store.database.bare_transaction() as tx:
        rows = tx.query(_FILTERS)
    return [
        SubscriptionFilter(
            id=_uuid(row["id"]),
            event_types=tuple(
                str(t)
                for t in (
                    json.loads(row["event_types"])
                    if isinstance(row["event_types"], str)
                    else row["event_types"]
                )
            ),
            owner=row["owner"],
            cycle_id=row["cycle_id"],
            position=int(row["position"]),
            active=row["state"] == "active",
        )
        for row in rows
    ]


def revision(store: WebhookStore) -> tuple[int, str]:
    """Changes when a subscription is added or deleted: the count and the latest creation.

    A deletion and an addition between two looks still change the latest creation time; a
    change this misses costs the fan-out speed for that subscription, not correctness.
    """
    store.ensure_tables()
    with store.database.bare_transaction() as tx:
        row = tx.query(_REVISION)[0]
    return int(row["n"]), str(row["latest"])


def skip_unmatched(store: WebhookStore, ids: Sequence[UUID], low: int, high: int) -> int:
    """Move the given subscriptions that stand in [low, high) to `high`; how many moved.

    Only for subscriptions that match no event in (low, high]: one standing at or after
    `low` then has nothing to be sent up to `high`, whoever holds its lease. One behind
    `low` may want an earlier event, so it is left where it is. Positions only grow.
    """
    if high <= low or not ids:
        return 0
    store.ensure_tables()
    dialect = store.database.dialect
    if dialect == "postgresql":
        listed: object = "{" + ",".join(str(i) for i in ids) + "}"
    else:
        listed = [str(i) for i in ids]
    # Not waiting for the disk, like every advance past unwanted events: a position the
    # server forgets is walked again, and the walk skips the same events.
    with store.database.bare_transaction() as tx:
        if dialect == "postgresql":
            tx.execute("SET LOCAL synchronous_commit TO OFF")
        return len(tx.query(_SKIP[dialect], (high, low, high, listed)))
