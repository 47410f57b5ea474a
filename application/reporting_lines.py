"""Write rights from the people graph, as of today (ADR 42): a manager token reaches the
goals of whoever reports to its subject now, besides the reports the token names, and a
member's or manager's team rights reach the teams its subject belongs to now, besides the
team the token names. The authority table is unchanged: this widens what `report` and
`team` mean for a grant, never which rows allow them."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

from application.people import PeopleCommands
from domain.access import AccessGrant, Role
from domain.errors import InvalidInputError, NotFoundError
from domain.values import utc_today


class LiveReports(frozenset[str]):
    """The reports a token names; `in` also asks whether the owner reports to the
    token's subject today (asked only when the token does not name them)."""

    _reports_to: Callable[[str], bool]

    def __new__(cls, named: Iterable[str], reports_to: Callable[[str], bool]) -> LiveReports:
        reports = super().__new__(cls, named)
        reports._reports_to = reports_to
        return reports

    def __contains__(self, owner: object) -> bool:
        if super().__contains__(owner):
            return True
        return isinstance(owner, str) and self._reports_to(owner)


class LiveTeams:
    """The teams the grant's subject belongs to today, asked of the people graph once, and
    only when a goal's owner is not the subject itself."""

    def __init__(self, teams_today: Callable[[], list[str]]) -> None:
        self._teams_today = teams_today
        self._teams: frozenset[str] | None = None

    def __contains__(self, owner: object) -> bool:
        if self._teams is None:
            self._teams = frozenset(self._teams_today())
        return owner in self._teams


def with_reporting_lines(people: PeopleCommands, grant: AccessGrant) -> AccessGrant:
    """The grant, widened by the people graph as of today: a member's or manager's team
    rights reach the teams its subject belongs to today, and a manager's report rights
    whoever reports to it today. The stored grant is not changed (a copy is returned)."""
    if not grant.roles & {Role.MEMBER, Role.MANAGER}:
        return grant
    subject = grant.subject

    def reports_to(owner: str) -> bool:
        # An owner the people graph does not know (a team, a slug) reports to no one.
        try:
            return people.manager_of(owner, utc_today()) == subject
        except (NotFoundError, InvalidInputError):
            return False

    def teams_today() -> list[str]:
        # A subject the people graph does not know (a service, a slug) is in no team.
        try:
            return people.teams_of(subject, utc_today())
        except (NotFoundError, InvalidInputError):
            return []

    widened = copy.copy(grant)
    widened.member_of = LiveTeams(teams_today)
    if Role.MANAGER in grant.roles:
        widened.reports = LiveReports(grant.reports, reports_to)
    return widened
