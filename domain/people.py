"""People and teams: who belonged to which team, and reported to whom, from which date.

Facts are bitemporal like check-ins: each names the day it takes effect (`effective_on`)
and is recorded at a server time. A person's personal data (display name, e-mail) never
enters an event as text: the events carry it sealed by a per-person key kept outside the
log, so deleting that key erases it while the events, and the seal over them, stay as
they are (ADR 41). The domain validates the plain text and asks a `Sealer` to seal it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol
from uuid import UUID

from domain.base import LedgerAggregate, derived_id
from domain.errors import ConflictError, InvalidInputError
from domain.values import MAX_NAME, check_date, check_identifier, check_text

MAX_EMAIL = 254
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


class Sealer(Protocol):
    """Seals a person's text with that person's own key (storage holds the keys)."""

    def seal(self, person_id: UUID, text: str) -> str: ...


class PersonErasedError(ConflictError):
    """The person's personal data was erased: none is kept for them again."""


def check_display_name(value: str) -> str:
    return check_text(value, "display_name", max_len=MAX_NAME)


def check_email(value: str | None) -> str | None:
    if value is None:
        return None
    text = check_text(value, "email", max_len=MAX_EMAIL, required=False)
    if not text:
        return None
    if not _EMAIL.fullmatch(text):
        raise InvalidInputError("email must look like name@domain", field="email")
    return text


def pseudonym(person_id: str) -> str:
    """What reads show for a person whose name was erased, or never known: stable per id."""
    return "person-" + hashlib.sha256(person_id.encode("utf-8")).hexdigest()[:8]


@dataclass
class Period:
    """Membership of one team from `start` (included) to `end` (excluded; None: open)."""

    start: date
    end: date | None = None

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


@dataclass(frozen=True)
class SealedDetails:
    effective_on: date
    name: str
    email: str | None


@dataclass
class _Timeline:
    periods: dict[str, list[Period]] = field(default_factory=dict)
    managers: list[tuple[date, str | None]] = field(default_factory=list)
    details: list[SealedDetails] = field(default_factory=list)


