"""/docs and /redoc work with no internet: every file they load comes from the server."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.http.conftest import LiveServer, initialised_ledger, serve

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def live(module_pg_url: str) -> Iterator[LiveServer]:
    with serve(initialised_ledger(module_pg_url)) as server:
        yield server


class _Links(HTMLParser):
    """Every URL an HTML page loads or links to, and every absolute URL in its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.assets: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        for name, value in attrs:
            if name in {"src", "href"} and value:
                self.assets.append(value)

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.inline.append(data)


def _links(page: str) -> _Links:
    links = _Links()
    links.feed(page)
    return links


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_page_and_all_it_loads_come_from_the_server(
    live: LiveServer, client: httpx.Client, page: str
) -> None:
    # The page itself answers.
    response = client.get(page)
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    links = _links(response.text)

    # It loads a script (the viewer), and every asset it names is on this server.
    assert any(url.endswith(".js") for url in links.assets), links.assets
    off_server = [
        url
        for url in links.assets
        if urlsplit(urljoin(f"{live.url}{page}", url)).netloc != urlsplit(live.url).netloc
    ]
    assert off_server == []
    # No inline script reaches for another host either (a CDN, a validator, fonts).
    assert not [chunk for chunk in links.inline if "http://" in chunk or "https://" in chunk]

    # Each asset is served, and is not empty.
    for url in links.assets:
        asset = client.get(urljoin(page, url))
        assert asset.status_code == 200, url
        assert asset.content, url

    # The schema the page reads is served too.
    assert client.get("/openapi.json").status_code == 200
