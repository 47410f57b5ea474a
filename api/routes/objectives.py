"""Objectives: create, align, retire, self-assess, read one, list."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from api.deps import (
    ExpectedVersionDep,
    GrantDep,
    IdempotencyDep,
    LedgerDep,
    ViewsDep,
    authorise,
)
from api.json_body import StrictJSONRoute
from api.routes.common import PROBLEMS, AsOf, Cursor, KnownAt, Limit, etag, paginate, utc, written
from api.routes.filters import CYCLE_FILTER, OWNER_FILTER, known_cycle, known_owner
from api.schemas.common import Page, Retire, Written
from api.schemas.objectives import Align, ObjectiveCreate, ObjectivePublic
from api.schemas.self_assessments import SelfAssessmentCreate, SelfAssessmentPublic
from domain.authority import Command
from domain.errors import NotFoundError
from domain.self_assessment import latest_self_assessment

router = APIRouter(
    prefix="/v1/objectives", tags=["objectives"], responses=PROBLEMS, route_class=StrictJSONRoute
)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_objective(
    body: ObjectiveCreate,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    response: Response,
) -> Written:
    """Create an objective in a cycle, optionally aligned to a parent objective."""
    saved = ledger.create_objective(
        actor=grant.subject,
        cycle_id=body.cycle_id,
        title=body.title,
        owner=body.owner,
        kind=body.kind,
        parent_id=body.parent_id,
        grant=grant,
        request=request,
    )
    return written(response, saved, f"/v1/objectives/{saved.id}")


@router.post("/{objective_id}/align")
def align_objective(
    objective_id: UUID,
    body: Align,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """Align the objective to another (or unalign it with a null parent), with a reason."""
    saved = ledger.align_objective(
        actor=grant.subject,
        objective_id=objective_id,
        parent_id=body.parent_id,
        reason=body.reason,
        reason_code=body.reason_code,
        expected_version=version,
        grant=grant,
        request=request,
    )
    return written(response, saved)


@router.post("/{objective_id}/retire")
def retire_objective(
    objective_id: UUID,
    body: Retire,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """Retire the objective before its time, with a reason; it stays in every report."""
    saved = ledger.retire_objective(
        actor=grant.subject,
        objective_id=objective_id,
        reason=body.reason,
        reason_code=body.reason_code,
        effective_on=body.effective_on,
        expected_version=version,
        grant=grant,
        request=request,
    )
    return written(response, saved)


@router.post("/{objective_id}/self-assessment", status_code=status.HTTP_201_CREATED)
def self_assess_objective(
    objective_id: UUID,
    body: SelfAssessmentCreate,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """Record the owner's grade (0 to 1) and reflection; the computed score is unchanged.

    Open from two weeks before the cycle's last day until a configured number of days
    after its close (ADR 34); a later assessment supersedes an earlier one.
    """
    saved = ledger.self_assess_objective(
        actor=grant.subject,
        objective_id=objective_id,
        grade=body.grade,
        reflection=body.reflection,
        expected_version=version,
        grant=grant,
        request=request,
    )
    return written(response, saved, f"/v1/objectives/{objective_id}")


@router.get("/{objective_id}")
def get_objective(
    objective_id: UUID,
    ledger: LedgerDep,
    grant: GrantDep,
    response: Response,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> ObjectivePublic:
    """The objective with its weighted score and each key result's score."""
    authorise(grant, Command.READ_GOALS)
    moment = utc(known_at)
    objective_status = ledger.objective_status(objective_id, as_of=as_of, known_at=moment)
    etag(response, objective_status.version)
    public = ObjectivePublic.of(objective_status, moment)
    assessment = latest_self_assessment(ledger.get_objective(objective_id, moment))
    public.self_assessment = SelfAssessmentPublic.of(assessment)
    return public


@router.get("")
def list_objectives(
    ledger: LedgerDep,
    views: ViewsDep,
    grant: GrantDep,
    cycle_id: Annotated[str | None, Query(description=CYCLE_FILTER)] = None,
    owner: Annotated[str | None, Query(description=OWNER_FILTER)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ObjectivePublic]:
    """Objectives in creation order, by cycle and owner (404 naming an unknown one)."""
    authorise(grant, Command.READ_GOALS)
    if cycle_id is not None:
        known_cycle(ledger, cycle_id, None, "query.cycle_id")
    if owner is not None:
        known_owner(views, ledger, owner, None, "query.owner")

    def load(objective_id: UUID) -> ObjectivePublic | None:
        try:
            objective = ledger.get_objective(objective_id)
        except NotFoundError:
            return None
        if owner is not None and objective.owner != owner:
            return None
        public = ObjectivePublic.of(ledger.objective_status(objective_id), None)
        public.self_assessment = SelfAssessmentPublic.of(latest_self_assessment(objective))
        return public

    items, next_cursor = paginate(ledger.objective_ids(cycle_id), cursor, limit, load)
    return Page[ObjectivePublic](items=items, next_cursor=next_cursor)
