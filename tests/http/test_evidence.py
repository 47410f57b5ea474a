"""Appraisal evidence over HTTP: reviewers read the demo quarter as JSON and as a page."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from datetime import date, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from application.ledger import GoalLedger
from application.stores import open_ledger
from cli.demo import load_demo
from domain.access import Role
from domain.values import utc_now
from projections.registry import worker_for
from tests.demo_day import DEMO_DAY
from tests.http.conftest import Headers, Tokens, problem, serve
from tests.http.reviews import assign

pytestmark = pytest.mark.postgres

PERSON = "head-of-cs"
PERIOD = {"from": "2026-07-01", "to": "2026-09-30"}
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
SCREENSHOT_TIMEOUT = 60


def evidence(
    client: httpx.Client, headers: Headers, *, accept: str | None = None, **params: str
) -> httpx.Response:
    if accept is not None:
        headers = {**headers, "Accept": accept}
    return client.get(f"/v1/people/{PERSON}/evidence", params={**PERIOD, **params}, headers=headers)


def key_result_of(data: dict[str, Any], title: str) -> dict[str, Any]:
    return next(
        kr for objective in data["objectives"] for kr in objective["key_results"]
        if kr["title"] == title
    )  # fmt: skip


def card_of(html: str, title: str) -> str:
    [card] = [c for c in html.split('<div class="card">')[1:] if escape(title) in c]
    return card


def readable(moment: str) -> str:
    """A time as the page writes it for people: UTC, to the second, saying so."""
    return f"{datetime.fromisoformat(moment):%Y-%m-%d %H:%M:%S} UTC"


def caught_up(ledger: GoalLedger) -> None:
    worker = worker_for(ledger)
    worker.create_tables()
    worker.run_until_caught_up()


@pytest.fixture
def reviewer(tokens: Tokens, ledger: GoalLedger) -> Headers:
    """The demo quarter loaded, the audit trail caught up, and a reviewer's token."""
    load_demo(ledger, today=DEMO_DAY)
    headers = tokens.headers("appraisals", Role.REVIEWER)
    assign(ledger, "appraisals", PERSON, "head-of-product")
    caught_up(ledger)
    return headers


@pytest.fixture
def one_check_in(tokens: Tokens, ledger: GoalLedger) -> Headers:
    """A quarter with one key result of the person's and one check-in; a reviewer's token."""
    ledger.open_cycle(
        actor="ceo", key="2026-Q3", starts_on=date(2026, 7, 1), ends_on=date(2026, 9, 30)
    )
    objective = ledger.create_objective(
        actor="ceo",
        cycle_id="2026-Q3",
        title="Stop the leaky bucket",
        owner="ceo",
        kind="committed",
    ).id
    key_result = ledger.create_key_result(
        actor="ceo",
        objective_id=objective,
        title="Gross revenue churn (monthly)",
        owner=PERSON,
        unit="% of MRR",
        direction="decrease",
        baseline="3.1",
        target="2.0",
        measurement_source="billing",
        measurement_query="churned MRR / opening MRR",
        effective_on=date(2026, 7, 1),
    ).id
    ledger.record_check_in(
        actor=PERSON,
        key_result_id=key_result,
        value="3.0",
        confidence="on_track",
        note="save calls started",
        effective_on=date(2026, 7, 10),
    )
    headers = tokens.headers("appraisals", Role.REVIEWER)
    assign(ledger, "appraisals", PERSON)
    caught_up(ledger)
    return headers


def test_evidence_is_for_reviewers(
    client: httpx.Client, admin: Headers, one_check_in: Headers, tokens: Tokens
) -> None:
    # The admin's token is issued before the audit trail catches up: evidence is read
    # only once the trail holds the whole log.
    reviewer = one_check_in
    # A reviewer reads it, and so does an admin.
    assert evidence(client, reviewer).status_code == 200
    assert evidence(client, admin).status_code == 200
    # The person under review, as a member, and an auditor may not; nor may a stranger.
    for role in (Role.MEMBER, Role.MANAGER, Role.AUDITOR):
        problem(evidence(client, tokens.headers(PERSON, role)), 403)
    problem(evidence(client, {}), 401)


def test_the_same_known_at_answers_the_same_bytes(
    client: httpx.Client, reviewer: Headers, ledger: GoalLedger
) -> None:
    # The first answer states the known_at it used.
    first = evidence(client, reviewer)
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "application/json"
    known_at = first.json()["known_at"]

    # Churn's week-2 check-in is corrected afterwards.
    churn = next(
        kr
        for objective in first.json()["objectives"]
        for kr in objective["key_results"]
        if kr["title"] == "Gross revenue churn (monthly)"
    )
    week_two = churn["months"][0]["check_ins"][1]
    ledger.correct_check_in(
        actor=PERSON,
        key_result_id=UUID(churn["key_result_id"]),
        check_in_id=UUID(week_two["check_in_id"]),
        value="2.95",
        reason="late refund booked against the wrong month",
    )
    caught_up(ledger)

    # Asked with that known_at, the answer is byte for byte the first; asked now, it differs.
    again = evidence(client, reviewer, known_at=known_at)
    assert again.content == first.content
    now = evidence(client, reviewer)
    assert now.content != first.content
    assert "late refund booked against the wrong month" in now.text
    # The page reproduces too.
    page = evidence(client, reviewer, accept="text/html", known_at=known_at)
    assert page.content == evidence(client, reviewer, accept="text/html", known_at=known_at).content


