"""Review cycles: a period of appraisal, and which reviewer reviews whom in it (ADR 42).

A reviewer token reads the evidence of its reviewees in a cycle it is assigned to, for
a period inside that cycle's, and of no one else; every read of a person's evidence is
recorded on that person's `EvidenceReadLog`, so auditors see who read whose evidence,
when, under which cycle, and the seal covers the record as it covers the goals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from domain.base import LedgerAggregate, derived_id
from domain.errors import ConflictError, InvalidInputError
from domain.values import check_date, check_identifier

# An appraisal covers at most a year and a bit (a review period is a half-year or a year).
MAX_REVIEW_DAYS = 400


@dataclass(frozen=True)
class Assignment:
    reviewer: str
    reviewee: str
    actor: str
    recorded_at: datetime
    version: int


class ReviewCycle(LedgerAggregate):
    class Opened(LedgerAggregate.Created):
        key: str
        starts_on: date
        ends_on: date

    class ReviewerAssigned(LedgerAggregate.Event):
        reviewer: str
        reviewee: str

        def apply(self, aggregate: ReviewCycle) -> None:
            aggregate.assignments.append(
                Assignment(
                    self.reviewer,
                    self.reviewee,
                    self.actor,
                    self.timestamp,
                    self.originator_version,
                )
            )

    @staticmethod
    def create_id(key: str) -> UUID:
        return derived_id("review-cycle", key)

    def __init__(self, *, actor: str, key: str, starts_on: date, ends_on: date) -> None:
        self.key = key
        self.starts_on = starts_on
        self.ends_on = ends_on
        self.opened_by = actor
        self.assignments: list[Assignment] = []

    @classmethod
    def open(cls, *, actor: str, key: str, starts_on: date, ends_on: date) -> ReviewCycle:
        check_identifier(key, "id")
        check_date(starts_on, "starts_on")
        check_date(ends_on, "ends_on")
        if ends_on <= starts_on:
            raise InvalidInputError("ends_on must be after starts_on", field="ends_on")
        if (ends_on - starts_on).days > MAX_REVIEW_DAYS:
            raise InvalidInputError(
                f"a review cycle lasts at most {MAX_REVIEW_DAYS} days", field="ends_on"
            )
        return cls._create(
            cls.Opened,
            id=cls.create_id(key),
            actor=actor,
            key=key,
            starts_on=starts_on,
            ends_on=ends_on,
        )

    def assign(self, *, actor: str, reviewer: str, reviewee: str) -> None:
        who = check_identifier(reviewer, "reviewer")
        whom = check_identifier(reviewee, "reviewee")
        if who == whom:
            raise InvalidInputError("a reviewer does not review themselves", field="reviewee")
        if self.reviews(who, whom):
            raise ConflictError(f"{who} already reviews {whom} in review cycle {self.key}")
        self.trigger_event(self.ReviewerAssigned, actor=actor, reviewer=who, reviewee=whom)

    def reviews(self, reviewer: str, reviewee: str) -> bool:
        return any(a.reviewer == reviewer and a.reviewee == reviewee for a in self.assignments)

    def covers(self, period_from: date, period_to: date) -> bool:
        """Whether the period lies inside the cycle's."""
        return self.starts_on <= period_from and period_to <= self.ends_on

    def reviewees_of(self, reviewer: str) -> list[str]:
        return sorted({a.reviewee for a in self.assignments if a.reviewer == reviewer})


@dataclass(frozen=True)
class EvidenceRead:
    """One read of a person's evidence: by whom, in which role, under which review cycle
    (None: an admin's unscoped read), for which period and `known_at`, recorded when."""

    person: str
    reader: str
    roles: tuple[str, ...]
    review_cycle: str | None
    period_from: date
    period_to: date
    known_at: datetime | None
    recorded_at: datetime
    version: int


class EvidenceReadLog(LedgerAggregate):
    """Every read of one person's evidence, in the order read."""

    class Started(LedgerAggregate.Created):
        person: str

    class Read(LedgerAggregate.Event):
        roles: list[str]
        review_cycle: str | None
        period_from: date
        period_to: date
        known_at: datetime | None

        def apply(self, aggregate: EvidenceReadLog) -> None:
            aggregate.reads.append(
                EvidenceRead(
                    person=aggregate.person,
                    reader=self.actor,
                    roles=tuple(self.roles),
                    review_cycle=self.review_cycle,
                    period_from=self.period_from,
                    period_to=self.period_to,
                    known_at=self.known_at,
                    recorded_at=self.timestamp,
                    version=self.originator_version,
                )
            )

    @staticmethod
    def create_id(person: str) -> UUID:
        return derived_id("evidence-reads", person)

    def __init__(self, *, actor: str, person: str) -> None:
        self.person = person
        self.reads: list[EvidenceRead] = []

    @classmethod
    def start(cls, *, actor: str, person: str) -> EvidenceReadLog:
        return cls._create(
            cls.Started,
            id=cls.create_id(person),
            actor=actor,
            person=check_identifier(person, "person"),
        )

    def record(
        self,
        *,
        actor: str,
        roles: list[str],
        review_cycle: str | None,
        period_from: date,
        period_to: date,
        known_at: datetime | None,
    ) -> None:
        self.trigger_event(
            self.Read,
            actor=actor,
            roles=sorted(roles),
            review_cycle=review_cycle,
            period_from=period_from,
            period_to=period_to,
            known_at=known_at,
        )


def covering_cycle(
    cycles: list[ReviewCycle], reviewer: str, reviewee: str, period_from: date, period_to: date
) -> ReviewCycle | None:
    """The first review cycle (by start, then key) in which the reviewer reviews the
    reviewee over a period holding the one asked for."""
    fitting = [
        c for c in cycles if c.reviews(reviewer, reviewee) and c.covers(period_from, period_to)
    ]
    return min(fitting, key=lambda c: (c.starts_on, c.key)) if fitting else None
