"""(c) Many subscribers: commit -> webhook latency with 1,000 subscriptions against 1 (ADR 43).

Run by `python -m bench.webhooks --subscribers 1000`. In one run, through one
`goalpost dispatch` process each:

- 1 subscription that matches every check-in (the baseline);
- the same plus `subscribers - 1` that match none of them (filtered by another type,
  owner or cycle, a third each), with the fan-out on (the default);
- the same with the fan-out off (`GOALPOST_WEBHOOK_FAN_OUT=false`): every subscription
  walks every event itself, as before ADR 43;
- `subscribers` subscriptions that all match: commit -> the event's arrival at the
  last of them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from typing import IO
from uuid import UUID

from api.routes.webhooks import check_secret
from application.ledger import GoalLedger
from bench.ledger import (
    ACTOR,
    Row,
    Section,
    Server,
    day,
    percentile,
    plan_key_results,
    progress,
)
from storage.subscriptions import WebhookSpec, WebhookStore
from storage.views import ViewDatabase
from tests.webhook_receiver import Delivery, Receiver, receiving

WAIT_SECONDS = 120.0
OTHER_TYPE = "goalpost.objective.created.v1"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _dispatcher(server: Server, log: IO[bytes], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "from cli.main import app; app()", "dispatch"],
        env={
            **os.environ,
            "GOALPOST_DATABASE_URL": server.ledger_url,
            # The receiver is on 127.0.0.1: a private destination, allowed here.
            "GOALPOST_WEBHOOK_ALLOW_PRIVATE": "true",
            **env,
        },
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


def _arrivals(
    receiver: Receiver, webhook_id: str, count: int, dispatcher: subprocess.Popen[bytes]
) -> list[float]:
    """Arrival times of the event's first `count` deliveries (distinct paths)."""
    found: dict[str, float] = {}

    def arrived(deliveries: list[Delivery]) -> bool:
        found.clear()
        for delivery in deliveries:
            if delivery.webhook_id == webhook_id and delivery.path not in found:
                found[delivery.path] = delivery.arrived
        return len(found) >= count

    deadline = time.monotonic() + WAIT_SECONDS
    while not receiver.wait_until(arrived, 1.0):
        if dispatcher.poll() is not None:
            raise RuntimeError(f"the dispatcher exited with {dispatcher.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{webhook_id}: {len(found)} of {count} in {WAIT_SECONDS} s")
    return sorted(found.values())


class _Run:
    def __init__(self, ledger: GoalLedger, receiver: Receiver, key_result: UUID) -> None:
        self.ledger = ledger
        self.receiver = receiver
        self.key_result = key_result
        self.store = WebhookStore(ViewDatabase(ledger))
        self.done = 0

    def subscribe(self, path: str, **spec: object) -> UUID:
        head = self.ledger.recorder.max_notification_id() or 0
        fields: dict[str, object] = {
            "created_by": "bench",
            "url": self.receiver.url(path),
            "secret": check_secret(None),
            "event_types": [],
            "owner": None,
            "cycle_id": None,
            "position": head,
            **spec,
        }
        return self.store.add(WebhookSpec(**fields)).id  # type: ignore[arg-type]

    def timed(
        self,
        dispatcher: subprocess.Popen[bytes],
        check_ins: int,
        rate: float,
        reached: int,
        pick: Callable[[list[float]], float],
    ) -> list[float]:
        """Commit -> arrival (`pick` of the `reached` arrivals) for each check-in."""
        latencies: list[float] = []
        interval = 1 / rate
        for _ in range(check_ins):
            started = time.time()
            saved = self.ledger.record_check_in(
                actor=ACTOR,
                key_result_id=self.key_result,
                value=f"{self.done % 97}.5",
                confidence="on_track",
                effective_on=day(self.done),
            )
            self.done += 1
            committed = time.time()
            times = _arrivals(
                self.receiver, f"{self.key_result}:{saved.version}", reached, dispatcher
            )
            latencies.append(pick(times) - committed)
            time.sleep(max(0.0, started + interval - time.time()))
        return latencies


