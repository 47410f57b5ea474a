"""Ownership over time, contributors and review cycles on both stores (ADR 42): what is
stored reads back the same after a reload, and evidence built from the audit trail says who
stood how to each goal, month by month."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest

from application.ledger import GoalLedger
from domain.access import Role
from domain.contributors import contributors_on
from domain.errors import ForbiddenError
from domain.ownership import owner_on
from projections.evidence import EvidenceView
from projections.registry import worker_for
from storage.views import ViewDatabase

FROM, TO = date(2026, 7, 1), date(2026, 9, 30)


def caught_up(ledger: GoalLedger) -> None:
    worker = worker_for(ledger)
    worker.create_tables()
    worker.run_until_caught_up()


def shared_key_result(ledger: GoalLedger) -> str:
    """Activation, the product lead's from July, the platform lead's from 15 August;
    engineering contributes in July and August."""
    ledger.open_cycle(actor="ceo", key="2026-Q3", starts_on=FROM, ends_on=TO)
    objective = ledger.create_objective(
        actor="ceo", cycle_id="2026-Q3", title="Activation", owner="ceo", kind="committed"
    ).id
    kr = ledger.create_key_result(
        actor="ceo", objective_id=objective, title="Activated in a week", owner="product-lead",
        unit="%", direction="increase", baseline="30", target="45",
        measurement_source="warehouse", measurement_query="activated / signed up",
        effective_on=FROM,
    ).id  # fmt: skip
    ledger.record_check_in(
        actor="product-lead", key_result_id=kr, value="33", confidence="on_track",
        effective_on=date(2026, 7, 20),
    )  # fmt: skip
    ledger.transfer_key_result(
        actor="vp-product", key_result_id=kr, owner="platform-lead", reason="reorganised",
        effective_on=date(2026, 8, 15),
    )  # fmt: skip
    ledger.add_contributor(
        actor="vp-product", key_result_id=kr, contributor="eng-lead", effective_on=FROM
    )
    ledger.remove_contributor(
        actor="vp-product", key_result_id=kr, contributor="eng-lead", effective_on=date(2026, 8, 31)
    )
    return str(kr)


def test_transfers_and_contributors_read_back_from_the_store(ledger: GoalLedger) -> None:
    kr = ledger.get_key_result(UUID(shared_key_result(ledger)))
    assert kr.owner == "platform-lead"
    assert owner_on(kr, date(2026, 8, 14), FROM) == "product-lead"
    assert owner_on(kr, date(2026, 8, 15), FROM) == "platform-lead"
    assert contributors_on(kr, date(2026, 8, 31)) == ["eng-lead"]
    assert contributors_on(kr, date(2026, 9, 1)) == []


def test_evidence_holds_each_relation_for_its_months(ledger: GoalLedger) -> None:
    kr = shared_key_result(ledger)
    caught_up(ledger)
    view = EvidenceView(ViewDatabase(ledger), ledger)

    def months(person: str) -> dict[str, tuple[str, ...]]:
        found = view.for_person(person, FROM, TO)
        return {r.relation: r.months for r in found.relations if str(r.goal_id) == kr}

    assert months("product-lead") == {"owner": ("2026-07", "2026-08")}
    assert months("platform-lead") == {"owner": ("2026-08", "2026-09")}
    assert months("eng-lead") == {"contributor": ("2026-07", "2026-08")}


def test_a_reviewer_is_scoped_and_every_read_is_kept(ledger: GoalLedger) -> None:
    ledger.open_review_cycle(actor="hr", key="2026-H2", starts_on=FROM, ends_on=date(2026, 12, 31))
    ledger.assign_reviewer(actor="hr", key="2026-H2", reviewer="cs-lead", reviewee="head-of-cs")
    _, saved = ledger.issue_token(actor="hr", subject="cs-lead", roles=[Role.REVIEWER])
    reviewer = ledger.get_grant(saved.id)
    _, saved = ledger.issue_token(actor="hr", subject="root", roles=[Role.ADMIN])
    admin = ledger.get_grant(saved.id)

    # Its reviewee for a period inside the cycle's: under the cycle; anyone else: refused.
    assert ledger.evidence_scope(reviewer, "head-of-cs", FROM, TO) == "2026-H2"
    with pytest.raises(ForbiddenError):
        ledger.evidence_scope(reviewer, "vp-sales", FROM, TO)
    with pytest.raises(ForbiddenError):
        ledger.evidence_scope(reviewer, "head-of-cs", date(2026, 6, 1), TO)
    # The admin: unscoped.
    assert ledger.evidence_scope(admin, "vp-sales", FROM, TO) is None

    # Reads are kept per person, in order, and listed per review cycle.
    for person, cycle in (("head-of-cs", "2026-H2"), ("head-of-cs", "2026-H2"), ("vp-sales", None)):
        ledger.record_evidence_read(
            actor="cs-lead" if cycle else "root", person=person, roles=["reviewer"],
            review_cycle=cycle, period_from=FROM, period_to=TO, known_at=None,
        )  # fmt: skip
    assert [r.version for r in ledger.evidence_reads("head-of-cs")] == [2, 3]
    assert [(r.reader, r.person) for r in ledger.evidence_reads_in("2026-H2")] == [
        ("cs-lead", "head-of-cs"),
        ("cs-lead", "head-of-cs"),
    ]
    assert [r.review_cycle for r in ledger.evidence_reads("vp-sales")] == [None]


def test_evidence_waits_for_every_event_but_the_records_of_its_own_reads(
    ledger: GoalLedger,
) -> None:
    shared_key_result(ledger)
    caught_up(ledger)
    view = EvidenceView(ViewDatabase(ledger), ledger)
    applied = ledger.recorder.max_notification_id() or 0
    assert view.position_needed() == applied

    # A read recorded since: evidence need not wait for the audit trail to apply it, and
    # what it knows is not cut short by it.
    ledger.record_evidence_read(
        actor="root", person="product-lead", roles=["admin"], review_cycle=None,
        period_from=FROM, period_to=TO, known_at=None,
    )  # fmt: skip
    assert (ledger.recorder.max_notification_id() or 0) > applied
    assert view.position_needed() == applied
    assert view.known_until() is None

    # A goal's event after it: that one it waits for.
    written = ledger.transfer_objective(
        actor="ceo", objective_id=UUID(str(ledger.objective_ids("2026-Q3")[0])),
        owner="coo", reason="reorganised", effective_on=TO,
    )  # fmt: skip
    assert view.position_needed() == written.position
    assert view.known_until() is not None
