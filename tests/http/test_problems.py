"""Every refusal is an RFC 9457 problem naming the field at fault, and stores nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from application.ledger import GoalLedger
from domain.access import Role
from tests.http.conftest import (
    Goals,
    Headers,
    LiveServer,
    Tokens,
    check_in_body,
    initialised_ledger,
    key_result_body,
    objective_body,
    open_quarter,
    position,
    problem,
    serve,
)

pytestmark = pytest.mark.postgres

UNKNOWN = "00000000-0000-4000-8000-000000000000"
JSON = {"Content-Type": "application/json"}


# Every request in this module is refused, so its tests share one server and one quarter.


@pytest.fixture(scope="module")
def live(module_pg_url: str) -> Iterator[LiveServer]:
    with serve(initialised_ledger(module_pg_url)) as server:
        yield server


@pytest.fixture(scope="module")
def admin(live: LiveServer) -> Headers:
    return Tokens(live.ledger).headers("root", Role.ADMIN)


@pytest.fixture(scope="module")
def quarter(live: LiveServer, admin: Headers) -> dict[str, Any]:
    with httpx.Client(base_url=live.url) as http:
        return open_quarter(Goals(http, admin))


@pytest.fixture
def nothing_stored(ledger: GoalLedger, quarter: dict[str, Any]) -> Iterator[None]:
    """Whatever the test sends after the quarter is set up, the log must not grow."""
    before = position(ledger)
    yield
    assert position(ledger) == before


@pytest.fixture
def kr(quarter: dict[str, Any]) -> str:
    return f"/v1/key-results/{quarter['key_result']['id']}"


# Bodies sent to POST {kr}/check-ins, and the field the 422 problem must name.
BAD_CHECK_INS: list[tuple[str, bytes | dict[str, Any], str]] = [
    ("malformed JSON", b'{"value": "41", "confidence": ', "body"),
    ("empty body", b"", "body"),
    ("not an object", b'"41"', "body"),
    ("NaN literal", b'{"value": NaN, "confidence": "on_track"}', "value"),
    ("Infinity literal", b'{"value": Infinity, "confidence": "on_track"}', "value"),
    ("number overflowing to infinity", b'{"value": 1e999, "confidence": "on_track"}', "value"),
    ("NaN string", check_in_body("NaN"), "value"),
    ("Infinity string", check_in_body("Infinity"), "value"),
    ("-Infinity string", check_in_body("-Infinity"), "value"),
    ("value out of range", check_in_body("1e20"), "value"),
    ("value a list", {**check_in_body(), "value": [41]}, "value"),
    ("value a boolean", {**check_in_body(), "value": True}, "value"),
    ("value not a number", check_in_body("forty-one"), "value"),
    ("confidence a number", check_in_body(confidence=3), "confidence"),
    ("confidence unknown", check_in_body(confidence="sure"), "confidence"),
    ("effective_on in the future", check_in_body(effective_on="2099-01-01"), "effective_on"),
    ("effective_on no such day", check_in_body(effective_on="2026-02-30"), "effective_on"),
    ("effective_on before the cycle", check_in_body(effective_on="2026-06-30"), "effective_on"),
    ("note over 2000 characters", check_in_body(note="x" * 2001), "note"),
    ("unknown field", check_in_body(colour="red"), "colour"),
    ("missing field", {"value": "41"}, "confidence"),
]


@pytest.mark.usefixtures("nothing_stored")
def test_a_bad_check_in_is_a_problem_naming_its_field(
    client: httpx.Client, kr: str, admin: Headers, subtests: pytest.Subtests
) -> None:
    for case, body, field in BAD_CHECK_INS:
        with subtests.test(case):
            # Raw bytes go out as they are; anything else as JSON.
            if isinstance(body, bytes):
                response = client.post(f"{kr}/check-ins", content=body, headers={**admin, **JSON})
            else:
                response = client.post(f"{kr}/check-ins", json=body, headers=admin)
            # A 422 problem (never a 5xx) naming the field, with it among `errors`.
            problem(response, 422, field=field)
            assert response.json()["errors"], response.json()


@pytest.mark.usefixtures("nothing_stored")
@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            b'{"value": "41", "note": "\xff\xfe", "confidence": "on_track"}',
            id="not-utf-8",
        ),
        pytest.param(
            b"[" * 10_000 + b"]" * 10_000,
            id="nested-too-deep",
        ),
    ],
)
def test_an_unparseable_body_names_the_body(
    client: httpx.Client, kr: str, admin: Headers, body: bytes
) -> None:
    response = client.post(f"{kr}/check-ins", content=body, headers={**admin, **JSON})
    assert 400 <= response.status_code < 500
    problem(response, response.status_code, field="body")


@pytest.mark.usefixtures("nothing_stored")
def test_bad_goals_are_problems_naming_their_field(
    client: httpx.Client, quarter: dict[str, Any], admin: Headers
) -> None:
    objective = quarter["objective"]["id"]
    # A title of 200 characters is fine elsewhere; 201 is one too many.
    problem(
        client.post(
            "/v1/objectives", json=objective_body("analyst", title="x" * 201), headers=admin
        ),
        422,
        field="title",
    )
    # A blank title, an unknown kind, an owner that is no identifier.
    problem(
        client.post("/v1/objectives", json=objective_body("analyst", title="   "), headers=admin),
        422,
        field="title",
    )
    problem(
        client.post("/v1/objectives", json=objective_body("analyst", kind="vague"), headers=admin),
        422,
        field="kind",
    )
    problem(
        client.post("/v1/objectives", json=objective_body("a b"), headers=admin),
        422,
        field="owner",
    )
    # Unknown ids inside a body are the body's fault: 422 naming the field.
    problem(
        client.post(
            "/v1/objectives", json=objective_body("analyst", cycle_id="2099-Q1"), headers=admin
        ),
        422,
        field="cycle_id",
    )
    problem(
        client.post("/v1/key-results", json=key_result_body(UNKNOWN, "analyst"), headers=admin),
        422,
        field="objective_id",
    )
    # A key result with an increasing target below its baseline, a zero weight, an
    # unknown field nested in the measurement, a weight that is a string of words.
    for overrides, field in [
        ({"target": "10"}, "target"),
        ({"weight": "0"}, "weight"),
        ({"weight": "heavy"}, "weight"),
        ({"direction": "sideways"}, "direction"),
        ({"measurement": {"source": "s", "query": "q", "sql": "drop"}}, "measurement.sql"),
        ({"measurement": {"source": "s"}}, "measurement.query"),
        ({"baseline": "NaN"}, "baseline"),
        ({"effective_on": "2099-07-01"}, "effective_on"),
    ]:
        response = client.post(
            "/v1/key-results",
            json=key_result_body(objective, "analyst", **overrides),
            headers=admin,
        )
        problem(response, 422, field=field)
    # A cycle that ends before it starts, or with a date that is no date.
    problem(
        client.post(
            "/v1/cycles",
            json={"id": "2026-Q4", "starts_on": "2026-12-31", "ends_on": "2026-10-01"},
            headers=admin,
        ),
        422,
        field="ends_on",
    )
    problem(
        client.post(
            "/v1/cycles",
            json={"id": "2026-Q4", "starts_on": "soon", "ends_on": "2026-10-01"},
            headers=admin,
        ),
        422,
        field="starts_on",
    )


@pytest.mark.usefixtures("nothing_stored")
def test_unknown_goals_are_404_problems(client: httpx.Client, kr: str, admin: Headers) -> None:
    # Every kind of goal, read or written, under an id nobody created.
    for method, path, body in [
        ("GET", f"/v1/key-results/{UNKNOWN}", None),
        ("POST", f"/v1/key-results/{UNKNOWN}/check-ins", check_in_body()),
        ("GET", f"/v1/objectives/{UNKNOWN}", None),
        ("POST", f"/v1/objectives/{UNKNOWN}/retire", {"reason": "r", "reason_code": "other"}),
        ("GET", f"/v1/kpis/{UNKNOWN}", None),
        ("POST", f"/v1/kpis/{UNKNOWN}/readings", {"value": "1", "effective_on": "2026-08-01"}),
        ("GET", "/v1/cycles/2099-Q1", None),
        ("POST", "/v1/cycles/2099-Q1/close", None),
        ("GET", "/v1/objectives?cycle_id=2099-Q1", None),
    ]:
        problem(client.request(method, path, json=body, headers=admin), 404)
    # A check-in id the key result never had: 404, naming the field.
    response = client.post(
        f"{kr}/corrections",
        json={"check_in_id": UNKNOWN, "value": "40", "reason": "typo"},
        headers=admin,
    )
    problem(response, 404, field="check_in_id")
    # An id that is no UUID at all is a 422 naming the path parameter.
    problem(
        client.get("/v1/key-results/not-a-uuid", headers=admin), 422, field="path.key_result_id"
    )
    # No such route, no such method: problems too.
    problem(client.get("/v1/nothing", headers=admin), 404)
    problem(client.delete(kr, headers=admin), 405)


@pytest.mark.usefixtures("nothing_stored")
@pytest.mark.parametrize(
    ("path", "field"),
    [
        (f"/v1/key-results/{UNKNOWN}", "key_result_id"),
        (f"/v1/objectives/{UNKNOWN}", "objective_id"),
        (f"/v1/kpis/{UNKNOWN}", "kpi_id"),
        ("/v1/cycles/2099-Q1", "cycle_id"),
    ],
)
def test_a_404_names_the_unknown_id(
    client: httpx.Client, admin: Headers, path: str, field: str
) -> None:
    problem(client.get(path, headers=admin), 404, field=field)


@pytest.mark.usefixtures("nothing_stored")
def test_bodies_over_64_kib_are_refused_with_413(
    client: httpx.Client, kr: str, admin: Headers
) -> None:
    # A note of 70 000 characters, announced by Content-Length.
    response = client.post(f"{kr}/check-ins", json=check_in_body(note="x" * 70_000), headers=admin)
    problem(response, 413)
    # Exactly at the limit the body is read (and refused for its content, not its size).
    padding = 64 * 1024 - len(b'{"value": "41", "confidence": "on_track", "note": ""}')
    at_limit = b'{"value": "41", "confidence": "on_track", "note": "' + b" " * padding + b'"}'
    assert len(at_limit) == 64 * 1024
    response = client.post(f"{kr}/check-ins", content=at_limit, headers={**admin, **JSON})
    assert response.status_code == 422, response.text


@pytest.mark.usefixtures("nothing_stored")
def test_a_streamed_body_over_64_kib_is_refused_with_413(
    client: httpx.Client, kr: str, admin: Headers
) -> None:
    chunks = [b'{"value": "41", "confidence": "on_track", "note": "', b"x" * 70_000, b'"}']
    # An iterator makes httpx send Transfer-Encoding: chunked, with no length announced.
    response = client.post(f"{kr}/check-ins", content=iter(chunks), headers={**admin, **JSON})
    problem(response, 413)


def test_the_413_problem_names_the_body(client: httpx.Client, kr: str, admin: Headers) -> None:
    response = client.post(f"{kr}/check-ins", json=check_in_body(note="x" * 70_000), headers=admin)
    problem(response, 413, field="body")


@pytest.mark.usefixtures("nothing_stored")
def test_bad_headers_and_queries_are_400_or_422_problems(
    client: httpx.Client, kr: str, admin: Headers
) -> None:
    # If-Match must be an ETag: 400 naming the header.
    for if_match in ("three", '"-1"', '"3', "3,4"):
        response = client.post(
            f"{kr}/check-ins", json=check_in_body(), headers={**admin, "If-Match": if_match}
        )
        problem(response, 400, field="If-Match")
    # Idempotency-Key: 1-255 printable characters.
    response = client.post(
        f"{kr}/check-ins", json=check_in_body(), headers={**admin, "Idempotency-Key": "k" * 256}
    )
    problem(response, 400, field="Idempotency-Key")
    # Dates in queries, page sizes and cursors.
    problem(client.get(kr, params={"as_of": "soon"}, headers=admin), 422, field="query.as_of")
    problem(client.get(kr, params={"known_at": "then"}, headers=admin), 422, field="query.known_at")
    problem(
        client.get("/v1/objectives", params={"limit": 0}, headers=admin), 422, field="query.limit"
    )
    problem(client.get("/v1/kpis", params={"limit": 201}, headers=admin), 422, field="query.limit")
    problem(
        client.get("/v1/objectives", params={"cursor": UNKNOWN}, headers=admin), 400, field="cursor"
    )


@pytest.mark.parametrize("known_at", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
def test_a_known_at_at_the_edge_of_time_is_no_server_error(
    client: httpx.Client, quarter: dict[str, Any], admin: Headers, known_at: str
) -> None:
    paths = [
        f"/v1/key-results/{quarter['key_result']['id']}",
        f"/v1/objectives/{quarter['objective']['id']}",
        "/v1/cycles/2026-Q3",
    ]
    for path in paths:
        response = client.get(path, params={"known_at": known_at}, headers=admin)
        assert response.status_code < 500, (path, response.status_code, response.text)