def test_the_page_shows_each_key_result_with_its_plan_and_chart(
    client: httpx.Client, reviewer: Headers
) -> None:
    data = evidence(client, reviewer).json()
    page = evidence(client, reviewer, accept=BROWSER)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "Accept" in page.headers["vary"]
    html = page.text

    key_results: list[dict[str, Any]] = [
        kr for objective in data["objectives"] for kr in objective["key_results"]
    ]
    titles = {kr["title"] for kr in key_results}
    assert titles == {"Gross revenue churn (monthly)", "Health-score coverage of accounts"}
    cards = html.split('<div class="card">')[1:]
    assert len(cards) == len(key_results)
    for kr in key_results:
        # Each key result's card: its title, baseline → target → final, and its chart.
        [card] = [c for c in cards if escape(kr["title"]) in c]
        plan = kr["plan_at_end"]
        assert f"Baseline <b>{plan['baseline']}</b> → target <b>{plan['target']}</b>" in card
        assert f"final <b>{kr['final']['value']}</b>" in card
        assert "<svg" in card and "</svg>" in card
        # Every month of the quarter, each with its own check-ins.
        for month in ("Jul 2026", "Aug 2026", "Sep 2026"):
            assert f'<td class="month">{month}</td>' in card
    # Coverage was re-baselined from 100 to 80: the reason is there and the chart marks it.
    [coverage] = [c for c in cards if "Health-score coverage" in c]
    assert "Originally 0 → 100" in coverage
    assert "re-baselined 14 Aug" in coverage
    assert "Mid-quarter review: legacy-plan accounts" in coverage
    # The KPI backbone: churn's readings in the healthy range, month by month.
    assert "Gross revenue churn</b>" in html
    assert "1 of 3</span> (33%)" in html


def test_the_page_gives_units_times_and_changes_as_people_read_them(
    client: httpx.Client, reviewer: Headers
) -> None:
    data = evidence(client, reviewer).json()
    html = evidence(client, reviewer, accept=BROWSER, known_at=data["known_at"]).text
    # A KPI's healthy level is in its unit: "≤ 2.5 % of MRR", not a bare "≤ 2.5".
    assert "<td>≤ 2.5\N{NO-BREAK SPACE}% of MRR</td>" in html
    # Times are UTC to the second and say so; no microseconds anywhere people read.
    assert f"known at <b>{readable(data['known_at'])}</b>" in html
    people_read = re.sub(r"<code>known_at=[^<]*</code>", "", html)
    assert not re.search(r"[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]", people_read)
    assert re.search(r'title="[^"]* at [0-9-]{10} [0-9:]{8} UTC"', html)
    # A change of plan says when it took effect and when it was recorded, and by whom: a
    # re-baseline effective mid-August but recorded late reads as what it is.
    coverage = key_result_of(data, "Health-score coverage of accounts")
    [change] = coverage["plan_changes"]
    cite = change["cite"]
    assert (
        f"effective {change['effective_on']}, recorded {readable(cite['recorded_at'])} "
        f"by {cite['actor']}" in card_of(html, "Health-score coverage of accounts")
    )


def test_every_key_result_shows_its_score_as_the_scores_give_it(
    client: httpx.Client, reviewer: Headers
) -> None:
    data = evidence(client, reviewer).json()
    html = evidence(client, reviewer, accept=BROWSER).text
    # The scores of the quarter's last day, replayed from the goals.
    board = client.get(
        "/v1/scores",
        params={"cycle_id": "2026-Q3", "as_of": PERIOD["to"]},
        headers=reviewer,
    ).json()
    scores = {row["id"]: row for row in board["key_results"]}
    for objective in data["objectives"]:
        for kr in objective["key_results"]:
            # Active ones too, not only those retired: each card gives its score.
            score = kr["score_at_end"]
            expected = scores[kr["key_result_id"]]
            assert (score["score"], score["traffic_light"]) == (
                expected["score"],
                expected["traffic_light"],
            )
            assert kr["retired"] is None and score["as_of"] == PERIOD["to"]
            css = {"green": "good", "amber": "warn", "red": "bad"}[score["traffic_light"]]
            assert f'Score at the end <b class="{css}">{score["score"]}</b>' in card_of(
                html, kr["title"]
            )


