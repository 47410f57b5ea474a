"""How a person stood to a goal, month by month, from its audit-trail rows (ADR 42)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

from projections.audit_trail import TrailEntry
from projections.evidence.items import CycleDates, months_of
from projections.evidence.relations import relations

Q3 = {"2026-Q3": CycleDates(date(2026, 7, 1), date(2026, 9, 30))}
MONTHS = months_of(date(2026, 7, 1), date(2026, 9, 30))


def row(
    goal: UUID, position: int, event: str, day: date | None, holder: str, **after: Any
) -> TrailEntry:
    return TrailEntry(
        position=position, goal_id=goal, goal_kind="key_result", version=position,
        event=event, actor="ceo", recorded_at=datetime(2026, 7, 1, tzinfo=UTC),
        effective_on=day, cycle_id="2026-Q3", owner=holder, reason=None, reason_code=None,
        subject_id=None, before={}, after=after, flags=(),
    )  # fmt: skip


def no_teams(_: date) -> Sequence[str]:
    return ()


def test_a_transfer_splits_ownership_and_a_retirement_ends_it() -> None:
    kr = uuid4()
    rows = [
        row(kr, 1, "created", date(2026, 7, 1), "analyst"),
        row(kr, 2, "transferred", date(2026, 8, 15), "engineer", owner="engineer"),
        row(kr, 3, "retired", date(2026, 9, 10), "engineer"),
    ]
    [analyst] = relations("analyst", MONTHS, Q3, {kr: rows}, no_teams)
    assert (analyst.relation, analyst.starts_on, analyst.ends_on) == (
        "owner",
        date(2026, 7, 1),
        date(2026, 8, 14),
    )
    assert analyst.months == ("2026-07", "2026-08")
    assert [c.event for c in analyst.cites] == ["created", "transferred"]
    [engineer] = relations("engineer", MONTHS, Q3, {kr: rows}, no_teams)
    # Until the retirement, not the cycle's end.
    assert (engineer.starts_on, engineer.ends_on, engineer.months) == (
        date(2026, 8, 15), date(2026, 9, 10), ("2026-08", "2026-09"),
    )  # fmt: skip
    assert relations("cara", MONTHS, Q3, {kr: rows}, no_teams) == []


def test_a_team_goal_counts_for_the_months_its_member_belonged() -> None:
    kr = uuid4()
    rows = [
        row(kr, 1, "created", date(2026, 7, 1), "web-team"),
        row(kr, 2, "contributor_added", date(2026, 9, 1), "web-team", contributor="analyst"),
    ]

    def teams_on(day: date) -> Sequence[str]:
        return ("web-team",) if day < date(2026, 8, 1) else ()

    found = relations("analyst", MONTHS, Q3, {kr: rows}, teams_on)
    assert [(r.relation, r.team, r.months) for r in found] == [
        ("team_member", "web-team", ("2026-07",)),
        ("contributor", None, ("2026-09",)),
    ]
