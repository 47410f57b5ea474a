"""People and teams: HR facts as events, personal data sealed per person (ADRs 40, 41).

Commands are the admin's (the authority table's `manage_people`, `erase_person`); an
operator at the store (grant None) runs them too, as the people import does. The
queries at the end (`teams_of`, `manager_of`, `members_of`, `reports_of`) are what the
rest of Goalpost asks of the people graph, on a day, as known at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from application.authority import authorise
from application.core import LedgerCore, command
from application.values import Saved
from domain.access import AccessGrant
from domain.authority import Command
from domain.base import LedgerAggregate
from domain.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from domain.people import Person, Team, pseudonym
from domain.values import check_identifier, utc_today
from storage.personal_keys import Opener, PersonalKeys
from storage.requests import IdempotentRequest

P = TypeVar("P", Person, Team)


@dataclass(frozen=True)
class PersonView:
    """A person as of a day, as known at a time; the name opened, or the pseudonym."""

    id: str
    display_name: str
    email: str | None
    erased: bool
    as_of: date
    known_at: datetime | None
    teams: list[str]
    manager_id: str | None
    departed_on: date | None
    version: int


@dataclass(frozen=True)
class Member:
    id: str
    display_name: str


@dataclass(frozen=True)
class TeamView:
    id: str
    name: str
    as_of: date
    known_at: datetime | None
    members: list[Member]
    version: int


class PeopleCommands(LedgerCore):
    @cached_property
    def personal_keys(self) -> PersonalKeys:
        return PersonalKeys(self.recorder)

    # Loading

    def _load(
        self, cls: type[P], slug: str, known_at: datetime | None = None, field: str = "id"
    ) -> P:
        label = "person" if cls is Person else "team"
        check_identifier(slug, field)
        aggregate_id = cls.create_id(slug)
        version = None
        if known_at is not None:
            version = self.version_at(aggregate_id, known_at)
            if version is None:
                raise NotFoundError(f"no {label} {slug} at {known_at.isoformat()}")
        try:
            found: LedgerAggregate = self.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            raise NotFoundError(f"no {label} {slug}") from None
        if not isinstance(found, cls):
            raise NotFoundError(f"no {label} {slug}")
        return found

    def get_person(self, person_id: str, known_at: datetime | None = None) -> Person:
        return self._load(Person, person_id, known_at)

    def get_team(self, team_id: str, known_at: datetime | None = None) -> Team:
        return self._load(Team, team_id, known_at)

    def _referenced(self, cls: type[P], slug: str, field: str) -> P:
        try:
            return self._load(cls, slug, field=field)
        except NotFoundError as e:
            raise InvalidInputError(e.message, field=field) from None

    # Commands

    @command
    def form_team(
        self,
        *,
        actor: str,
        team_id: str,
        name: str,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        authorise(grant, Command.MANAGE_PEOPLE)
        team = Team.form(actor=actor, team_id=team_id, name=name)
        if team.id in self.repository:
            raise AlreadyExistsError(f"team {team_id} already exists", field="id")
        return self._save(team, request=request)

    @command
    def register_person(
        self,
        *,
        actor: str,
        person_id: str,
        display_name: str,
        email: str | None,
        effective_on: date,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        authorise(grant, Command.MANAGE_PEOPLE)
        # Before sealing anything: a second registration must not make a key.
        if Person.create_id(check_identifier(person_id, "id")) in self.repository:
            raise AlreadyExistsError(f"person {person_id} already exists", field="id")
        person = Person.register(
            actor=actor,
            person_id=person_id,
            display_name=display_name,
            email=email,
            effective_on=effective_on,
            sealer=self.personal_keys,
        )
        return self._save(person, request=request)

    @command
    def change_person_details(
        self,
        *,
        actor: str,
        person_id: str,
        display_name: str,
        email: str | None,
        effective_on: date,
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        """A new display name (and e-mail) from a day: a name change is a fact too."""
        authorise(grant, Command.MANAGE_PEOPLE)
        person = self.get_person(person_id)
        self._check_version(person, expected_version)
        person.check_not_erased()
        person.change_details(
            actor=actor,
            display_name=display_name,
            email=email,
            effective_on=effective_on,
            sealer=self.personal_keys,
        )
        return self._save(person, request=request)

    @command
    def change_membership(
        self,
        *,
        actor: str,
        person_id: str,
        team_id: str,
        joins: bool,
        effective_on: date,
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        """Join (or leave) a team from a day: the person's and the team's event, one save."""
        authorise(grant, Command.MANAGE_PEOPLE)
        person = self.get_person(person_id)
        self._check_version(person, expected_version)
        team = self._referenced(Team, team_id, "team")
        if joins:
            person.join_team(actor=actor, team_id=team_id, effective_on=effective_on)
            team.record_join(actor=actor, person_id=person_id, effective_on=effective_on)
        else:
            person.leave_team(actor=actor, team_id=team_id, effective_on=effective_on)
            team.record_leave(actor=actor, person_id=person_id, effective_on=effective_on)
        return self._save(person, team, request=request)

    @command
    def change_manager(
        self,
        *,
        actor: str,
        person_id: str,
        manager_id: str | None,
        effective_on: date,
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        authorise(grant, Command.MANAGE_PEOPLE)
        person = self.get_person(person_id)
        self._check_version(person, expected_version)
        unchanged: list[LedgerAggregate] = []
        if manager_id is not None:
            manager = self._referenced(Person, manager_id, "manager_id")
            if manager.departed_by(effective_on):
                raise InvalidInputError(
                    f"{manager_id} left the company on {manager.departed_on}",
                    field="manager_id",
                )
            # Decided on the manager still being there: a departure meanwhile re-decides.
            unchanged.append(manager)
        person.change_manager(actor=actor, manager_id=manager_id, effective_on=effective_on)
        return self._save(person, unchanged=unchanged, request=request)

    @command
    def record_departure(
        self,
        *,
        actor: str,
        person_id: str,
        effective_on: date,
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        """Leaves the company: and so every team they were in, on the same day."""
        authorise(grant, Command.MANAGE_PEOPLE)
        person = self.get_person(person_id)
        self._check_version(person, expected_version)
        teams: list[Team] = []
        for team_id, periods in sorted(person.timeline.periods.items()):
            if periods[-1].end is None:
                team = self.get_team(team_id)
                person.leave_team(actor=actor, team_id=team_id, effective_on=effective_on)
                team.record_leave(actor=actor, person_id=person_id, effective_on=effective_on)
                teams.append(team)
        person.depart(actor=actor, effective_on=effective_on)
        return self._save(person, *teams, request=request)

    @command
    def erase_person(
        self,
        *,
        actor: str,
        person_id: str,
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        """Delete the person's key, then record that it was (ADR 41).

        The key goes first: should the save then fail, the data is already unreadable
        and a retry records the erasure; the other order could leave a recorded erasure
        with the key still there.
        """
        authorise(grant, Command.ERASE_PERSON)
        person = self.get_person(person_id)
        self._check_version(person, expected_version)
        person.check_not_erased()
        self.personal_keys.erase(person.id)
        person.erase(actor=actor)
        return self._save(person, request=request)

    # Reads

    def person_view(
        self, person_id: str, as_of: date | None = None, known_at: datetime | None = None
    ) -> PersonView:
        person = self.get_person(person_id, known_at)
        day = as_of if as_of is not None else utc_today()
        name, email, erased = self._details(person, day)
        return PersonView(
            id=person.person_id,
            display_name=name,
            email=email,
            erased=erased,
            as_of=day,
            known_at=known_at,
            teams=person.teams_on(day),
            manager_id=person.manager_on(day),
            departed_on=person.departed_on
            if person.departed_on is not None and person.departed_on <= day
            else None,
            version=person.version,
        )

    def _details(self, person: Person, day: date) -> tuple[str, str | None, bool]:
        opener = self.personal_keys.opener(person.id)
        if opener.erased or person.erased_at is not None:
            return pseudonym(person.person_id), None, True
        details = person.details_on(day)
        name = opener.open(details.name)
        assert name is not None
        return name, opener.open(details.email), False

    def team_view(
        self, team_id: str, as_of: date | None = None, known_at: datetime | None = None
    ) -> TeamView:
        team = self.get_team(team_id, known_at)
        day = as_of if as_of is not None else utc_today()
        # Names as known at the same time as the team's members.
        book = self.name_book(known_at)
        members = [
            Member(member, book.name(member, day) or pseudonym(member))
            for member in team.members_on(day)
        ]
        return TeamView(team.team_id, team.name, day, known_at, members, team.version)

    def display_name(
        self, person_id: str, on: date, known_at: datetime | None = None
    ) -> str | None:
        """The person's name on the day (the pseudonym once erased); None: no such person."""
        try:
            person = self.get_person(person_id, known_at)
        except (NotFoundError, InvalidInputError):
            return None
        return self._details(person, on)[0]

    def display_names(
        self, ids: set[str], on: date, known_at: datetime | None = None
    ) -> dict[str, str]:
        """Names of those of these ids that are known people (owners may be teams)."""
        found = {i: self.display_name(i, on, known_at) for i in sorted(ids)}
        return {i: name for i, name in found.items() if name is not None}

    def name_book(self, known_at: datetime | None = None) -> NameBook:
        return NameBook(self, known_at)

    # The people graph, for the rest of Goalpost

    def teams_of(self, person: str, on: date, known_at: datetime | None = None) -> list[str]:
        return self.get_person(person, known_at).teams_on(on)

    def manager_of(self, person: str, on: date, known_at: datetime | None = None) -> str | None:
        return self.get_person(person, known_at).manager_on(on)

    def members_of(self, team: str, on: date, known_at: datetime | None = None) -> list[str]:
        return self.get_team(team, known_at).members_on(on)

    def reports_of(self, manager: str, on: date, known_at: datetime | None = None) -> list[str]:
        """Everyone reporting to the manager on the day: reads every person (a company's
        few thousand at most; a read model would serve more)."""
        reports = []
        for person_uuid in self._created_ids(Person.Registered):
            person = self._person_by_uuid(person_uuid, known_at)
            if person is not None and person.manager_on(on) == manager:
                reports.append(person.person_id)
        return sorted(reports)

    def _person_by_uuid(self, person_uuid: UUID, known_at: datetime | None) -> Person | None:
        version = None
        if known_at is not None:
            version = self.version_at(person_uuid, known_at)
            if version is None:
                return None
        found: LedgerAggregate = self.repository.get(person_uuid, version=version)
        return found if isinstance(found, Person) else None


class NameBook:
    """Display names of the people among some ids, on given days, as known at a time.

    For reads that show names beside ids (history, the change report, evidence): each
    person is loaded and their key read once per book, however many rows name them. An
    id that is no person (a team, an operator) has no name.
    """

    def __init__(self, ledger: PeopleCommands, known_at: datetime | None = None) -> None:
        self._ledger = ledger
        self._known_at = known_at
        self._people: dict[str, tuple[Person, Opener] | None] = {}

    def name(self, person_id: str | None, on: date) -> str | None:
        if person_id is None:
            return None
        if person_id not in self._people:
            self._people[person_id] = self._load(person_id)
        found = self._people[person_id]
        if found is None:
            return None
        person, opener = found
        if opener.erased or person.erased_at is not None:
            return pseudonym(person.person_id)
        return opener.open(person.details_on(on).name)

    def _load(self, person_id: str) -> tuple[Person, Opener] | None:
        try:
            person = self._ledger.get_person(person_id, self._known_at)
        except (NotFoundError, InvalidInputError):
            return None
        return person, self._ledger.personal_keys.opener(person.id)
