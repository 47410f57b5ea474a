"""The published contract: health probes, /openapi.json and its /docs page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.http.conftest import LiveServer, initialised_ledger, serve

pytestmark = pytest.mark.postgres


# Nothing here writes, so the module's tests share one server and one schema document.


@pytest.fixture(scope="module")
def live(module_pg_url: str) -> Iterator[LiveServer]:
    with serve(initialised_ledger(module_pg_url)) as server:
        yield server


@pytest.fixture(scope="module")
def spec(live: LiveServer) -> dict[str, Any]:
    spec: dict[str, Any] = httpx.get(f"{live.url}/openapi.json").json()
    return spec


def test_health_and_the_published_contract(client: httpx.Client, spec: dict[str, Any]) -> None:
    # The process is up, without any token.
    assert client.get("/healthz").json() == {"status": "ok"}
    # The store answers, and says how far its log goes (empty: nothing yet).
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    # The contract is published: OpenAPI JSON naming every /v1 resource, and its docs page.
    assert spec["openapi"].startswith("3.")
    assert {
        "/v1/cycles",
        "/v1/cycles/{cycle_id}/close",
        "/v1/objectives",
        "/v1/objectives/{objective_id}/retire",
        "/v1/objectives/{objective_id}/align",
        "/v1/key-results",
        "/v1/key-results/{key_result_id}/check-ins",
        "/v1/key-results/{key_result_id}/corrections",
        "/v1/key-results/{key_result_id}/rebaseline",
        "/v1/key-results/{key_result_id}/reweight",
        "/v1/key-results/{key_result_id}/retire",
        "/v1/kpis",
        "/v1/kpis/{kpi_id}/readings",
        "/v1/kpis/{kpi_id}/readings/corrections",
        "/v1/kpis/{kpi_id}/target",
        "/v1/kpis/{kpi_id}/retire",
    } <= set(spec["paths"])
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]
    assert "/openapi.json" in docs.text


def test_the_schema_documents_problem_bodies_as_problem_json(spec: dict[str, Any]) -> None:
    undocumented = [
        (method.upper(), path, status)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        for status, response in operation.get("responses", {}).items()
        if status.startswith("4")
        and "schema" not in response.get("content", {}).get("application/problem+json", {})
    ]
    assert undocumented == []


def test_the_schema_declares_bearer_authentication(spec: dict[str, Any]) -> None:
    schemes = spec.get("components", {}).get("securitySchemes", {})
    assert any(s.get("scheme", "").lower() == "bearer" for s in schemes.values()), schemes