def bench_subscribers(
    ledger: GoalLedger,
    server: Server,
    subscribers: int,
    check_ins: int,
    rate: float,
    unindexed_check_ins: int,
    all_matching_check_ins: int,
) -> Section:
    section = Section()
    [key_result] = plan_key_results(ledger, "Many subscribers", 1)
    others = subscribers - 1
    with receiving() as receiver, tempfile.TemporaryFile() as log:
        run = _Run(ledger, receiver, key_result)
        run.subscribe("/wanted")
        first = min

        def phase(
            env: Mapping[str, str], count: int, reached: int, pick: Callable[[list[float]], float]
        ) -> list[float]:
            dispatcher = _dispatcher(server, log, env)
            try:
                run.timed(dispatcher, 3, rate, reached, pick)  # warm up
                return run.timed(dispatcher, count, rate, reached, pick)
            except BaseException:
                log.seek(0)
                sys.stderr.write(log.read().decode(errors="replace")[-4000:])
                raise
            finally:
                dispatcher.terminate()
                dispatcher.wait(timeout=60)

        progress(f"(c) 1 subscription: {check_ins} check-ins at {rate:g}/s")
        one = phase({}, check_ins, 1, first)
        progress(f"(c) adding {others} subscriptions that match none of them")
        unmatched = []
        for n in range(others):
            choices: tuple[dict[str, object], ...] = (
                {"event_types": [OTHER_TYPE]},
                {"owner": f"nobody-{n}"},
                {"cycle_id": f"no-cycle-{n}"},
            )
            spec = choices[n % 3]
            unmatched.append(run.subscribe(f"/other/{n}", **spec))
        progress(f"(c) 1 + {others}, fan-out on: {check_ins} check-ins")
        indexed = phase({}, check_ins, 1, first)
        walked: list[float] = []
        if unindexed_check_ins:
            progress(f"(c) 1 + {others}, fan-out off: {unindexed_check_ins} check-ins")
            walked = phase({"GOALPOST_WEBHOOK_FAN_OUT": "false"}, unindexed_check_ins, 1, first)
        fanned: list[float] = []
        if all_matching_check_ins:
            for webhook_id in unmatched:
                run.store.delete(webhook_id)
            for n in range(others):
                run.subscribe(f"/all/{n}")
            progress(f"(c) {subscribers} all matching: {all_matching_check_ins} check-ins")
            fanned = phase({}, all_matching_check_ins, subscribers, max)
        if receiver.received("/other/0"):
            raise RuntimeError("a subscription that matches nothing was sent something")

    def rows(name: str, latencies: list[float]) -> list[Row]:
        p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
        base50, base99 = percentile(one, 50), percentile(one, 99)
        return [
            Row(f"{name}: p50", _ms(p50), _ms(base50), base50 / p50),
            Row("    p99", _ms(p99), _ms(base99), base99 / p99),
        ]

    section.rows += [
        Row(f"(c) commit -> webhook, 1 subscription, {check_ins} at {rate:g}/s: p50",
            _ms(percentile(one, 50)), ""),
        Row("    p99", _ms(percentile(one, 99)), ""),
        *rows(f"(c) 1 matching + {others} not, fan-out on, {check_ins} check-ins", indexed),
    ]  # fmt: skip
    if walked:
        section.rows += rows(
            f"(c) 1 matching + {others} not, fan-out off, {unindexed_check_ins} check-ins",
            walked,
        )
    if fanned:
        section.rows += rows(
            f"(c) {subscribers} all matching, to the last of them, "
            f"{all_matching_check_ins} check-ins",
            fanned,
        )
    section.notes += [
        "(c) raw psycopg column = the 1-subscription baseline of the same run; speed = "
        "baseline / ours (below 1: slower than with one subscription). One `goalpost "
        "dispatch` per phase (default settings, 4 delivery threads), a receiver on "
        "127.0.0.1 answering 200 at once",
    ]
    return section
