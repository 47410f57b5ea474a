"""Importing people from an HR system's export: only what changed becomes events.

Each row says how a person stood from a day on: their name and e-mail, their one team
(none when empty) and their manager (none when empty). Rows are applied in date order
(file order within a day) to the people as stored; a row that matches how the person
already stands records nothing, so a re-run of the same file records nothing. A team
the file names that does not exist yet is formed, named by its id.

The whole file is decided first without sealing anything, and stored in one save only
if every row passes: an error names the row, and nothing (no event, no key) is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

from application.people import PeopleCommands
from domain.base import LedgerAggregate
from domain.errors import DomainError, InvalidInputError, NotFoundError
from domain.people import Person, Sealer, Team, check_display_name, check_email
from domain.values import check_date, check_identifier


@dataclass(frozen=True)
class PersonRow:
    person_id: str
    display_name: str
    email: str | None
    team: str | None
    manager_id: str | None
    effective_on: date


class PeopleImportError(InvalidInputError):
    """A row the rules refuse: its index among the rows, and why."""

    def __init__(self, index: int, error: DomainError) -> None:
        super().__init__(f"row {index}: {error.message}", field=error.field)
        self.index = index
        self.reason = error.message


@dataclass
class PeopleImportReport:
    rows: int = 0
    unchanged_rows: int = 0
    registered: int = 0
    details_changed: int = 0
    joined: int = 0
    left: int = 0
    manager_changes: int = 0
    teams_formed: int = 0
    # Rows whose name or e-mail was not kept: the person's personal data was erased.
    erased_withheld: int = 0
    events: int = 0
    positions: tuple[int, ...] = field(default=())


class _Unsealed:
    """Stands in for the key store while deciding: nothing is sealed or stored yet."""

    MARK = "unsealed:"

    def seal(self, person_id: UUID, text: str) -> str:
        return self.MARK + text


class _Run:
    def __init__(self, ledger: PeopleCommands, actor: str, sealer: Sealer) -> None:
        self.ledger = ledger
        self.actor = actor
        self.sealer = sealer
        self.people: dict[str, Person] = {}
        self.teams: dict[str, Team] = {}
        self.missing: set[str] = set()
        self.report = PeopleImportReport()

    def person(self, person_id: str) -> Person | None:
        if person_id in self.people:
            return self.people[person_id]
        if person_id in self.missing:
            return None
        try:
            found = self.ledger.get_person(person_id)
        except NotFoundError:
            self.missing.add(person_id)
            return None
        self.people[person_id] = found
        return found

    def team(self, team_id: str) -> Team:
        if team_id not in self.teams:
            try:
                self.teams[team_id] = self.ledger.get_team(team_id)
            except NotFoundError:
                self.teams[team_id] = Team.form(actor=self.actor, team_id=team_id, name=team_id)
                self.report.teams_formed += 1
        return self.teams[team_id]

    def apply(self, row: PersonRow, known: set[str]) -> None:
        before = self.pending()
        person = self.person(row.person_id)
        if person is None:
            person = Person.register(
                actor=self.actor,
                person_id=row.person_id,
                display_name=row.display_name,
                email=row.email,
                effective_on=row.effective_on,
                sealer=self.sealer,
            )
            self.people[row.person_id] = person
            self.missing.discard(row.person_id)
            self.report.registered += 1
        else:
            self.details(person, row)
        self.membership(person, row)
        manager = row.manager_id
        if manager is not None and manager not in known and self.person(manager) is None:
            raise InvalidInputError(
                f"manager_id {manager} is no person, here or in the store", field="manager_id"
            )
        if person.manager_on(row.effective_on) != row.manager_id:
            person.change_manager(
                actor=self.actor, manager_id=row.manager_id, effective_on=row.effective_on
            )
            self.report.manager_changes += 1
        if self.pending() == before:
            self.report.unchanged_rows += 1

    def details(self, person: Person, row: PersonRow) -> None:
        name, email = check_display_name(row.display_name), check_email(row.email)
        current = person.details_on(row.effective_on)
        stored_name = self.reveal(person, current.name)
        if person.erased_at is not None or stored_name is None:
            # Erased (or its key deleted by an erasure not yet recorded): never again.
            self.report.erased_withheld += 1
            return
        if (stored_name, self.reveal(person, current.email)) != (name, email):
            person.change_details(
                actor=self.actor,
                display_name=name,
                email=email,
                effective_on=row.effective_on,
                sealer=self.sealer,
            )
            self.report.details_changed += 1

    def reveal(self, person: Person, value: str | None) -> str | None:
        if value is None:
            return None
        if value.startswith(_Unsealed.MARK):
            return value.removeprefix(_Unsealed.MARK)
        return self.ledger.personal_keys.opener(person.id).open(value)

    def membership(self, person: Person, row: PersonRow) -> None:
        current = person.teams_on(row.effective_on)
        wanted = [row.team] if row.team is not None else []
        if current == wanted:
            return
        for team_id in current:
            if team_id not in wanted:
                person.leave_team(actor=self.actor, team_id=team_id, effective_on=row.effective_on)
                self.team(team_id).record_leave(
                    actor=self.actor, person_id=person.person_id, effective_on=row.effective_on
                )
                self.report.left += 1
        for team_id in wanted:
            if team_id not in current:
                team = self.team(team_id)
                person.join_team(actor=self.actor, team_id=team_id, effective_on=row.effective_on)
                team.record_join(
                    actor=self.actor, person_id=person.person_id, effective_on=row.effective_on
                )
                self.report.joined += 1

    def pending(self) -> int:
        aggregates: list[LedgerAggregate] = [*self.people.values(), *self.teams.values()]
        return sum(len(a.pending_events) for a in aggregates)

    def changed(self) -> list[LedgerAggregate]:
        aggregates: list[LedgerAggregate] = [*self.people.values(), *self.teams.values()]
        return [a for a in aggregates if a.pending_events]


def check_rows(rows: Sequence[PersonRow]) -> None:
    """Each row's own fields, before any is applied."""
    for index, row in enumerate(rows):
        try:
            check_identifier(row.person_id, "person_id")
            check_display_name(row.display_name)
            check_email(row.email)
            if row.team is not None:
                check_identifier(row.team, "team")
            if row.manager_id is not None:
                check_identifier(row.manager_id, "manager_id")
            check_date(row.effective_on, "effective_on")
        except DomainError as error:
            raise PeopleImportError(index, error) from None


def _decide(ledger: PeopleCommands, actor: str, rows: Sequence[PersonRow], sealer: Sealer) -> _Run:
    run = _Run(ledger, actor, sealer)
    known = {row.person_id for row in rows}
    order = sorted(range(len(rows)), key=lambda i: (rows[i].effective_on, i))
    for index in order:
        run.report.rows += 1
        try:
            run.apply(rows[index], known)
        except DomainError as error:
            raise PeopleImportError(index, error) from None
    return run


def import_people(
    ledger: PeopleCommands, *, actor: str, rows: Sequence[PersonRow]
) -> PeopleImportReport:
    """Decide every row unsealed (refusing the first bad one by its index), then decide
    again sealing with the people's keys and store the changes in one save."""
    check_identifier(actor, "actor")
    check_rows(rows)
    _decide(ledger, actor, rows, _Unsealed())
    run = _decide(ledger, actor, rows, ledger.personal_keys)
    changed = run.changed()
    report = run.report
    report.events = sum(len(a.pending_events) for a in changed)
    if changed:
        saved = ledger._save(*changed)
        report.positions = saved.positions
    return report
