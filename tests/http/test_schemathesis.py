"""Property-based: every operation /openapi.json publishes, fuzzed against the live server.

Schemathesis generates requests from the schema the running server publishes, sends them
over HTTP with an admin token, and checks every response: never a 5xx, a documented status
and content type, a body matching its schema, and a 4xx for requests the schema forbids.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks, not_a_server_error
from schemathesis.specs.openapi.checks import (
    ensure_resource_availability,
    ignored_auth,
    negative_data_rejection,
    object_level_authorization,
    positive_data_acceptance,
    response_schema_conformance,
    use_after_free,
)

from projections.registry import background_worker_for
from tests.http.conftest import Headers, LiveServer, kpi_body

pytestmark = pytest.mark.postgres

# Few examples, derandomized: the same requests on every run (for the same schema), and
# the whole run takes seconds.
EXAMPLES = 5

EXCLUDED_CHECKS = [
    # Schema-valid requests are refused by domain rules the schema cannot express (unknown
    # ids -> 404, dates outside the cycle -> 422, a closed cycle -> 409), so "valid data
    # gets a 2xx" does not hold for generated data.
    positive_data_acceptance,
    # Stateful checks: they compare a response with earlier ones in a sequence of linked
    # calls (a GET after a DELETE); this run sends independent calls, so there is nothing
    # for them to compare.
    use_after_free,
    ensure_resource_availability,
    # Needs several configured identities and resources owned by each; roles and owners
    # are covered by test_access.py instead.
    object_level_authorization,
    # The schema declares no security scheme (the bearer token is an undeclared header),
    # so this check cannot tell which requests need it; test_access.py covers 401.
    ignored_auth,
]
# Boundary dates and moments for every `date` and `date-time` the schema names: the
# calendar's ends and the documented range's edges. Far dates once answered 500 (date
# arithmetic overflowed); the first of each list is what hypothesis tries first.
BOUNDARY_DAYS = ["9999-12-31", "0001-01-01", "2200-01-01", "1969-12-31", "2199-12-31"]
BOUNDARY_MOMENTS = [
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-14:00",
    "2026-08-15T09:00:00Z",
]
schemathesis.openapi.format(
    "date", st.one_of(st.sampled_from(BOUNDARY_DAYS), st.dates().map(date.isoformat))
)
schemathesis.openapi.format(
    "date-time",
    st.one_of(
        st.sampled_from(BOUNDARY_MOMENTS),
        st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat),
    ),
)
# Bodies no schema describes but any client can send: deep nesting (a RecursionError
# once), numbers past float's precision, keys twice, text that is no JSON at all.
HOSTILE_BODIES = [
    ("application/json", b"[" * 30_000),
    ("text/plain", b"[" * 30_000),
    ("application/json", b'{"a": ' * 5_000 + b"1" + b"}" * 5_000),
    ("application/json", b'{"value": 62.123456789012345678901, "value": 1e999}'),
    ("application/json", b'{"note": "\\u0000", "title": "\\ud800"}'),
    ("text/plain", b"\xff\xfe"),
]
load_all_checks()
RUN_CHECKS = [check for check in CHECKS.get_all() if check not in EXCLUDED_CHECKS]
assert {not_a_server_error, response_schema_conformance, negative_data_rejection} <= set(RUN_CHECKS)


def fuzz(
    operation: Any,
    mode: GenerationMode,
    path_parameters: dict[str, str] | None,
    *,
    base_url: str,
    headers: Headers,
    statuses: Counter[int],
) -> int:
    """Send the operation's generated cases and check each response; returns the count."""
    sent = 0

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        # Generation only: a failure is reported as found, not shrunk at length.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        nonlocal sent
        if mode is GenerationMode.POSITIVE and case.headers:
            # Random If-Match and Idempotency-Key values stop most requests at the header
            # check (400); without them, valid requests reach the goal itself.
            case.headers.pop("If-Match", None)
            case.headers.pop("Idempotency-Key", None)
        response = case.call_and_validate(
            base_url=base_url, headers=headers, checks=RUN_CHECKS, timeout=10
        )
        sent += 1
        statuses[response.status_code] += 1

    check()
    return sent


