"""How a person stood to each goal of their evidence, month by month (ADR 42).

A person answers for a goal as its `owner` while they own it (from its creation, or a
transfer to them, until a transfer away), as a `contributor` while named on a key
result, and as a `team_member` while the goal is owned by a team they belong to. Each
relation cites the events that began and ended it. Pure: the same rows and memberships
give the same relations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

from projections.audit_trail import TrailEntry
from projections.evidence.items import Citation, CycleDates, Month, RelationItem

OWNER = "owner"
CONTRIBUTOR = "contributor"
TEAM_MEMBER = "team_member"
DEFINITIONS = ("created", "defined")
RETIREMENTS = ("retired", "graduated")
# A person's teams on a day (none when the people graph does not know them).
TeamsOn = Callable[[date], Sequence[str]]


@dataclass(frozen=True)
class Span:
    """Someone's hold on a goal: from `starts_on` until `ends_on` (its last day, None:
    still), with the events that began it and ended it."""

    holder: str
    starts_on: date
    ends_on: date | None
    began: Citation
    ended: Citation | None

    def holds_on(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


def _life(rows: Sequence[TrailEntry], cycles: Mapping[str, CycleDates]) -> tuple[date, date | None]:
    """The goal's first and last day: from its creation (as dated, as recorded, or its
    cycle's start, whichever is first) until its retirement or its cycle's end."""
    created = next(r for r in rows if r.event in DEFINITIONS)
    cycle = cycles.get(created.cycle_id or "")
    starts = [created.recorded_at.date()]
    if created.effective_on is not None:
        starts.append(created.effective_on)
    if cycle is not None:
        starts.append(cycle.starts_on)
    ends = [r.effective_on for r in rows if r.event in RETIREMENTS and r.effective_on]
    if cycle is not None:
        ends.append(cycle.ends_on)
    return min(starts), min(ends) if ends else None


def _within(spans: Sequence[Span], last_day: date | None) -> list[Span]:
    """The spans cut to the goal's life: none holds after its last day."""
    if last_day is None:
        return list(spans)
    cut = []
    for span in spans:
        if span.starts_on > last_day:
            continue
        if span.ends_on is None or span.ends_on > last_day:
            cut.append(Span(span.holder, span.starts_on, last_day, span.began, span.ended))
        else:
            cut.append(span)
    return cut


def owner_spans(rows: Sequence[TrailEntry], cycles: Mapping[str, CycleDates]) -> list[Span]:
    """The goal's owners in time order: the creation's, then each transfer's."""
    created = next((r for r in rows if r.event in DEFINITIONS), None)
    if created is None or created.owner is None:
        return []
    first_day, last_day = _life(rows, cycles)
    spans = [Span(created.owner, first_day, None, Citation.of(created), None)]
    for row in rows:
        if row.event != "transferred" or row.effective_on is None:
            continue
        last = spans[-1]
        ended = row.effective_on - timedelta(days=1)
        spans[-1] = Span(last.holder, last.starts_on, ended, last.began, Citation.of(row))
        spans.append(Span(str(row.after["owner"]), row.effective_on, None, Citation.of(row), None))
    # A transfer effective on the goal's first day leaves an empty span before it.
    return _within([s for s in spans if s.ends_on is None or s.ends_on >= s.starts_on], last_day)


def contributor_spans(rows: Sequence[TrailEntry], cycles: Mapping[str, CycleDates]) -> list[Span]:
    if not any(r.event in DEFINITIONS for r in rows):
        return []
    spans: list[Span] = []
    for row in rows:
        if row.effective_on is None:
            continue
        name = str(row.after.get("contributor", ""))
        if row.event == "contributor_added":
            spans.append(Span(name, row.effective_on, None, Citation.of(row), None))
        elif row.event == "contributor_removed":
            for index in range(len(spans) - 1, -1, -1):
                span = spans[index]
                if span.holder == name and span.ends_on is None:
                    spans[index] = Span(
                        name, span.starts_on, row.effective_on, span.began, Citation.of(row)
                    )
                    break
    return _within(spans, _life(rows, cycles)[1])


def days_of(months: Sequence[Month]) -> Iterable[date]:
    for month in months:
        day = month.starts_on
        while day <= month.ends_on:
            yield day
            day += timedelta(days=1)


def _item(
    rows: Sequence[TrailEntry],
    relation: str,
    span: Span,
    months: Iterable[str],
    team: str | None = None,
    joined: Sequence[Citation] = (),
) -> RelationItem:
    ended = () if span.ended is None else (span.ended,)
    cites = (span.began, *ended, *joined)
    return RelationItem(
        goal_id=rows[0].goal_id,
        goal_kind=rows[0].goal_kind,
        relation=relation,
        team=team,
        starts_on=span.starts_on,
        ends_on=span.ends_on,
        months=tuple(sorted(set(months))),
        cites=cites,
    )


def relations(
    person: str,
    months: Sequence[Month],
    cycles: Mapping[str, CycleDates],
    rows_by_goal: Mapping[UUID, Sequence[TrailEntry]],
    teams_on: TeamsOn,
    memberships: Sequence[TrailEntry] = (),
) -> list[RelationItem]:
    """Every relation of the person to these goals that held on a day of the period, in
    the goals' log order, then by start; one through a team also cites the person's
    joining and leaving that team (`memberships`, their audit-trail rows)."""
    by_team: dict[str, list[Citation]] = {}
    for row in memberships:
        by_team.setdefault(str(row.after.get("team")), []).append(Citation.of(row))
    teams_by_day = {day: set(teams_on(day)) for day in days_of(months)}
    month_of_day = {day: m.key for m in months for day in days_of([m])}
    found: list[tuple[int, date, str, RelationItem]] = []

    def held(span: Span) -> list[str]:
        """The months the span held in, as the person's own or through a team of theirs."""
        if span.holder == person:
            return [month_of_day[d] for d in teams_by_day if span.holds_on(d)]
        return [
            month_of_day[d]
            for d, teams in teams_by_day.items()
            if span.holds_on(d) and span.holder in teams
        ]

    for rows in rows_by_goal.values():
        if not rows:
            continue
        first = rows[0].position
        for span in owner_spans(rows, cycles):
            own = span.holder == person
            relation, team = (OWNER, None) if own else (TEAM_MEMBER, span.holder)
            if in_months := held(span):
                joined = by_team.get(team, []) if team else []
                item = _item(rows, relation, span, in_months, team=team, joined=joined)
                found.append((first, span.starts_on, relation, item))
        for span in contributor_spans(rows, cycles):
            # A team contributing: each member contributes while a member.
            team = None if span.holder == person else span.holder
            if in_months := held(span):
                joined = by_team.get(team, []) if team else []
                item = _item(rows, CONTRIBUTOR, span, in_months, team=team, joined=joined)
                found.append((first, span.starts_on, CONTRIBUTOR, item))
    found.sort(key=lambda f: (f[0], f[1], f[2]))
    return [item for *_, item in found]
