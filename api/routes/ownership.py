"""Ownership over time (ADR 42): transferring a goal, a key result's contributors, and the
read of who answered for a goal when."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Response, status

from api.deps import ExpectedVersionDep, GrantDep, IdempotencyDep, LedgerDep, authorise
from api.json_body import StrictJSONRoute
from api.routes.common import PROBLEMS, AsOf, KnownAt, etag, utc, written
from api.schemas.common import Identifier, Written
from api.schemas.ownership import (
    ContributionPublic,
    ContributorCreate,
    ContributorEnd,
    GoalOwnershipPublic,
    OwnershipPublic,
    TransferCreate,
)
from domain.authority import Command
from domain.base import LedgerAggregate
from domain.contributors import contributions, contributors_on
from domain.ownership import owner_on, ownerships
from domain.values import utc_today

router = APIRouter(tags=["ownership"], responses=PROBLEMS, route_class=StrictJSONRoute)

Contributor = Annotated[Identifier, Path(description="The contributor's id.")]


@router.post("/v1/key-results/{key_result_id}/transfer", status_code=status.HTTP_201_CREATED)
def transfer_key_result(
    key_result_id: UUID,
    body: TransferCreate,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """Hand the key result to another owner (a person or a team) from a day on."""
    saved = ledger.transfer_key_result(
        actor=grant.subject,
        key_result_id=key_result_id,
        owner=body.owner,
        reason=body.reason,
        effective_on=body.effective_on,
        expected_version=version,
        grant=grant,
        request=request,
    )
    return written(response, saved, f"/v1/key-results/{key_result_id}")


@router.post("/v1/objectives/{objective_id}/transfer", status_code=status.HTTP_201_CREATED)
def transfer_objective(
    objective_id: UUID,
    body: TransferCreate,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """Hand the objective to another owner (a person or a team) from a day on."""
    saved = ledger.transfer_objective(
        actor=grant.subject,
        objective_id=objective_id,
        owner=body.owner,
        reason=body.reason,
        effective_on=body.effective_on,
        expected_version=version,
        grant=grant,
        request=request,
    )
    return written(response, saved, f"/v1/objectives/{objective_id}")


@router.post("/v1/kpis/{kpi_id}/transfer", status_code=status.HTTP_201_CREATED)
def transfer_kpi(
    kpi_id: UUID,
    body: TransferCreate,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """Hand the KPI to another owner (a person or a team) from a day on."""
    saved = ledger.transfer_kpi(
        actor=grant.subject,
        kpi_id=kpi_id,
        owner=body.owner,
        reason=body.reason,
        effective_on=body.effective_on,
        expected_version=version,
        grant=grant,
        request=request,
    )
    return written(response, saved, f"/v1/kpis/{kpi_id}")


@router.post("/v1/key-results/{key_result_id}/contributors", status_code=status.HTTP_201_CREATED)
def add_contributor(
    key_result_id: UUID,
    body: ContributorCreate,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """Name a person or team who works on the key result beside its owner, from a day on."""
    saved = ledger.add_contributor(
        actor=grant.subject,
        key_result_id=key_result_id,
        contributor=body.contributor,
        effective_on=body.effective_on,
        expected_version=version,
        grant=grant,
        request=request,
    )
    return written(response, saved, f"/v1/key-results/{key_result_id}")


@router.post(
    "/v1/key-results/{key_result_id}/contributors/{contributor}/end",
    status_code=status.HTTP_201_CREATED,
)
def end_contribution(
    key_result_id: UUID,
    contributor: Contributor,
    body: ContributorEnd,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """End a contributor's work on the key result; `until` is their last day on it."""
    saved = ledger.remove_contributor(
        actor=grant.subject,
        key_result_id=key_result_id,
        contributor=contributor,
        effective_on=body.until,
        expected_version=version,
        grant=grant,
        request=request,
    )
    return written(response, saved, f"/v1/key-results/{key_result_id}")


def _ownership(
    goal: LedgerAggregate, created_on: date, as_of: date, response: Response
) -> GoalOwnershipPublic:
    etag(response, goal.version)
    return GoalOwnershipPublic(
        id=str(goal.id),
        version=goal.version,
        as_of=as_of,
        owner=owner_on(goal, as_of, created_on),
        owners=[OwnershipPublic.model_validate(o) for o in ownerships(goal, created_on)],
        contributors=contributors_on(goal, as_of),
        contributions=[ContributionPublic.model_validate(c) for c in contributions(goal)],
    )


@router.get("/v1/key-results/{key_result_id}/ownership")
def key_result_ownership(
    key_result_id: UUID,
    ledger: LedgerDep,
    grant: GrantDep,
    response: Response,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> GoalOwnershipPublic:
    """The key result's owner and contributors on a date, and every transfer and span."""
    authorise(grant, Command.READ_GOALS)
    key_result = ledger.get_key_result(key_result_id, utc(known_at))
    day = ledger.day_or_default(ledger.get_cycle(key_result.cycle_id), as_of)
    return _ownership(key_result, key_result.original_plan.effective_on, day, response)


@router.get("/v1/objectives/{objective_id}/ownership")
def objective_ownership(
    objective_id: UUID,
    ledger: LedgerDep,
    grant: GrantDep,
    response: Response,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> GoalOwnershipPublic:
    """The objective's owner on a date, and every transfer."""
    authorise(grant, Command.READ_GOALS)
    objective = ledger.get_objective(objective_id, utc(known_at))
    cycle = ledger.get_cycle(objective.cycle_id)
    day = ledger.day_or_default(cycle, as_of)
    return _ownership(objective, cycle.starts_on, day, response)


@router.get("/v1/kpis/{kpi_id}/ownership")
def kpi_ownership(
    kpi_id: UUID,
    ledger: LedgerDep,
    grant: GrantDep,
    response: Response,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> GoalOwnershipPublic:
    """The KPI's owner on a date, and every transfer."""
    authorise(grant, Command.READ_GOALS)
    kpi = ledger.get_kpi(kpi_id, utc(known_at))
    day = as_of if as_of is not None else utc_today()
    return _ownership(kpi, kpi.thresholds[0].set_on, day, response)
