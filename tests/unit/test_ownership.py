"""Ownership over time, contributors and review cycles: rules the aggregates enforce (ADR 42)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from domain.contributors import add_contributor, contributions, contributors_on, remove_contributor
from domain.errors import ConflictError, GoalRetiredError, InvalidInputError, NotFoundError
from domain.key_result import KeyResult
from domain.ownership import owner_on, ownerships, transfer
from domain.review_cycle import EvidenceReadLog, ReviewCycle, covering_cycle
from domain.values import utc_today
from tests.unit.test_goals import PRIORITIES, Q3_END, Q3_START, a_cycle, a_key_result, an_objective


def churn() -> KeyResult:
    cycle = a_cycle()
    return a_key_result(cycle, an_objective(cycle))


def test_a_key_result_changes_hands_and_its_past_owner_stays_on_record() -> None:
    kr = churn()
    # The head of CS hands churn to the retention team from mid-August.
    transfer(
        kr,
        KeyResult.Transferred,
        actor="vp-cs",
        owner="retention-team",
        reason="reorganised",
        effective_on=date(2026, 8, 15),
    )
    assert kr.owner == "retention-team"
    assert owner_on(kr, date(2026, 8, 14), Q3_START) == "head-of-cs"
    assert owner_on(kr, date(2026, 8, 15), Q3_START) == "retention-team"
    # Before the goal's first day, the owner it was created with.
    assert owner_on(kr, date(2026, 6, 1), Q3_START) == "head-of-cs"
    spans = ownerships(kr, Q3_START)
    assert [(o.owner, o.effective_on, o.previous_owner) for o in spans] == [
        ("head-of-cs", Q3_START, None),
        ("retention-team", date(2026, 8, 15), "head-of-cs"),
    ]
    assert spans[1].actor == "vp-cs" and spans[1].reason == "reorganised"


def test_transfers_keep_one_time_line() -> None:
    kr = churn()
    transfer(
        kr, KeyResult.Transferred, actor="a", owner="b", reason="r", effective_on=date(2026, 8, 1)
    )
    # Not to the owner it has, not in the future, not before the last transfer.
    with pytest.raises(InvalidInputError) as same:
        transfer(
            kr,
            KeyResult.Transferred,
            actor="a",
            owner="b",
            reason="r",
            effective_on=date(2026, 8, 2),
        )
    assert same.value.field == "owner"
    with pytest.raises(InvalidInputError) as future:
        transfer(
            kr,
            KeyResult.Transferred,
            actor="a",
            owner="c",
            reason="r",
            effective_on=utc_today() + timedelta(days=1),
        )
    assert future.value.field == "effective_on"
    with pytest.raises(InvalidInputError) as earlier:
        transfer(
            kr,
            KeyResult.Transferred,
            actor="a",
            owner="c",
            reason="r",
            effective_on=date(2026, 7, 31),
        )
    assert earlier.value.field == "effective_on"
    with pytest.raises(InvalidInputError) as bad:
        transfer(
            kr, KeyResult.Transferred, actor="a", owner="no one", reason="r", effective_on=Q3_END
        )
    assert bad.value.field == "owner"
    assert kr.version == 2


def test_a_retired_goal_is_not_transferred() -> None:
    cycle = a_cycle()
    kr = a_key_result(cycle, an_objective(cycle))
    kr.retire(actor="a", cycle=cycle, reason=PRIORITIES, effective_on=Q3_START)
    with pytest.raises(GoalRetiredError):
        transfer(kr, KeyResult.Transferred, actor="a", owner="b", reason="r", effective_on=Q3_END)


def test_contributors_come_and_go_by_day() -> None:
    kr = churn()
    add_contributor(
        kr, KeyResult.ContributorAdded, actor="a", contributor="eng-team", effective_on=Q3_START
    )
    remove_contributor(
        kr,
        KeyResult.ContributorRemoved,
        actor="a",
        contributor="eng-team",
        effective_on=date(2026, 8, 31),
    )
    assert contributors_on(kr, date(2026, 8, 31)) == ["eng-team"]
    assert contributors_on(kr, date(2026, 9, 1)) == []
    # Back for a second span after the first ended.
    add_contributor(
        kr,
        KeyResult.ContributorAdded,
        actor="a",
        contributor="eng-team",
        effective_on=date(2026, 9, 15),
    )
    assert [(c.starts_on, c.ends_on) for c in contributions(kr)] == [
        (Q3_START, date(2026, 8, 31)),
        (date(2026, 9, 15), None),
    ]


def test_contributor_rules() -> None:
    kr = churn()
    with pytest.raises(InvalidInputError) as owner:
        add_contributor(
            kr, KeyResult.ContributorAdded, actor="a", contributor="head-of-cs", effective_on=Q3_END
        )
    assert owner.value.field == "contributor"
    add_contributor(
        kr, KeyResult.ContributorAdded, actor="a", contributor="eng", effective_on=date(2026, 8, 1)
    )
    with pytest.raises(ConflictError):
        add_contributor(
            kr, KeyResult.ContributorAdded, actor="a", contributor="eng", effective_on=Q3_END
        )
    with pytest.raises(NotFoundError):
        remove_contributor(
            kr, KeyResult.ContributorRemoved, actor="a", contributor="ops", effective_on=Q3_END
        )
    with pytest.raises(InvalidInputError) as before:
        remove_contributor(
            kr, KeyResult.ContributorRemoved, actor="a", contributor="eng", effective_on=Q3_START
        )
    assert before.value.field == "effective_on"


def test_a_review_cycle_scopes_its_reviewers() -> None:
    h2 = ReviewCycle.open(
        actor="hr", key="2026-H2", starts_on=date(2026, 7, 1), ends_on=date(2026, 12, 31)
    )
    h2.assign(actor="hr", reviewer="cs-lead", reviewee="head-of-cs")
    with pytest.raises(ConflictError):
        h2.assign(actor="hr", reviewer="cs-lead", reviewee="head-of-cs")
    with pytest.raises(InvalidInputError):
        h2.assign(actor="hr", reviewer="cs-lead", reviewee="cs-lead")
    found = covering_cycle([h2], "cs-lead", "head-of-cs", date(2026, 7, 1), date(2026, 9, 30))
    assert found is h2
    # Anyone else, or a period reaching outside the cycle's, is not covered.
    assert covering_cycle([h2], "cs-lead", "vp-sales", date(2026, 7, 1), date(2026, 9, 30)) is None
    assert (
        covering_cycle([h2], "cs-lead", "head-of-cs", date(2026, 6, 1), date(2026, 9, 30)) is None
    )
    with pytest.raises(InvalidInputError):
        ReviewCycle.open(actor="hr", key="x", starts_on=Q3_END, ends_on=Q3_START)


def test_an_evidence_read_log_keeps_every_read() -> None:
    log = EvidenceReadLog.start(actor="cs-lead", person="head-of-cs")
    log.record(
        actor="cs-lead",
        roles=["reviewer"],
        review_cycle="2026-H2",
        period_from=Q3_START,
        period_to=Q3_END,
        known_at=None,
    )
    assert [(r.reader, r.person, r.review_cycle) for r in log.reads] == [
        ("cs-lead", "head-of-cs", "2026-H2")
    ]
    assert log.id == EvidenceReadLog.create_id("head-of-cs")
