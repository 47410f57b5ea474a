"""Review cycles: opening one, assigning reviewers, and scoping and recording every read
of a person's evidence (ADR 42)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from application.authority import authorise
from application.core import LedgerCore, command, replay
from application.values import Saved
from domain.access import AccessGrant, Role
from domain.authority import Command
from domain.errors import AlreadyExistsError, ConcurrencyError, ForbiddenError, NotFoundError
from domain.review_cycle import EvidenceRead, EvidenceReadLog, ReviewCycle, covering_cycle
from domain.values import check_identifier
from storage.requests import IdempotentRequest


class ReviewCycleCommands(LedgerCore):
    @command
    def open_review_cycle(
        self,
        *,
        actor: str,
        key: str,
        starts_on: date,
        ends_on: date,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        authorise(grant, Command.OPEN_REVIEW_CYCLE)
        cycle = ReviewCycle.open(actor=actor, key=key, starts_on=starts_on, ends_on=ends_on)
        if cycle.id in self.repository:
            raise AlreadyExistsError(f"review cycle {key} is already open", field="id")
        try:
            return self._save(cycle, request=request)
        except ConcurrencyError:
            raise AlreadyExistsError(f"review cycle {key} is already open", field="id") from None

    @command
    def assign_reviewer(
        self,
        *,
        actor: str,
        key: str,
        reviewer: str,
        reviewee: str,
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        authorise(grant, Command.ASSIGN_REVIEWER)
        cycle = self.get_review_cycle(key)
        self._check_version(cycle, expected_version)
        cycle.assign(actor=actor, reviewer=reviewer, reviewee=reviewee)
        return self._save(cycle, request=request)

    def get_review_cycle(self, key: str) -> ReviewCycle:
        found = self._optional(ReviewCycle.create_id(check_identifier(key, "review_cycle_id")))
        if not isinstance(found, ReviewCycle):
            raise NotFoundError(f"no review cycle {key}")
        return found

    def review_cycles(self) -> list[ReviewCycle]:
        """Every review cycle, in the order opened."""
        found = (self._optional(i) for i in self._created_ids(ReviewCycle.Opened))
        return [c for c in found if isinstance(c, ReviewCycle)]

    # Evidence reads

    def evidence_scope(
        self, grant: AccessGrant | None, person: str, period_from: date, period_to: date
    ) -> str | None:
        """The review cycle under which the grant reads the person's evidence for the
        period; None for an unscoped read (an admin's, or the operator's). A reviewer not
        assigned to the person in a review cycle holding the period is refused."""
        authorise(grant, Command.READ_EVIDENCE)
        if grant is None or Role.ADMIN in grant.roles:
            return None
        cycle = covering_cycle(self.review_cycles(), grant.subject, person, period_from, period_to)
        if cycle is None:
            raise ForbiddenError(
                f"{grant.subject} is not assigned to review {person} in a review cycle "
                f"holding {period_from}..{period_to}"
            )
        return cycle.key

    @command
    def record_evidence_read(
        self,
        *,
        actor: str,
        person: str,
        roles: list[str],
        review_cycle: str | None,
        period_from: date,
        period_to: date,
        known_at: datetime | None,
    ) -> Saved:
        """One read of a person's evidence, on the person's read log (started by the first)."""
        log = self._optional(EvidenceReadLog.create_id(person))
        if not isinstance(log, EvidenceReadLog):
            log = EvidenceReadLog.start(actor=actor, person=person)
        log.record(
            actor=actor,
            roles=roles,
            review_cycle=review_cycle,
            period_from=period_from,
            period_to=period_to,
            known_at=known_at,
        )
        return self._save(log)

    def evidence_reads(self, person: str) -> list[EvidenceRead]:
        """Every read of the person's evidence, in the order read."""
        log = self._optional(EvidenceReadLog.create_id(check_identifier(person, "person")))
        return list(log.reads) if isinstance(log, EvidenceReadLog) else []

    def evidence_reads_in(self, key: str) -> list[EvidenceRead]:
        """The reads made under a review cycle, of each of its reviewees, in time order."""
        cycle = self.get_review_cycle(key)
        reviewees = sorted({a.reviewee for a in cycle.assignments})
        reads = [r for p in reviewees for r in self.evidence_reads(p) if r.review_cycle == key]
        return sorted(reads, key=lambda r: (r.recorded_at, r.person, r.version))

    def _optional(self, aggregate_id: UUID) -> object | None:
        try:
            return self.repository.get(aggregate_id, projector_func=replay)
        except AggregateNotFoundError:
            return None