class Person(LedgerAggregate):
    """Identified by a slug (`head-of-cs`), the same slug that owns goals."""

    class Registered(LedgerAggregate.Created):
        person_id: str
        sealed_name: str
        sealed_email: str | None
        effective_on: date

    class DetailsChanged(LedgerAggregate.Event):
        sealed_name: str
        sealed_email: str | None
        effective_on: date

        def apply(self, aggregate: Person) -> None:
            aggregate.add_details(self.effective_on, self.sealed_name, self.sealed_email)

    class JoinedTeam(LedgerAggregate.Event):
        team_id: str
        effective_on: date

        def apply(self, aggregate: Person) -> None:
            aggregate.timeline.periods.setdefault(self.team_id, []).append(
                Period(self.effective_on)
            )

    class LeftTeam(LedgerAggregate.Event):
        team_id: str
        effective_on: date

        def apply(self, aggregate: Person) -> None:
            aggregate.timeline.periods[self.team_id][-1].end = self.effective_on

    class ManagerChanged(LedgerAggregate.Event):
        # None: reports to no one from that day.
        manager_id: str | None
        effective_on: date

        def apply(self, aggregate: Person) -> None:
            aggregate.timeline.managers.append((self.effective_on, self.manager_id))

    class Departed(LedgerAggregate.Event):
        effective_on: date

        def apply(self, aggregate: Person) -> None:
            aggregate.departed_on = self.effective_on

    class Erased(LedgerAggregate.Event):
        """Personal data erased on request: who asked the store to, and when; nothing else."""

        def apply(self, aggregate: Person) -> None:
            aggregate.erased_at = self.timestamp

    @staticmethod
    def create_id(person_id: str) -> UUID:
        return derived_id("person", person_id)

    def __init__(
        self,
        *,
        actor: str,
        person_id: str,
        sealed_name: str,
        sealed_email: str | None,
        effective_on: date,
    ) -> None:
        self.person_id = person_id
        self.registered_on = effective_on
        self.registered_by = actor
        self.timeline = _Timeline()
        self.departed_on: date | None = None
        self.erased_at: datetime | None = None
        self.add_details(effective_on, sealed_name, sealed_email)

    def add_details(self, effective_on: date, name: str, email: str | None) -> None:
        self.timeline.details.append(SealedDetails(effective_on, name, email))

    @classmethod
    def register(
        cls,
        *,
        actor: str,
        person_id: str,
        display_name: str,
        email: str | None,
        effective_on: date,
        sealer: Sealer,
    ) -> Person:
        check_identifier(person_id, "id")
        name = check_display_name(display_name)
        mail = check_email(email)
        check_date(effective_on, "effective_on")
        uuid = cls.create_id(person_id)
        return cls._create(
            cls.Registered,
            id=uuid,
            actor=actor,
            person_id=person_id,
            sealed_name=sealer.seal(uuid, name),
            sealed_email=sealer.seal(uuid, mail) if mail is not None else None,
            effective_on=effective_on,
        )

    # Reading the timeline

    def departed_by(self, day: date) -> bool:
        return self.departed_on is not None and self.departed_on <= day

    def teams_on(self, day: date) -> list[str]:
        if self.departed_by(day) or day < self.registered_on:
            return []
        return sorted(
            team
            for team, periods in self.timeline.periods.items()
            if any(p.covers(day) for p in periods)
        )

    def manager_on(self, day: date) -> str | None:
        if self.departed_by(day):
            return None
        current = None
        for effective_on, manager in self.timeline.managers:
            if effective_on <= day:
                current = manager
        return current

    def details_on(self, day: date) -> SealedDetails:
        """The sealed name and e-mail in effect on the day (the first ones before that)."""
        chosen = self.timeline.details[0]
        for details in self.timeline.details:
            if details.effective_on <= day:
                chosen = details
        return chosen

    def member_of(self, team_id: str, day: date) -> bool:
        return any(p.covers(day) for p in self.timeline.periods.get(team_id, []))

    # Commands

    def _check_fact(self, effective_on: date) -> None:
        check_date(effective_on, "effective_on")
        if effective_on < self.registered_on:
            raise InvalidInputError(
                f"effective_on must not be before {self.person_id} was registered "
                f"({self.registered_on})",
                field="effective_on",
            )
        if self.departed_by(effective_on):
            raise ConflictError(
                f"{self.person_id} left the company on {self.departed_on}; "
                "facts from that day on are not taken"
            )

    def change_details(
        self,
        *,
        actor: str,
        display_name: str,
        email: str | None,
        effective_on: date,
        sealer: Sealer,
    ) -> None:
        self.check_not_erased()
        name = check_display_name(display_name)
        mail = check_email(email)
        self._check_fact(effective_on)
        last = self.timeline.details[-1].effective_on
        if effective_on < last:
            raise InvalidInputError(
                f"effective_on must not be before the last change of name ({last})",
                field="effective_on",
            )
        self.trigger_event(
            self.DetailsChanged,
            actor=actor,
            sealed_name=sealer.seal(self.id, name),
            sealed_email=sealer.seal(self.id, mail) if mail is not None else None,
            effective_on=effective_on,
        )

    def join_team(self, *, actor: str, team_id: str, effective_on: date) -> None:
        check_identifier(team_id, "team")
        self._check_fact(effective_on)
        if self.departed_on is not None:
            # Even backdated: the departure closed every membership, and would not this one.
            raise ConflictError(f"{self.person_id} left the company on {self.departed_on}")
        periods = self.timeline.periods.get(team_id, [])
        if periods and periods[-1].end is None:
            raise ConflictError(
                f"{self.person_id} is a member of {team_id} since {periods[-1].start}"
            )
        if periods and periods[-1].end is not None and effective_on < periods[-1].end:
            raise InvalidInputError(
                f"effective_on must not be before {self.person_id} last left {team_id} "
                f"({periods[-1].end}): a team's facts are recorded in date order",
                field="effective_on",
            )
        self.trigger_event(self.JoinedTeam, actor=actor, team_id=team_id, effective_on=effective_on)

    def leave_team(self, *, actor: str, team_id: str, effective_on: date) -> None:
        check_identifier(team_id, "team")
        self._check_fact(effective_on)
        periods = self.timeline.periods.get(team_id, [])
        if not periods or periods[-1].end is not None:
            raise ConflictError(f"{self.person_id} is not a member of {team_id}")
        if effective_on < periods[-1].start:
            raise InvalidInputError(
                f"effective_on must not be before {self.person_id} joined {team_id} "
                f"({periods[-1].start})",
                field="effective_on",
            )
        self.trigger_event(self.LeftTeam, actor=actor, team_id=team_id, effective_on=effective_on)

    def change_manager(self, *, actor: str, manager_id: str | None, effective_on: date) -> None:
        if manager_id is not None:
            check_identifier(manager_id, "manager_id")
            if manager_id == self.person_id:
                raise InvalidInputError("a person cannot report to themselves", field="manager_id")
        self._check_fact(effective_on)
        managers = self.timeline.managers
        if managers and effective_on < managers[-1][0]:
            raise InvalidInputError(
                f"effective_on must not be before the last change of manager ({managers[-1][0]})",
                field="effective_on",
            )
        if self.manager_on(effective_on) == manager_id:
            raise ConflictError(
                f"{self.person_id} already reports to {manager_id or 'no one'} on {effective_on}"
            )
        self.trigger_event(
            self.ManagerChanged, actor=actor, manager_id=manager_id, effective_on=effective_on
        )

    def depart(self, *, actor: str, effective_on: date) -> None:
        if self.departed_on is not None:
            raise ConflictError(f"{self.person_id} already left the company on {self.departed_on}")
        self._check_fact(effective_on)
        self.trigger_event(self.Departed, actor=actor, effective_on=effective_on)

    def check_not_erased(self) -> None:
        if self.erased_at is not None:
            raise PersonErasedError(
                f"{self.person_id}'s personal data was erased at {self.erased_at.isoformat()}; "
                "none is kept for them again"
            )

    def erase(self, *, actor: str) -> None:
        self.check_not_erased()
        self.trigger_event(self.Erased, actor=actor)


