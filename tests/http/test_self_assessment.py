"""Self-assessments over HTTP on PostgreSQL: the window, a closed cycle, the reads (ADR 34)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from domain.access import Role
from domain.values import utc_today
from projections.registry import worker_for
from tests.http.conftest import CYCLE, Goals, Headers, LiveServer, Tokens, created, ok, problem
from tests.http.reviews import assign

AFTER_CLOSE = "changed_after_close"


def assess(
    client: httpx.Client, path: str, headers: Headers, grade: str = "0.7", **extra: Any
) -> httpx.Response:
    body = {"grade": grade, "reflection": "Churn fell;\nthe playbook reached half late.", **extra}
    return client.post(f"{path}/self-assessment", json=body, headers=headers)


@pytest.fixture
def goals(client: httpx.Client, admin: Headers) -> Goals:
    return Goals(client, admin)


@pytest.fixture
def analyst(tokens: Tokens) -> Headers:
    return tokens.headers("analyst", Role.MEMBER)


def test_a_closed_cycle_takes_self_assessments_beside_its_frozen_scores(
    client: httpx.Client,
    live: LiveServer,
    admin: Headers,
    goals: Goals,
    analyst: Headers,
    tokens: Tokens,
) -> None:
    # Issued before the audit trail catches up: evidence waits for the whole log.
    reviewer = tokens.headers("researcher", Role.REVIEWER)
    assign(live.ledger, "researcher", "analyst")
    goals.open_cycle()
    objective = goals.objective("analyst")
    key_result = goals.key_result(objective["id"], "analyst")
    goals.check_in(key_result["id"], value="41")
    kr_path = f"/v1/key-results/{key_result['id']}"
    objective_path = f"/v1/objectives/{objective['id']}"
    ok(client.post(f"/v1/cycles/{CYCLE['id']}/close", headers=admin))
    before = ok(client.get(kr_path, headers=analyst))
    objective_before = ok(client.get(objective_path, headers=analyst))
    assert before["self_assessment"] is None and objective_before["self_assessment"] is None

    # The owner, a member, assesses both after the close, within the window.
    first = created(assess(client, kr_path, analyst))
    assert first["id"] == key_result["id"] and first["version"] == before["version"] + 1
    created(assess(client, objective_path, analyst, grade="0.6"))

    read = ok(client.get(kr_path, headers=analyst))
    assert read["self_assessment"]["grade"] == "0.7"
    assert read["self_assessment"]["reflection"] == "Churn fell;\nthe playbook reached half late."
    assert read["self_assessment"]["actor"] == "analyst"
    # The computed score is the same to the digit.
    assert (read["score"], read["value"]) == (before["score"], before["value"])
    objective_read = ok(client.get(objective_path, headers=analyst))
    assert objective_read["self_assessment"]["grade"] == "0.6"
    assert objective_read["score"] == objective_before["score"]
    listed = ok_page(client.get("/v1/objectives", headers=analyst))
    assert [o["self_assessment"]["grade"] for o in listed] == ["0.6"]

    # A later one supersedes it; as known before it, the first is still the one shown.
    created(assess(client, kr_path, analyst, grade="0.8"))
    assert ok(client.get(kr_path, headers=analyst))["self_assessment"]["grade"] == "0.8"
    then = client.get(kr_path, params={"known_at": read["self_assessment"]["recorded_at"]})
    assert then.status_code == 401  # reads need a token too
    then = client.get(
        kr_path, params={"known_at": read["self_assessment"]["recorded_at"]}, headers=analyst
    )
    assert ok(then)["self_assessment"]["grade"] == "0.7"

    # History keeps both, each flagged as recorded after the close; so does the report.
    worker_for(live.ledger).run_until_caught_up()
    history = client.get(f"{kr_path}/history", headers=admin).json()["items"]
    assessed = [e for e in history if e["event"] == "self_assessed"]
    assert [(e["before"], e["after"]["grade"]) for e in assessed] == [
        ({"grade": None}, "0.7"),
        ({"grade": "0.7"}, "0.8"),
    ]
    assert all(AFTER_CLOSE in e["flags"] for e in assessed)
    # Evidence shows the latest beside the computed score, as known at its known_at.
    evidence = "/v1/people/analyst/evidence"
    period = {"from": CYCLE["starts_on"], "to": CYCLE["ends_on"]}
    data = client.get(evidence, params=period, headers=reviewer).json()
    [served] = data["objectives"]
    [kr] = served["key_results"]
    assert (served["self_assessment"]["grade"], kr["self_assessment"]["grade"]) == ("0.6", "0.8")
    assert kr["self_assessment"]["reflection"] == "Churn fell;\nthe playbook reached half late."
    assert AFTER_CLOSE in kr["self_assessment"]["flags"]
    assert kr["score_at_end"]["score"] == before["score"]
    known_then = {**period, "known_at": read["self_assessment"]["recorded_at"]}
    answer = client.get(evidence, params=known_then, headers=reviewer)
    assert answer.status_code == 200, answer.text
    then_data = answer.json()
    assert then_data["objectives"][0]["key_results"][0]["self_assessment"]["grade"] == "0.7"
    page = client.get(evidence, params=period, headers={**reviewer, "Accept": "text/html"})
    assert page.status_code == 200 and "Self-assessed <b>0.8</b> by analyst" in page.text
    assert "the playbook reached half late" in page.text

    # The reads of evidence were recorded (ADR 42): the report waits for the whole log.
    worker_for(live.ledger).run_until_caught_up()
    report = client.get(f"/v1/cycles/{CYCLE['id']}/changes", headers=admin).json()["items"]
    assert [(r["goal_id"], r["event"]) for r in report if r["event"] == "self_assessed"] == [
        (key_result["id"], "self_assessed"),
        (objective["id"], "self_assessed"),
        (key_result["id"], "self_assessed"),
    ]
    assert all(AFTER_CLOSE in r["flags"] for r in report if r["event"] == "self_assessed")


def ok_page(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_a_retired_key_result_may_be_assessed_by_its_owner(
    client: httpx.Client, goals: Goals, analyst: Headers
) -> None:
    goals.open_cycle()
    key_result = goals.key_result(goals.objective("analyst")["id"], "analyst")
    path = f"/v1/key-results/{key_result['id']}"
    retire = {"reason": "superseded", "reason_code": "wrong_metric", "effective_on": "2026-09-01"}
    ok(client.post(f"{path}/retire", json=retire, headers=analyst))
    created(assess(client, path, analyst))
    assert ok(client.get(path, headers=analyst))["self_assessment"]["grade"] == "0.7"


def test_the_grade_lies_between_0_and_1_and_the_reflection_is_text(
    client: httpx.Client, goals: Goals, analyst: Headers
) -> None:
    goals.open_cycle()
    objective = goals.objective("analyst")
    path = f"/v1/key-results/{goals.key_result(objective['id'], 'analyst')['id']}"
    problem(assess(client, path, analyst, grade="1.01"), 422, "grade")
    problem(assess(client, path, analyst, grade="-0.1"), 422, "grade")
    problem(assess(client, path, analyst, grade="lots"), 422, "grade")
    problem(assess(client, path, analyst, reflection=""), 422, "reflection")
    problem(assess(client, path, analyst, reflection="nul\x00"), 422, "reflection")
    problem(assess(client, f"/v1/objectives/{objective['id']}", analyst, grade="2"), 422, "grade")
    assert ok(client.get(path, headers=analyst))["self_assessment"] is None


def test_the_window_opens_two_weeks_before_the_last_day(
    client: httpx.Client, admin: Headers, analyst: Headers
) -> None:
    today = utc_today()
    goals = Goals(client, admin)

    def cycle_ending(key: str, ends_on: Any) -> str:
        cycle = {"id": key, "starts_on": str(today - timedelta(days=30)), "ends_on": str(ends_on)}
        created(client.post("/v1/cycles", json=cycle, headers=admin))
        objective = goals.objective("analyst", cycle_id=key)
        start = str(today - timedelta(days=30))
        return str(goals.key_result(objective["id"], "analyst", effective_on=start)["id"])

    early = cycle_ending("early", today + timedelta(days=15))
    refused = problem(assess(client, f"/v1/key-results/{early}", analyst), 409)
    assert str(today + timedelta(days=1)) in refused["detail"]
    opened = cycle_ending("opened", today + timedelta(days=14))
    created(assess(client, f"/v1/key-results/{opened}", analyst))


def test_the_window_closes_the_configured_days_after_the_close(
    client: httpx.Client, admin: Headers, goals: Goals, analyst: Headers, monkeypatch: Any
) -> None:
    goals.open_cycle()
    objective = goals.objective("analyst")
    path = f"/v1/key-results/{goals.key_result(objective['id'], 'analyst')['id']}"
    ok(client.post(f"/v1/cycles/{CYCLE['id']}/close", headers=admin))
    monkeypatch.setenv("GOALPOST_SELF_ASSESSMENT_DAYS_AFTER_CLOSE", "0")
    refused = problem(assess(client, path, analyst), 409)
    assert "0 days after the cycle's close" in refused["detail"]
    problem(assess(client, f"/v1/objectives/{objective['id']}", analyst), 409)
    monkeypatch.setenv("GOALPOST_SELF_ASSESSMENT_DAYS_AFTER_CLOSE", "1")
    created(assess(client, path, analyst))


def test_who_may_assess_an_objective(
    client: httpx.Client, goals: Goals, tokens: Tokens, analyst: Headers
) -> None:
    goals.open_cycle()
    objective = f"/v1/objectives/{goals.objective('analyst')['id']}"
    for role in (Role.REVIEWER, Role.AUDITOR, Role.SERVICE):
        problem(assess(client, objective, tokens.headers("analyst", role)), 403)
    problem(assess(client, objective, tokens.headers("broker", Role.MEMBER)), 403)
    created(assess(client, objective, tokens.headers("mentor", Role.MANAGER, reports=["analyst"])))
    created(assess(client, objective, analyst))


def test_a_retried_assessment_is_stored_once_and_a_stale_one_refused(
    client: httpx.Client, goals: Goals, analyst: Headers
) -> None:
    goals.open_cycle()
    path = f"/v1/key-results/{goals.key_result(goals.objective('analyst')['id'], 'analyst')['id']}"
    version = ok(client.get(path, headers=analyst))["version"]
    keyed = {**analyst, "Idempotency-Key": "assess-1"}
    first = created(assess(client, path, keyed))
    again = created(assess(client, path, keyed))
    assert again["version"] == first["version"] == version + 1
    assert again["id"] == first["id"]
    problem(assess(client, path, {**analyst, "If-Match": f'"{version}"'}), 412)
    created(assess(client, path, {**analyst, "If-Match": f'"{version + 1}"'}))
    assert ok(client.get(path, headers=analyst))["version"] == version + 2


def test_scores_show_the_latest_self_assessment_beside_the_computed_score(
    client: httpx.Client, live: LiveServer, admin: Headers, goals: Goals, analyst: Headers
) -> None:
    goals.open_cycle()
    objective = goals.objective("analyst")
    key_result = goals.key_result(objective["id"], "analyst")
    goals.check_in(key_result["id"], value="41")
    ok(client.post(f"/v1/cycles/{CYCLE['id']}/close", headers=admin))
    kr_path = f"/v1/key-results/{key_result['id']}"
    first = ok(client.get(kr_path, headers=analyst))
    created(assess(client, kr_path, analyst))
    created(assess(client, f"/v1/objectives/{objective['id']}", analyst, grade="0.6"))
    known_then = ok(client.get(kr_path, headers=analyst))["self_assessment"]["recorded_at"]
    created(assess(client, kr_path, analyst, grade="0.8"))
    worker_for(live.ledger).run_until_caught_up()

    def board(**params: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        response = client.get("/v1/scores", params=params, headers=analyst)
        assert response.status_code == 200, response.text
        data = response.json()
        [kr] = [k for k in data["key_results"] if k["id"] == key_result["id"]]
        [served] = [o for o in data["objectives"] if o["id"] == objective["id"]]
        return kr, served

    # From the read model, now: the latest of each, beside the unchanged score.
    kr, served = board()
    assert kr["score"] == first["score"]
    assert kr["self_assessment"]["grade"] == "0.8" and kr["self_assessment"]["actor"] == "analyst"
    assert kr["self_assessment"]["reflection"] == "Churn fell;\nthe playbook reached half late."
    assert served["self_assessment"]["grade"] == "0.6"
    # Replayed: the same, and as known before the second, the first.
    replayed_kr, replayed_objective = board(cycle_id=CYCLE["id"], as_of=CYCLE["ends_on"])
    assert replayed_kr["self_assessment"] == kr["self_assessment"]
    assert replayed_objective["self_assessment"] == served["self_assessment"]
    then_kr, then_objective = board(cycle_id=CYCLE["id"], known_at=known_then)
    assert then_kr["self_assessment"]["grade"] == "0.7"
    assert then_kr["self_assessment"]["recorded_at"] == known_then
    assert then_kr["score"] == kr["score"]
    # The objective was assessed after that.
    assert then_objective["self_assessment"] is None


def test_scores_show_no_self_assessment_where_none_was_recorded(
    client: httpx.Client, live: LiveServer, admin: Headers, goals: Goals
) -> None:
    goals.open_cycle()
    objective = goals.objective("analyst")
    goals.key_result(objective["id"], "analyst")
    worker_for(live.ledger).run_until_caught_up()
    response = client.get("/v1/scores", headers=admin)
    assert response.status_code == 200, response.text
    data = response.json()
    assert [k["self_assessment"] for k in data["key_results"]] == [None]
    assert [o["self_assessment"] for o in data["objectives"]] == [None]
