"""`/asyncapi.json`: served to anyone, as generated, and linked from the OpenAPI description."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urljoin

import httpx
import pytest

from delivery.asyncapi import asyncapi_document
from tests.http.conftest import LiveServer, initialised_ledger, serve

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def live(module_pg_url: str) -> Iterator[LiveServer]:
    with serve(initialised_ledger(module_pg_url)) as server:
        yield server


def test_the_asyncapi_document_is_served_without_a_token_and_linked_from_the_docs(
    live: LiveServer, client: httpx.Client
) -> None:
    response = client.get("/asyncapi.json")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == asyncapi_document()
    # /docs shows the OpenAPI description; its link, followed from the page, reaches it.
    description = client.get("/openapi.json").json()["info"]["description"]
    assert "](asyncapi.json)" in description
    linked = client.get(urljoin(f"{live.url}/docs", "asyncapi.json"))
    assert linked.status_code == 200
    assert linked.json()["asyncapi"] == "3.0.0"
