"""Read-model routes: audit."""

from __future__ import annotations

from typing import Annotated, Any

from eventsourcing.persistence import PersistenceError
from fastapi import APIRouter, Depends, Query

from api.consistency import Reading, reading
from api.deps import GrantDep, ReadLedgerDep, ViewsDep, authorise
from api.json_body import StrictJSONRoute
from api.problems import ProblemError
from api.routes.common import PROBLEMS
from api.schemas.audit import SealVerification
from domain.authority import Command
from projections.seal import Anchor, Seal, SealUnavailableError, verify

router = APIRouter(tags=["audit"], responses=PROBLEMS, route_class=StrictJSONRoute)

# Documented as every other problem is (whatever shape api.routes.common gives them).
UNAVAILABLE: dict[int | str, dict[str, Any]] = {503: PROBLEMS[422]}


@router.get(
    "/v1/audit/verify",
    response_model=SealVerification,
    responses=UNAVAILABLE,
)
def verify_seal(
    grant: GrantDep,
    # The log beside the read model, on the store it is read from (ADR 31).
    ledger: ReadLedgerDep,
    views: ViewsDep,
    read: Annotated[Reading, Depends(reading(Seal.name))],
    anchor: Annotated[
        str | None,
        Query(
            max_length=100,
            description="POSITION:HASH as an earlier verification gave it (`sealed_up_to` and "
            "`head_hash`); the seal must still have that hash at that position.",
            examples=["153:93af117f228ae9d786badc22e9384333a155f51e268ff4dfd78c1384b044f605"],
        ),
    ] = None,
) -> SealVerification:
    """Recompute the seal over the whole log and name the first position that no longer matches."""
    authorise(grant, Command.VERIFY_SEAL)
    try:
        recorded = Anchor.parse(anchor) if anchor is not None else None
    except ValueError as error:
        raise ProblemError(
            422, "invalid-input", "Invalid input", str(error), field="query.anchor"
        ) from None
    at = read.at()
    try:
        result = verify(ledger, views, anchor=recorded)
    except (SealUnavailableError, PersistenceError) as error:
        raise ProblemError(503, "seal-unavailable", "The seal cannot be read", str(error)) from None
    return SealVerification.of(result, at.position)