def test_months_before_a_kpi_existed_are_not_held_against_the_person(
    client: httpx.Client, reviewer: Headers
) -> None:
    # Head of product's onboarding KPI was defined on the quarter's last day.
    page = client.get(
        "/v1/people/head-of-product/evidence",
        params=PERIOD,
        headers={**reviewer, "Accept": BROWSER},
    ).text
    row = page.split("Onboarding time-to-first-value</b>", 1)[1].split("</tr>", 1)[0]
    assert row.count('<td class="none">not yet defined</td>') == 2
    assert "no reading" not in row
    # The month-by-month overview does not count July and August as missed readings.
    overview = page.split("KPI readings (healthy)", 1)[1].split("</tr>", 1)[0]
    assert overview.count(">no KPI</td>") == 2
    assert 'class="n empty"' not in overview


def test_the_chart_labels_its_axes_and_the_original_target(
    client: httpx.Client, reviewer: Headers
) -> None:
    html = evidence(client, reviewer, accept=BROWSER).text
    chart = card_of(html, "Health-score coverage of accounts").split("<svg", 1)[1]
    chart = chart.split("</svg>", 1)[0]
    # The first of each month along the bottom, and the quarter's last day.
    for day in ("1 Jul", "1 Aug", "1 Sep", "30 Sep"):
        assert f">{day}</text>" in chart
    # Values at round steps up the side, not just the two ends.
    ticks = re.findall(r'text-anchor="end">([^<]+)</text>', chart)
    assert ticks == ["0", "25", "50", "75", "100"]
    # The lines carry their values; the target a re-baseline moved stays drawn, labelled.
    for label in ("target 80", "baseline 0", "original target 100"):
        assert f">{label}</text>" in chart
    assert 'stroke-dasharray="1 3"' in chart


def test_a_browser_gets_the_page_and_a_client_gets_json(
    client: httpx.Client, one_check_in: Headers
) -> None:
    reviewer = one_check_in
    for accept, media_type in (
        (BROWSER, "text/html"),
        ("text/html", "text/html"),
        ("*/*", "application/json"),
        ("application/json, text/html;q=0.5", "application/json"),
    ):
        response = evidence(client, reviewer, accept=accept)
        assert response.headers["content-type"].startswith(media_type), accept


def test_a_review_names_a_period_a_past_time_and_an_owner(
    client: httpx.Client, admin: Headers, one_check_in: Headers
) -> None:
    reviewer = one_check_in
    problem(client.get(f"/v1/people/{PERSON}/evidence", headers=reviewer), 422)
    problem(evidence(client, reviewer, **{"from": "2026-09-30", "to": "2026-07-01"}), 422, "to")
    future = (utc_now() + timedelta(hours=1)).isoformat()
    problem(evidence(client, reviewer, known_at=future), 422, "known_at")
    # Someone who owns nothing: the admin is told so; a reviewer not assigned to them is
    # refused before anything about them is looked up (ADR 42).
    problem(client.get("/v1/people/nobody/evidence", params=PERIOD, headers=admin), 404)
    problem(client.get("/v1/people/nobody/evidence", params=PERIOD, headers=reviewer), 403)


def test_without_read_models_evidence_is_unavailable_not_an_error(pg_url: str) -> None:
    # A store nobody ran `goalpost db init` on: events, but no audit trail to read yet.
    with (
        serve(open_ledger(pg_url, create_tables=True)) as server,
        httpx.Client(base_url=server.url, timeout=10.0) as http,
    ):
        reviewer = Tokens(server.ledger).headers("appraisals", Role.REVIEWER)
        assign(server.ledger, "appraisals", PERSON)
        found = problem(evidence(http, reviewer), 503)
    assert found["type"] == "/problems/read-model-unavailable"


def test_the_page_renders_in_a_real_browser(
    client: httpx.Client, reviewer: Headers, tmp_path: Path
) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed; the page's content is checked without it")
    page = tmp_path / "evidence.html"
    page.write_bytes(evidence(client, reviewer, accept="text/html").content)
    shot = tmp_path / "evidence.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1200,1600",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=SCREENSHOT_TIMEOUT,
    )
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1200, 1600)
    # A blank page compresses to a few kilobytes; text, tables and charts do not.
    assert len(png) > 50_000
    # Nor is it blank: a blank page's pixel rows are all alike, this page's are not.
    assert distinct_rows(png) > 400


def distinct_rows(png: bytes) -> int:
    """How many different pixel rows an 8-bit RGB(A) PNG holds (each with its filter byte)."""
    chunks, at = {}, 8
    data = b""
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind = png[at + 4 : at + 8]
        body = png[at + 8 : at + 8 + length]
        if kind == b"IDAT":
            data += body
        chunks[kind] = body
        at += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert depth == 8 and colour in (2, 6), "an 8-bit RGB or RGBA screenshot"
    stride = 1 + width * (4 if colour == 6 else 3)
    pixels = zlib.decompress(data)
    assert len(pixels) == stride * height
    return len({pixels[row : row + stride] for row in range(0, len(pixels), stride)})
