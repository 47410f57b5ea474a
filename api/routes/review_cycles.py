"""Review cycles (ADR 42): who reviews whom over which period, and who read whose evidence."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from api.deps import ExpectedVersionDep, GrantDep, IdempotencyDep, LedgerDep, authorise
from api.json_body import StrictJSONRoute
from api.routes.common import PROBLEMS, etag, written
from api.schemas.common import Identifier, Written
from api.schemas.review_cycles import (
    AssignmentCreate,
    AssignmentPublic,
    EvidenceReadPublic,
    EvidenceReadsPublic,
    ReviewCycleCreate,
    ReviewCyclePublic,
)
from domain.authority import Command
from domain.review_cycle import EvidenceRead

router = APIRouter(tags=["review cycles"], responses=PROBLEMS, route_class=StrictJSONRoute)

Key = Annotated[Identifier, Path(description="The review cycle's id, as opened.")]
Person = Annotated[Identifier, Path(description="The person whose evidence was read.")]


@router.post("/v1/review-cycles", status_code=status.HTTP_201_CREATED)
def open_review_cycle(
    body: ReviewCycleCreate,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    response: Response,
) -> Written:
    """Open a review cycle: the period its reviewers may read their reviewees' evidence for."""
    saved = ledger.open_review_cycle(
        actor=grant.subject,
        key=body.id,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        grant=grant,
        request=request,
    )
    return written(response, saved, f"/v1/review-cycles/{body.id}", key=body.id)


@router.post("/v1/review-cycles/{key}/assignments", status_code=status.HTTP_201_CREATED)
def assign_reviewer(
    key: Key,
    body: AssignmentCreate,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """Assign a reviewer to a reviewee in the review cycle."""
    saved = ledger.assign_reviewer(
        actor=grant.subject,
        key=key,
        reviewer=body.reviewer,
        reviewee=body.reviewee,
        expected_version=version,
        grant=grant,
        request=request,
    )
    return written(response, saved, f"/v1/review-cycles/{key}", key=key)


@router.get("/v1/review-cycles/{key}")
def get_review_cycle(
    key: Key, ledger: LedgerDep, grant: GrantDep, response: Response
) -> ReviewCyclePublic:
    """The review cycle's period and its assignments."""
    authorise(grant, Command.READ_EVIDENCE_READS)
    cycle = ledger.get_review_cycle(key)
    etag(response, cycle.version)
    return ReviewCyclePublic(
        id=cycle.key,
        starts_on=cycle.starts_on,
        ends_on=cycle.ends_on,
        version=cycle.version,
        assignments=[AssignmentPublic.model_validate(a) for a in cycle.assignments],
    )


def _reads(reads: list[EvidenceRead]) -> Response:
    body = EvidenceReadsPublic(reads=[EvidenceReadPublic.model_validate(r) for r in reads])
    return Response(body.model_dump_json(by_alias=True), media_type="application/json")


@router.get("/v1/review-cycles/{key}/evidence-reads", response_model=EvidenceReadsPublic)
def review_cycle_evidence_reads(key: Key, ledger: LedgerDep, grant: GrantDep) -> Response:
    """Every read of evidence made under the review cycle: who read whose, when, for what period."""
    authorise(grant, Command.READ_EVIDENCE_READS)
    return _reads(ledger.evidence_reads_in(key))


@router.get("/v1/people/{person}/evidence-reads", response_model=EvidenceReadsPublic)
def person_evidence_reads(person: Person, ledger: LedgerDep, grant: GrantDep) -> Response:
    """Every read of the person's evidence, scoped or not, in the order read."""
    authorise(grant, Command.READ_EVIDENCE_READS)
    return _reads(ledger.evidence_reads(person))
