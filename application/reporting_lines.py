"""A manager's write rights from the reporting lines of the people graph, as of today
(ADR 42): a manager token reaches the goals of whoever reports to its subject now, besides
the reports the token names. The authority table is unchanged: this widens what `report`
means for a grant, never which rows allow it."""

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


def with_reporting_lines(people: PeopleCommands, grant: AccessGrant) -> AccessGrant:
    """The grant, a manager's reaching its reports of today; the stored grant is not
    changed (a copy is returned)."""
    if Role.MANAGER not in grant.roles:
        return grant
    subject = grant.subject

    def reports_to(owner: str) -> bool:
        # An owner the people graph does not know (a team, a slug) reports to no one.
        try:
            return people.manager_of(owner, utc_today()) == subject
        except (NotFoundError, InvalidInputError):
            return False

    widened = copy.copy(grant)
    widened.reports = LiveReports(grant.reports, reports_to)
    return widened
