"""Every event the feed serves matches its type's schema in the AsyncAPI document."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import jsonschema

from application.ledger import GoalLedger
from cli.demo import load_demo
from delivery.asyncapi import asyncapi_document
from delivery.cloud_events import GOAL_TOPICS, TOPICS_BY_TYPE
from delivery.feed import read_page
from domain.graduation import KpiTerms
from domain.signal import (
    cycle_ending_signal,
    key_result_stale_signal,
    kpi_candidate_signal,
    kpi_overdue_signal,
)
from tests.demo_day import DEMO_DAY
from tests.integration.kpi_measured_story import a_key_result_measured_by_a_kpi


def _every_kind_of_change(ledger: GoalLedger) -> None:
    """The demo quarter, then each change it does not make, so every type is written."""
    load_demo(ledger, today=DEMO_DAY)
    # The demo's own quarters are closed or told; a quarter of the test's own takes the rest.
    objective_id, aligned, key_result_id = _a_quarter_to_change(ledger)
    ledger.reweight_key_result(
        actor="ceo", key_result_id=key_result_id, weight="2", reason="matters more",
        reason_code="priorities_changed",
    )  # fmt: skip
    ledger.align_objective(
        actor="ceo", objective_id=aligned, parent_id=objective_id, reason="ladders up",
        reason_code="priorities_changed",
    )  # fmt: skip
    ledger.align_objective(
        actor="ceo", objective_id=aligned, parent_id=None, reason="stands alone",
        reason_code="other",
    )  # fmt: skip
    ledger.retire_objective(
        actor="ceo", objective_id=aligned, reason="folded in", reason_code="duplicate"
    )
    kpi_id = ledger.kpi_ids()[0]
    reading_id = next(iter(ledger.get_kpi(kpi_id).readings))
    ledger.correct_kpi_reading(
        actor="ceo", kpi_id=kpi_id, reading_id=reading_id, value="-0.5", reason="typo"
    )
    ledger.change_kpi_target(
        actor="ceo", kpi_id=kpi_id, target="7", reason="board asked", reason_code="other"
    )
    ledger.retire_kpi(actor="ceo", kpi_id=kpi_id, reason="wrong", reason_code="wrong_metric")
    # Goals change hands, and a key result names a contributor for a while (ADR 42).
    moved = date(2026, 10, 2)
    ledger.transfer_key_result(
        actor="ceo", key_result_id=key_result_id, owner="coo", reason="reorganised",
        effective_on=moved,
    )  # fmt: skip
    ledger.transfer_objective(
        actor="ceo", objective_id=objective_id, owner="coo", reason="reorganised",
        effective_on=moved,
    )  # fmt: skip
    live_kpi = next(k for k in ledger.kpi_ids() if not ledger.get_kpi(k).is_retired)
    ledger.transfer_kpi(actor="ceo", kpi_id=live_kpi, owner="coo", reason="reorganised")
    ledger.add_contributor(
        actor="ceo", key_result_id=key_result_id, contributor="eng-team", effective_on=moved
    )
    ledger.remove_contributor(
        actor="ceo", key_result_id=key_result_id, contributor="eng-team", effective_on=moved
    )
    graduating = ledger.get_objective(objective_id).key_result_ids[-1]
    assert graduating != key_result_id
    ledger.graduate_key_result(
        actor="ceo", key_result_id=graduating, reason="the norm now",
        terms=KpiTerms(
            area="Growth", name="Activation", formula="activated / signed_up",
            data_source="warehouse", cadence="monthly", target="0.4",
        ),
    )  # fmt: skip
    _one_signal_of_each_kind(ledger)
    a_key_result_measured_by_a_kpi(ledger)
    # Access events are not goal events: the feed must leave them out.
    token, _ = ledger.issue_token(actor="ops", subject="svc", roles=["service"])
    ledger.revoke_token(actor="ops", token=token, reason="rotated")
    ledger.close_cycle(actor="ceo", key=TO_CHANGE)
    # Self-assessments are open after the close, within the window (ADR 34).
    ledger.self_assess_key_result(
        actor="ceo", key_result_id=key_result_id, grade="0.6", reflection="half landed"
    )
    ledger.self_assess_objective(
        actor="ceo", objective_id=objective_id, grade="0.5", reflection="steady"
    )
    # Carried forward out of the closed cycle into a later, begun one (ADR 37), under a
    # new objective carrying on its own; its plan as it stood, valid for its direction.
    starts_on = ledger.get_cycle(TO_CHANGE).starts_on + timedelta(days=1)
    ledger.open_cycle(
        actor="ceo", key="carried-into", starts_on=starts_on, ends_on=starts_on + timedelta(90)
    )
    plan = ledger.get_key_result(key_result_id).current_plan
    ledger.carry_forward_key_result(
        actor="ceo", key_result_id=key_result_id, cycle_id="carried-into", reason="goes on",
        baseline=plan.baseline, target=plan.target,
    )  # fmt: skip


TO_CHANGE = "to-change"


def _a_quarter_to_change(ledger: GoalLedger) -> tuple[UUID, UUID, UUID]:
    """An open quarter with an objective of two key results and a second objective."""
    ledger.open_cycle(
        actor="ceo", key=TO_CHANGE, starts_on=date(2026, 10, 1), ends_on=date(2026, 11, 29)
    )
    objective, aligned = (
        ledger.create_objective(
            actor="ceo", cycle_id=TO_CHANGE, title=title, owner="ceo", kind="committed"
        ).id
        for title in ("Changed", "Aligned")
    )
    key_results = [
        ledger.create_key_result(
            actor="ceo", objective_id=objective, title=title, owner="ceo", unit="n",
            direction="increase", baseline=0, target=10, measurement_source="crm",
            measurement_query="count", effective_on=date(2026, 10, 1),
        ).id
        for title in ("Reweighted", "Retired", "Graduating")
    ]  # fmt: skip
    ledger.retire_key_result(
        actor="ceo", key_result_id=key_results[1], reason="dropped", reason_code="other",
        effective_on=date(2026, 10, 2),
    )  # fmt: skip
    return objective, aligned, key_results[0]


def _one_signal_of_each_kind(ledger: GoalLedger) -> None:
    """A quarter left alone and a KPI out of range twice, judged on days when each is due."""
    ledger.open_cycle(
        actor="ceo", key="signals", starts_on=date(2026, 1, 1), ends_on=date(2026, 3, 31)
    )
    objective = ledger.create_objective(
        actor="ceo", cycle_id="signals", title="Quiet", owner="ceo", kind="aspirational"
    ).id
    key_result = ledger.create_key_result(
        actor="ceo", objective_id=objective, title="Left alone", owner="ceo", unit="n",
        direction="increase", baseline=0, target=1, measurement_source="crm",
        measurement_query="count", effective_on=date(2026, 1, 1),
    ).id  # fmt: skip
    kpi = ledger.define_kpi(
        actor="ceo", area="Growth", name="Trials", owner="ceo", unit="n", formula="count",
        data_source="crm", cadence="daily", direction="stay_above", target=10,
    ).id  # fmt: skip
    for day in (1, 2):
        ledger.record_kpi_reading(actor="ceo", kpi_id=kpi, value=1, effective_on=date(2026, 3, day))
    cycle = ledger.get_cycle("signals")
    read = ledger.get_kpi(kpi)
    for signal in (
        key_result_stale_signal(ledger.get_key_result(key_result), cycle, cycle.ends_on),
        kpi_overdue_signal(read, date(2026, 3, 4)),
        kpi_candidate_signal(read),
        cycle_ending_signal(cycle, cycle.ends_on),
    ):
        assert signal is not None and ledger.record_signal(signal)


def _whole_feed(ledger: GoalLedger) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    cursor = 0
    while True:
        page = read_page(ledger, cursor, 500, GOAL_TOPICS)
        events.extend(page.events)
        if not page.events:
            return events
        cursor = page.next_after


def _payload(document: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    # The document's own reference, followed as a reader of it would.
    section, name = message["payload"]["$ref"].removeprefix("#/components/").split("/")
    schema: dict[str, Any] = document["components"][section][name]
    return schema


def test_every_event_served_validates_against_its_message_and_every_type_is_served(
    ledger: GoalLedger,
) -> None:
    document = asyncapi_document()
    validators = {
        name: jsonschema.Draft7Validator(
            _payload(document, message), format_checker=jsonschema.FormatChecker()
        )
        for name, message in document["components"]["messages"].items()
    }
    _every_kind_of_change(ledger)

    events = _whole_feed(ledger)

    seen: dict[str, int] = {}
    for event in events:
        validator = validators[event["type"]]
        errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(event)]
        assert not errors, (event["type"], errors, event)
        # Formats jsonschema leaves unchecked without extra packages.
        datetime.fromisoformat(event["time"])
        seen[event["type"]] = seen.get(event["type"], 0) + 1
    assert set(seen) == set(TOPICS_BY_TYPE), sorted(set(TOPICS_BY_TYPE) - set(seen))