def test_every_operation_keeps_the_published_contract(
    live: LiveServer,
    client: httpx.Client,
    admin: Headers,
    quarter: dict[str, Any],
    request: pytest.FixtureRequest,
) -> None:
    # The live event stream never ends, and a fuzzer reads each body to its end; the
    # stream is exercised in test_events.py instead.
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json").exclude(
        path="/v1/events/stream"
    )
    # Read-model routes wait for their read model (`?min_position=`, and the change report
    # and evidence for the whole log), and answer 503 if it stays behind: a worker keeps
    # them current, as in production.
    worker = background_worker_for(live.ledger)
    worker.start()
    request.addfinalizer(worker.stop)
    # Real ids for path parameters, so that generated requests also reach existing goals.
    kpi = client.post("/v1/kpis", json=kpi_body("analyst"), headers=admin).json()["id"]
    real_ids = {
        "cycle_id": "2026-Q3",
        "objective_id": quarter["objective"]["id"],
        "key_result_id": quarter["key_result"]["id"],
        "kpi_id": kpi,
        "person": "analyst",
    }
    calls: Counter[str] = Counter()
    statuses: Counter[int] = Counter()

    # Retiring, then closing, run last: the other operations still meet live goals in an
    # open quarter.
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()),
        key=lambda op: (op.path.endswith("/close"), op.path.endswith("/retire")),
    )
    for operation in operations:
        path_params = {p.name for p in operation.path_parameters}
        # Anything the schema allows, against goals that exist (random ids would only
        # meet 404s, which test_problems.py covers).
        variants: list[tuple[GenerationMode, dict[str, str] | None]] = [
            (GenerationMode.POSITIVE, {p: real_ids[p] for p in path_params & set(real_ids)} or None)
        ]
        if len(operation.body) or len(operation.query):
            # Anything the schema forbids: must be refused with a 4xx. (Without a body
            # or a query, only free-form strings remain: nothing can be forbidden.)
            variants.append((GenerationMode.NEGATIVE, None))
        for mode, path_parameters in variants:
            calls[operation.label] += fuzz(
                operation,
                mode,
                path_parameters,
                base_url=live.url,
                headers=admin,
                statuses=statuses,
            )

    # The run really talked to the server: every operation several times, and not
    # only errors came back.
    assert len(operations) >= 22, [op.label for op in operations]
    assert all(calls[op.label] > 0 for op in operations), calls
    assert sum(calls.values()) >= EXAMPLES * len(operations), calls
    assert statuses[200] > 0 and statuses[201] > 0, statuses


def test_hostile_bodies_are_problems_on_every_operation_that_takes_one(
    live: LiveServer, client: httpx.Client, admin: Headers, quarter: dict[str, Any]
) -> None:
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    real_ids = {
        "cycle_id": "2026-Q3",
        "objective_id": quarter["objective"]["id"],
        "key_result_id": quarter["key_result"]["id"],
    }
    head = live.ledger.recorder.max_notification_id()
    sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if not len(operation.body):
            continue
        params = {p.name for p in operation.path_parameters}
        if not params <= set(real_ids):
            continue
        path = operation.path.format(**real_ids)
        for index, (media_type, body) in enumerate(HOSTILE_BODIES):
            response = client.request(
                operation.method.upper(),
                path,
                content=body,
                headers={
                    **admin,
                    "Content-Type": media_type,
                    "Idempotency-Key": f"hostile-{operation.label}-{index}",
                },
            )
            sent += 1
            # Refused as a problem, never a 500, and nothing stored.
            assert 400 <= response.status_code < 500, (operation.label, body[:40], response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
    assert sent >= 10 * len(HOSTILE_BODIES)
    assert live.ledger.recorder.max_notification_id() == head
