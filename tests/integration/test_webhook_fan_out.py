"""A thousand subscriptions: each event reaches exactly the ones it matches (ADR 43).

The subscriptions' filters are assorted (types, owners, cycles, none, all three); a
handful of events follows. What each receiver path gets is compared with the filter
every subscription used to apply to every event itself, and the subscriptions that match
none of the events must never have been claimed: the fan-out moved them past in bulk.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any
from uuid import UUID

from api.routes.webhooks import check_secret
from application.ledger import GoalLedger
from delivery.cloud_events import GOAL_TOPICS, TOPICS_BY_TYPE
from delivery.dispatcher import WebhookDispatcher
from delivery.feed import read_page
from storage.subscription_index import skip_unmatched
from storage.subscriptions import WebhookSpec, WebhookStore
from storage.views import ViewDatabase
from tests.integration.test_webhooks import Quarter, fast_settings
from tests.webhook_receiver import receiving

SUBSCRIPTIONS = 1000


def _type(fragment: str) -> str:
    [name] = [t for t in TOPICS_BY_TYPE if fragment in t]
    return name


def assorted_filters(count: int) -> list[dict[str, Any]]:
    pick = random.Random(13).choice
    types = [
        [],
        [_type("key_result.check_in_recorded")],
        [_type("objective.created")],
        [_type("key_result.check_in_recorded"), _type("objective.created")],
        [_type("cycle.opened")],
        ["goalpost.no_longer.made.v1"],
    ]
    owners = [None, None, "analyst", "broker", "coach"]
    cycles = [None, None, "2026-Q3", "2026-Q4", "2027-Q1"]
    return [
        {"event_types": pick(types), "owner": pick(owners), "cycle_id": pick(cycles)}
        for _ in range(count)
    ]


def test_each_event_reaches_exactly_the_subscriptions_it_matches(ledger: GoalLedger) -> None:
    quarter = Quarter(ledger, owners=("analyst", "broker"))
    ledger.open_cycle(
        actor="ops", key="2026-Q4", starts_on=date(2026, 10, 1), ends_on=date(2026, 12, 31)
    )
    store = WebhookStore(ViewDatabase(ledger))
    start = ledger.recorder.max_notification_id() or 0
    with receiving() as receiver:
        specs = assorted_filters(SUBSCRIPTIONS)
        webhooks = [
            store.add(
                WebhookSpec(
                    created_by="hrms",
                    url=receiver.url(f"/s/{n}"),
                    secret=check_secret(None),
                    position=start,
                    **spec,
                )
            )
            for n, spec in enumerate(specs)
        ]
        created = _claimed_at(store)
        # A handful of events: check-ins of two owners, a Q4 objective, a new cycle.
        quarter.check_ins("analyst", 2)
        quarter.check_ins("broker", 1)
        ledger.create_objective(
            actor="ops", cycle_id="2026-Q4", title="Q4", owner="analyst", kind="committed"
        )
        ledger.open_cycle(
            actor="ops", key="2027-Q1", starts_on=date(2027, 1, 1), ends_on=date(2027, 3, 31)
        )
        head = ledger.recorder.max_notification_id() or 0
        events = read_page(ledger, start, 100, GOAL_TOPICS).events
        assert len(events) >= 5

        dispatcher = WebhookDispatcher(ledger, fast_settings())
        try:
            delivered = dispatcher.run_once()

            # The filter each subscription applied to every event before the index.
            def naive(n: int) -> list[str]:
                webhook = webhooks[n]
                wanted_types = {TOPICS_BY_TYPE.get(t) for t in webhook.event_types}
                return [
                    str(event["id"])
                    for event, topic in zip(events, _topics(ledger, start, head), strict=True)
                    if (not webhook.event_types or topic in wanted_types)
                    and dispatcher._wanted(webhook.owner, webhook.cycle_id, event)
                ]

            expected = {n: naive(n) for n in range(SUBSCRIPTIONS)}
        finally:
            dispatcher.close()
        got = {
            n: [d.webhook_id for d in receiver.received(f"/s/{n}")] for n in range(SUBSCRIPTIONS)
        }

    assert got == expected
    assert delivered == sum(len(ids) for ids in expected.values())
    # The filters are assorted enough for both kinds to be many.
    idle = {webhooks[n].id for n, ids in expected.items() if not ids}
    assert 100 < len(idle) < SUBSCRIPTIONS - 100, len(idle)
    # Every subscription stands at the head; those wanting nothing were never claimed.
    claimed = _claimed_at(store)
    for webhook in webhooks:
        current = store.get(webhook.id)
        assert current is not None and current.position == head
        assert (claimed[webhook.id] == created[webhook.id]) == (webhook.id in idle)


def _topics(ledger: GoalLedger, start: int, head: int) -> list[str]:
    stored = ledger.recorder.select_notifications(
        start=start, stop=head, limit=100, topics=GOAL_TOPICS, inclusive_of_start=False
    )
    return [s.topic for s in stored]


def _claimed_at(store: WebhookStore) -> dict[UUID, str]:
    with store.database.bare_transaction() as tx:
        rows = tx.query("SELECT webhook_id, claimed_at FROM {webhook_deliveries}")
    return {UUID(str(r["webhook_id"])): str(r["claimed_at"]) for r in rows}


def test_a_lease_holder_keeps_its_lease_when_the_fan_out_moved_it_ahead(
    ledger: GoalLedger,
) -> None:
    Quarter(ledger).check_ins("analyst", 3)
    head = ledger.recorder.max_notification_id() or 0
    store = WebhookStore(ViewDatabase(ledger))
    webhook = store.add(
        WebhookSpec(
            "hrms", "https://hooks.example.com/h", check_secret(None), [], "outsider", None, 0
        )
    )
    lease = store.claim("test", head, 30.0)
    assert lease is not None and lease.webhook.id == webhook.id
    assert skip_unmatched(store, [webhook.id], 0, head) == 1
    # The holder, walking the same events, skips past a lower position: a no-op that
    # keeps its lease rather than reading as a lease lost.
    renewed = store.skipped(lease, head - 1, 30.0)
    assert renewed is not None
    current = store.get(webhook.id)
    assert current is not None and current.position == head
    # A subscription behind `low` may want an earlier event: the fan-out leaves it.
    other = store.add(
        WebhookSpec(
            "hrms", "https://hooks.example.com/o", check_secret(None), [], "outsider", None, 1
        )
    )
    assert skip_unmatched(store, [other.id], 2, head) == 0
    assert (store.get(other.id) or other).position == 1


def test_a_claim_among_given_subscriptions_takes_only_one_of_them(ledger: GoalLedger) -> None:
    Quarter(ledger).check_ins("analyst", 2)
    head = ledger.recorder.max_notification_id() or 0
    store = WebhookStore(ViewDatabase(ledger))
    first, second = (
        store.add(
            WebhookSpec("hrms", f"https://hooks.example.com/{n}", check_secret(None), [], None,
                        None, 0)
        )
        for n in range(2)
    )  # fmt: skip
    assert store.claim("test", head, 30.0, among=[UUID(int=7)]) is None
    lease = store.claim("test", head, 30.0, among=[second.id])
    assert lease is not None and lease.webhook.id == second.id
    # Leased already: not again, among it or not; the other is still there for anyone.
    assert store.claim("test", head, 30.0, among=[second.id]) is None
    other = store.claim("test", head, 30.0)
    assert other is not None and other.webhook.id == first.id
