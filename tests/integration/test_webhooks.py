"""Webhook delivery against a real HTTP receiver on 127.0.0.1: order, at least once, signed.

The dispatcher runs as `goalpost dispatch` in a subprocess, killed with SIGKILL while a
delivery is in flight, again and again; the receiver must still end with every event,
in log order, repeated only where a kill cut a delivery short (same `webhook-id`).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from api.routes.webhooks import check_secret
from application.ledger import GoalLedger
from application.stores import open_ledger
from delivery.cloud_events import GOAL_TOPICS, TOPICS_BY_TYPE
from delivery.dispatcher import DispatchSettings, WebhookDispatcher, backoff
from delivery.feed import read_page
from storage.subscriptions import Webhook, WebhookSpec, WebhookState, WebhookStore
from storage.views import ViewDatabase
from tests.webhook_receiver import Delivery, receiving

Q3 = date(2026, 7, 1)
CHECK_IN = "goalpost.key_result.check_in_recorded.v1"
# Short leases so a killed dispatcher's subscription is taken over within a second or two;
# the timeout must stay under a sixth of the lease (the settings refuse anything else).
FAST = {
    "GOALPOST_WEBHOOK_LEASE_SECONDS": "1.5",
    "GOALPOST_WEBHOOK_TIMEOUT_SECONDS": "0.2",
    "GOALPOST_WEBHOOK_RETRY_BASE_SECONDS": "0.05",
    "GOALPOST_WEBHOOK_RETRY_CAP_SECONDS": "0.2",
    "GOALPOST_WEBHOOK_MAX_FAILURES": "1000",
    "GOALPOST_WEBHOOK_POLL_SECONDS": "0.1",
    # The receivers listen on 127.0.0.1.
    "GOALPOST_WEBHOOK_ALLOW_PRIVATE": "true",
}
KILLS = 4
WAIT = 30.0


def fast_settings(**overrides: Any) -> DispatchSettings:
    values: dict[str, Any] = {
        "lease_seconds": 5.0,
        "timeout_seconds": 0.5,
        "retry_base_seconds": 0.01,
        "retry_cap_seconds": 0.02,
        "poll_seconds": 0.05,
        "allow_private": True,
        **overrides,
    }
    return DispatchSettings(**values)


class Quarter:
    """2026-Q3 with one objective and key result per owner, written straight to the ledger."""

    def __init__(self, ledger: GoalLedger, owners: tuple[str, ...] = ("analyst",)) -> None:
        self.ledger = ledger
        ledger.open_cycle(actor="ops", key="2026-Q3", starts_on=Q3, ends_on=date(2026, 9, 30))
        self.objectives: dict[str, UUID] = {}
        self.key_results: dict[str, UUID] = {}
        for owner in owners:
            self.add(owner, "2026-Q3")

    def add(self, owner: str, cycle: str) -> UUID:
        objective = self.ledger.create_objective(
            actor="ops", cycle_id=cycle, title=f"{owner}'s", owner=owner, kind="committed"
        ).id
        key_result = self.ledger.create_key_result(
            actor="ops",
            objective_id=objective,
            title="NPS from 32 to 50",
            owner=owner,
            unit="points",
            direction="increase",
            baseline="32",
            target="50",
            measurement_source="survey",
            measurement_query="promoters - detractors",
            effective_on=Q3,
        ).id
        self.objectives[owner] = objective
        self.key_results[owner] = key_result
        return key_result

    def check_ins(self, owner: str, count: int, start: int = 0) -> None:
        for n in range(start, start + count):
            self.ledger.record_check_in(
                actor=owner,
                key_result_id=self.key_results[owner],
                value=str(32 + n % 18),
                confidence="on_track",
                effective_on=Q3 + timedelta(days=n % 90),
            )


def log_ids(ledger: GoalLedger, types: list[str] | None = None) -> list[str]:
    """Every goal event's CloudEvent id in log order (the expected `webhook-id`s)."""
    topics = [TOPICS_BY_TYPE[t] for t in types] if types else GOAL_TOPICS
    ids: list[str] = []
    cursor = 0
    while True:
        page = read_page(ledger, cursor, 500, topics)
        ids.extend(str(e["id"]) for e in page.events)
        if not page.events:
            return ids
        cursor = page.next_after


