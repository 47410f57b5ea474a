"""Read-model routes: audit."""

from __future__ import annotations

from typing import Annotated, Any

from eventsourcing.persistence import PersistenceError
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.consistency import Reading, reading
from api.deps import GrantDep, LedgerDep, ViewsDep, authorise
from api.json_body import StrictJSONRoute
from api.problems import ProblemError
from api.routes.common import PROBLEMS
from domain.authority import Command
from projections.seal import Anchor, Finding, Seal, SealUnavailableError, verify

router = APIRouter(tags=["audit"], responses=PROBLEMS, route_class=StrictJSONRoute)

# Documented as every other problem is (whatever shape api.routes.common gives them).
UNAVAILABLE: dict[int | str, dict[str, Any]] = {503: PROBLEMS[422]}


class SealVerification(BaseModel):
    """The tamper-evidence seal recomputed over the whole log (a broken seal is still a 200)."""

    intact: bool = Field(
        description="Every event up to `log_head` is sealed and still matches its seal row "
        "and its record time; false while any is not sealed yet (`not_yet_sealed`)."
    )
    checked: int = Field(description="Events recomputed and matched (seal row and record time).")
    sealed_up_to: int = Field(description="The log position the seal covers up to.")
    head_hash: str = Field(
        description="The seal hash at `sealed_up_to` (the last matching one when broken); "
        "record it outside the store and pass it back as `anchor`."
    )
    log_head: int = Field(description="The log's last position: the head verified up to.")
    unsealed: int = Field(
        description="Events after `sealed_up_to`, not sealed yet: while any, not intact."
    )
    first_bad_position: int | None = Field(
        default=None,
        description="The first position that no longer matches (the first unsealed one for "
        "`not_yet_sealed`; the goal's last event for `record_time_inserted`).",
    )
    finding: Finding | None = Field(default=None, description="What was found there.")
    detail: str | None = None
    anchor_checked: bool = Field(
        default=False, description="The `anchor` given was reached and matched."
    )
    position: int = Field(description="The log position the seal read model reflected.")


@router.get(
    "/v1/audit/verify",
    response_model=SealVerification,
    responses=UNAVAILABLE,
)
def verify_seal(
    grant: GrantDep,
    ledger: LedgerDep,
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
    return SealVerification(
        intact=result.intact,
        checked=result.checked,
        sealed_up_to=result.sealed_up_to,
        head_hash=result.head_hash,
        log_head=result.log_head,
        unsealed=result.unsealed,
        first_bad_position=result.first_bad_position,
        finding=result.finding,
        detail=result.detail,
        anchor_checked=result.anchor_checked,
        position=at.position,
    )
