"""Calibration for auditors and reviewers, from the `scores` read model (docs/adr/0033)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.consistency import Reading, reading
from api.deps import GrantDep, LedgerDep, ViewsDep, authorise
from api.json_body import StrictJSONRoute
from api.routes.common import PROBLEMS, UNAVAILABLE, read_model_unavailable
from api.routes.filters import CYCLE_FILTER, OWNER_FILTER, known_cycle, known_owner
from api.schemas.calibration import CalibrationPage, OwnerCalibration
from domain.authority import Command
from projections.calibration import calibration
from projections.scores import Scores

router = APIRouter(
    tags=["scores"], responses={**PROBLEMS, **UNAVAILABLE}, route_class=StrictJSONRoute
)


@router.get("/v1/calibration")
def get_calibration(
    views: ViewsDep,
    ledger: LedgerDep,
    grant: GrantDep,
    read: Annotated[Reading, Depends(reading(Scores.name))],
    owner: Annotated[str | None, Query(max_length=120, description=OWNER_FILTER)] = None,
    cycle_id: Annotated[str | None, Query(max_length=120, description=CYCLE_FILTER)] = None,
) -> CalibrationPage:
    """Per owner, over the key results of closed cycles: the share of aspirational ones at
    1.0 and at or below 0.3, and of committed ones below 1.0.

    A cycle not yet closed counts in none (its scores are not final): with its
    `cycle_id`, the page is empty. A `cycle_id` never opened, or an `owner` who owns no
    goal, is a 404 naming the parameter.
    """
    authorise(grant, Command.READ_CALIBRATION)
    if cycle_id is not None:
        known_cycle(ledger, cycle_id, None, "query.cycle_id")
    if owner is not None:
        known_owner(views, ledger, owner, None, "query.owner")
    at = read.at()
    with read_model_unavailable():
        found = calibration(views, owner=owner, cycle_id=cycle_id)
    return CalibrationPage(
        owners=[OwnerCalibration.model_validate(row) for row in found],
        position=at.position,
        log_head=at.log_head,
    )