def check_delivered_in_order(deliveries: list[Delivery], expected: list[str], secret: str) -> int:
    """Every expected event arrived, first arrivals in log order, each signed; the repeats."""
    seen: set[str] = set()
    first: list[str] = []
    highest = 0
    repeats = 0
    for delivery in deliveries:
        payload = delivery.verify(secret)  # raises unless the signature holds
        assert payload["id"] == delivery.webhook_id
        if delivery.webhook_id in seen:
            repeats += 1
            continue
        # A new event never arrives before one that precedes it in the log.
        assert delivery.position > highest, (delivery.position, highest)
        highest = delivery.position
        seen.add(delivery.webhook_id)
        first.append(delivery.webhook_id)
    assert first == expected
    return repeats


def subscribe(ledger: GoalLedger, url: str, **spec: Any) -> tuple[WebhookStore, Webhook]:
    store = WebhookStore(ViewDatabase(ledger))
    fields: dict[str, Any] = {
        "created_by": "hrms",
        "url": url,
        "secret": check_secret(None),
        "event_types": [],
        "owner": None,
        "cycle_id": None,
        "position": 0,
        **spec,
    }
    return store, store.add(WebhookSpec(**fields))


def dispatcher_env(pg_url: str) -> dict[str, str]:
    return {**os.environ, "GOALPOST_DATABASE_URL": pg_url, **FAST}


# Importing the CLI takes seconds (more on a busy machine); this parent imports it once
# and forks a fresh `goalpost dispatch` process for each line it reads, printing its pid.
FORKER = """
import os, signal, sys
from cli.main import app
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # killed children are reaped at once
for _ in sys.stdin:
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        code = 0
        try:
            app(["dispatch"])
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 1
        os._exit(code)
    print(pid, flush=True)
"""
# A dispatcher started the ordinary way, imported ahead and started on cue.
STANDBY = "import sys; from cli.main import app; sys.stdin.readline(); app()"