class Team(LedgerAggregate):
    """A team by its slug (`eng-team`), the same slug that owns team goals. Its members'
    joins and leaves are recorded here too, in the same save as the person's, so a
    team's members on a day are read from the team alone."""

    class Formed(LedgerAggregate.Created):
        team_id: str
        name: str

    class MemberJoined(LedgerAggregate.Event):
        person_id: str
        effective_on: date

        def apply(self, aggregate: Team) -> None:
            aggregate.periods.setdefault(self.person_id, []).append(Period(self.effective_on))

    class MemberLeft(LedgerAggregate.Event):
        person_id: str
        effective_on: date

        def apply(self, aggregate: Team) -> None:
            aggregate.periods[self.person_id][-1].end = self.effective_on

    @staticmethod
    def create_id(team_id: str) -> UUID:
        return derived_id("team", team_id)

    def __init__(self, *, actor: str, team_id: str, name: str) -> None:
        self.team_id = team_id
        self.name = name
        self.formed_by = actor
        self.periods: dict[str, list[Period]] = {}

    @classmethod
    def form(cls, *, actor: str, team_id: str, name: str) -> Team:
        check_identifier(team_id, "id")
        text = check_text(name, "name", max_len=MAX_NAME)
        return cls._create(
            cls.Formed, id=cls.create_id(team_id), actor=actor, team_id=team_id, name=text
        )

    def members_on(self, day: date) -> list[str]:
        return sorted(
            person
            for person, periods in self.periods.items()
            if any(p.covers(day) for p in periods)
        )

    def record_join(self, *, actor: str, person_id: str, effective_on: date) -> None:
        """The person's join, decided by the person (Person.join_team)."""
        self.trigger_event(
            self.MemberJoined, actor=actor, person_id=person_id, effective_on=effective_on
        )

    def record_leave(self, *, actor: str, person_id: str, effective_on: date) -> None:
        self.trigger_event(
            self.MemberLeft, actor=actor, person_id=person_id, effective_on=effective_on
        )