class Forker:
    def __init__(self, pg_url: str, log: Path) -> None:
        with log.open("ab") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-c", FORKER],
                env=dispatcher_env(pg_url),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
            )

    def dispatcher(self) -> int:
        """A new dispatcher process; its pid."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(b"fork\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def close(self) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)
        self.process.stdout.close()


def kill(pid: int) -> None:
    """SIGKILL, then wait until the process is gone (its parent reaps it at once)."""
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)
    raise AssertionError(f"dispatcher {pid} survived SIGKILL")


@pytest.mark.postgres
def test_a_dispatcher_killed_mid_delivery_again_and_again_loses_and_reorders_nothing(
    pg_ledger: GoalLedger, pg_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "dispatch.log"
    forker = Forker(pg_url, log)
    with log.open("ab") as stderr:
        last = subprocess.Popen(
            [sys.executable, "-c", STANDBY, "dispatch"],
            env=dispatcher_env(pg_url),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    # A slow receiver (30 ms a request), so a kill lands while a delivery is in flight.
    with receiving(delay=0.03) as receiver:
        # HRMS subscribes to everything from the start of the log; a quarter is written.
        quarter = Quarter(pg_ledger)
        store, webhook = subscribe(pg_ledger, receiver.url("/hrms"))
        quarter.check_ins("analyst", 20)

        # A dispatcher is killed right after a delivery arrives, before it hears the
        # answer; more check-ins come in between kills. Each next one waits for the
        # killed one's lease to run out, then resumes from the stored position.
        try:
            for round_ in range(KILLS):
                arrived = len(receiver.received())
                pid = forker.dispatcher()
                try:
                    progressed = receiver.wait_until(lambda d, n=arrived: len(d) >= n + 6, WAIT)
                finally:
                    kill(pid)
                assert progressed, log.read_text()
                quarter.check_ins("analyst", 5, start=20 + 5 * round_)
        finally:
            forker.close()

        # A last dispatcher catches up, then stops cleanly on SIGTERM.
        expected = log_ids(pg_ledger)
        assert last.stdin is not None
        last.stdin.write(b"go\n")
        last.stdin.close()
        try:
            done = receiver.wait_until(lambda d: {x.webhook_id for x in d} >= set(expected), WAIT)
        finally:
            last.send_signal(signal.SIGTERM)
            exit_code = last.wait(timeout=15)
        assert done, log.read_text()
        assert exit_code == 0, log.read_text()

    # Every event, first arrivals in log order, all signed; repeats only of cut deliveries.
    deliveries = receiver.received()
    repeats = check_delivered_in_order(deliveries, expected, webhook.secret)
    # At least one kill cut a delivery short (a timeout under load may add more).
    assert repeats >= 1, repeats
    # The store acknowledged each event once and stands at the last one.
    final = store.get(webhook.id)
    assert final is not None
    assert final.delivered == len(expected)
    assert final.position == deliveries[-1].position
    assert final.state is WebhookState.ACTIVE and final.attempts == 0


def test_subscriptions_get_only_the_types_owners_and_cycles_they_asked_for(
    ledger: GoalLedger,
) -> None:
    with receiving() as receiver:
        # The analyst and the broker each own an objective and key result in Q3; the analyst
        # also has one in Q4.
        quarter = Quarter(ledger, owners=("analyst", "broker"))
        ledger.open_cycle(
            actor="ops", key="2026-Q4", starts_on=date(2026, 10, 1), ends_on=date(2026, 12, 31)
        )
        _, checkins = subscribe(ledger, receiver.url("/check-ins"), event_types=[CHECK_IN])
        _, analysts = subscribe(ledger, receiver.url("/analyst"), owner="analyst")
        _, q4 = subscribe(ledger, receiver.url("/q4"), cycle_id="2026-Q4")
        _, analyst_q3 = subscribe(
            ledger, receiver.url("/analyst-q3"), owner="analyst", cycle_id="2026-Q3"
        )
        quarter.check_ins("analyst", 3)
        quarter.check_ins("broker", 2)
        q4_objective = ledger.create_objective(
            actor="ops", cycle_id="2026-Q4", title="Q4", owner="analyst", kind="committed"
        ).id

        dispatcher = WebhookDispatcher(ledger, fast_settings())
        try:
            delivered = dispatcher.run_once()
        finally:
            dispatcher.close()

    def originators(path: str) -> list[str]:
        return [d.webhook_id.rsplit(":", 1)[0] for d in receiver.received(path)]

    ana_goals = {str(quarter.objectives["analyst"]), str(quarter.key_results["analyst"])}
    q4_cycle = str(ledger.get_cycle("2026-Q4").id)
    # Check-ins only, of both owners, in log order.
    assert [d.webhook_id for d in receiver.received("/check-ins")] == log_ids(ledger, [CHECK_IN])
    assert len(receiver.received("/check-ins")) == 5
    # The analyst's goals only: her Q3 objective and key result, then her Q4 objective.
    assert set(originators("/analyst")) == {*ana_goals, str(q4_objective)}
    assert [d.webhook_id for d in receiver.received("/analyst")] == [
        i for i in log_ids(ledger) if i.rsplit(":", 1)[0] in {*ana_goals, str(q4_objective)}
    ]
    # Q4: the cycle's own events and its objective, nothing of Q3.
    assert set(originators("/q4")) == {q4_cycle, str(q4_objective)}
    # Both filters at once: the analyst's Q3 goals only.
    assert set(originators("/analyst-q3")) == ana_goals
    assert delivered == sum(
        len(receiver.received(p)) for p in ("/check-ins", "/analyst", "/q4", "/analyst-q3")
    )
    # Subscriptions stand at the head, whatever they skipped.
    head = ledger.recorder.max_notification_id()
    store = WebhookStore(ViewDatabase(ledger))
    for webhook in (checkins, analysts, q4, analyst_q3):
        current = store.get(webhook.id)
        assert current is not None and current.position == head


def test_a_failing_receiver_is_retried_with_backoff_then_paused_until_resumed(
    ledger: GoalLedger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="goalpost.webhooks")
    with receiving() as receiver:
        receiver.status = lambda _path: 503
        Quarter(ledger)
        store, webhook = subscribe(ledger, receiver.url("/down"))
        expected = log_ids(ledger)
        dispatcher = WebhookDispatcher(ledger, fast_settings(max_failures=3))
        try:
            # The first event fails; it is due again after a jittered, capped delay.
            dispatcher.run_once()
            failing = store.get(webhook.id)
            assert failing is not None
            assert failing.state is WebhookState.ACTIVE and failing.attempts == 1
            assert failing.last_error is not None and failing.last_error.startswith("HTTP 503")
            assert failing.next_attempt_at is not None and failing.position == 0
            # The operator's log says so too: which subscription, status, event, when next.
            attempt = [r.getMessage() for r in caplog.records if str(webhook.id) in r.getMessage()]
            assert len(attempt) == 1
            first = receiver.received()[0].position
            assert f"attempt 1 failed (status 503, event {first}): HTTP 503" in attempt[0]
            assert "next attempt at " in attempt[0]

            # Two more failures in a row: paused, with nothing more scheduled.
            for _ in range(100):
                current = store.get(webhook.id)
                assert current is not None
                if current.state is WebhookState.PAUSED:
                    break
                assert current.next_attempt_at is not None
                # The retry is due at a time; there is nothing else to wait on.
                due = current.next_attempt_at - store.clock.now()
                time.sleep(max(0.0, due.total_seconds()))
                dispatcher.run_once()
            paused = store.get(webhook.id)
            assert paused is not None and paused.state is WebhookState.PAUSED
            assert paused.attempts == 3 and paused.next_attempt_at is None
            # Only the first event was ever tried: order holds even while failing.
            assert {d.webhook_id for d in receiver.received()} == {expected[0]}
            assert len(receiver.received()) == 3

            # Paused stays paused; resumed, it delivers everything from where it stopped.
            assert dispatcher.run_once() == 0 and len(receiver.received()) == 3
            receiver.status = lambda _path: 204
            resumed = store.resume(webhook.id)
            assert resumed is not None and resumed.state is WebhookState.ACTIVE
            assert dispatcher.run_once() == len(expected)
        finally:
            dispatcher.close()
    after = store.get(webhook.id)
    assert after is not None and after.attempts == 0 and after.delivered == len(expected)
    # Delivering again clears the error: it no longer describes the subscription.
    assert after.last_error is None
    # Each failed attempt was logged, the third with the pause.
    logged = [r.getMessage() for r in caplog.records if str(webhook.id) in r.getMessage()]
    assert len(logged) == 3 and "paused after 3 failed attempts in a row" in logged[-1]
    check_delivered_in_order(
        [d for d in receiver.received() if d.status < 300], expected, webhook.secret
    )


def test_a_receiver_that_answers_410_gone_pauses_its_subscription_at_once(
    ledger: GoalLedger,
) -> None:
    with receiving() as receiver:
        receiver.status = lambda _path: 410
        Quarter(ledger)
        store, webhook = subscribe(ledger, receiver.url("/gone"))
        dispatcher = WebhookDispatcher(ledger, fast_settings())
        try:
            dispatcher.run_once()
        finally:
            dispatcher.close()
    gone = store.get(webhook.id)
    assert gone is not None and gone.state is WebhookState.PAUSED and gone.attempts == 1
    assert len(receiver.received()) == 1


@pytest.mark.parametrize("allow_private", [False, True])
def test_a_name_resolving_to_a_private_address_gets_nothing_unless_allowed(
    ledger: GoalLedger, allow_private: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """As a host name that resolved publicly when subscribed, then to the inside (rebinding)."""
    caplog.set_level(logging.WARNING, logger="goalpost.webhooks")
    with receiving() as receiver:
        Quarter(ledger)
        url = receiver.url("/inside").replace("127.0.0.1", "localhost")
        store, webhook = subscribe(ledger, url)
        dispatcher = WebhookDispatcher(ledger, fast_settings(allow_private=allow_private))
        try:
            dispatcher.run_once()
        finally:
            dispatcher.close()
    found = store.get(webhook.id)
    assert found is not None
    if allow_private:
        assert len(receiver.received()) == len(log_ids(ledger))
        assert found.attempts == 0
    else:
        assert receiver.received() == []
        assert found.attempts == 1 and found.position == 0
        # The service reads why, but not what an inside name resolves to.
        error = found.last_error or ""
        assert "destination refused: localhost resolves to no public address" in error
        assert "GOALPOST_WEBHOOK_ALLOW_PRIVATE" in error
        assert "127.0.0.1" not in error and "::1" not in error
        # The operator's log has the addresses.
        assert any("resolves to 127.0.0.1" in r.getMessage() for r in caplog.records)


@pytest.mark.postgres
def test_two_dispatchers_at_once_never_interleave_one_subscription(pg_url: str) -> None:
    setup = open_ledger(pg_url, create_tables=True)
    ledgers = [open_ledger(pg_url) for _ in range(2)]
    stop = threading.Event()
    try:
        with receiving(delay=0.005) as receiver:
            # Three services subscribe; two dispatcher processes (separate pools) run.
            quarter = Quarter(setup)
            hooks = [subscribe(setup, receiver.url(f"/s{n}"))[1] for n in range(3)]
            # Generous timeouts: on a busy test machine a request that times out is sent
            # again while the receiver may still be answering the first (at least once),
            # which is not the overlap of two dispatchers this test is about.
            settings = fast_settings(concurrency=3, timeout_seconds=2.0, lease_seconds=15.0)
            dispatchers = [WebhookDispatcher(ledger, settings) for ledger in ledgers]
            threads = [threading.Thread(target=d.run_forever, args=(stop,)) for d in dispatchers]
            for thread in threads:
                thread.start()
            # Check-ins keep coming while they deliver.
            quarter.check_ins("analyst", 60)
            expected = log_ids(setup)
            for n in range(3):
                assert receiver.wait_until(
                    lambda d, p=f"/s{n}": (
                        len({x.webhook_id for x in d if x.path == p}) >= len(expected)
                    ),
                    WAIT,
                )
            stop.set()
            for thread in threads:
                thread.join(timeout=10)
            for dispatcher in dispatchers:
                dispatcher.close()
        # Never two requests in flight for one subscription, and always in log order.
        for n, hook in enumerate(hooks):
            path = f"/s{n}"
            assert receiver.max_in_flight[path] == 1
            assert check_delivered_in_order(receiver.received(path), expected, hook.secret) == 0
    finally:
        stop.set()
        for ledger in (*ledgers, setup):
            ledger.close()


def test_the_default_settings_let_a_delivery_end_within_its_lease(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [n for n in os.environ if n.startswith("GOALPOST_WEBHOOK_")]:
        monkeypatch.delenv(name)
    defaults = DispatchSettings()
    assert defaults.lease_seconds > 2 * defaults.request_budget
    with pytest.raises(ValueError, match="LEASE_SECONDS"):
        DispatchSettings(lease_seconds=10, timeout_seconds=5)


def test_backoff_is_capped_exponential_with_full_jitter() -> None:
    for failures in range(1, 40):
        ceiling = min(60.0, 0.5 * 2 ** (failures - 1))
        samples = [backoff(failures, 0.5, 60.0) for _ in range(50)]
        assert all(0 <= s <= ceiling for s in samples)
    assert max(backoff(30, 0.5, 60.0) for _ in range(200)) > 30  # jitter spans the range
