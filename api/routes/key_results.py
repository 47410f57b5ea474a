"""Key results: create, check in, correct, re-baseline, re-weight, retire, self-assess, read."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response, status

from api.deps import (
    ExpectedVersionDep,
    GrantDep,
    IdempotencyDep,
    LedgerDep,
    authorise,
    command_route,
)
from api.json_body import StrictJSONRoute
from api.routes.common import PROBLEMS, AsOf, KnownAt, etag, utc, written
from api.schemas.carry_forward import KeyResultCarryForward
from api.schemas.common import Retire, Written
from api.schemas.graduation import KeyResultGraduation
from api.schemas.key_results import (
    CheckInCreate,
    CorrectionCreate,
    KeyResultCreate,
    KeyResultPublic,
    Rebaseline,
    Reweight,
)
from api.schemas.self_assessments import SelfAssessmentCreate
from domain.authority import Command
from domain.graduation import KpiTerms
from domain.reports import judged
from domain.scoring import bar_for

router = APIRouter(
    prefix="/v1/key-results", tags=["key results"], responses=PROBLEMS, route_class=StrictJSONRoute
)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_key_result(
    body: KeyResultCreate,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    response: Response,
) -> Written:
    """Create a key result under an objective, with its baseline, target and measurement."""
    saved = ledger.create_key_result(
        actor=grant.subject,
        objective_id=body.objective_id,
        title=body.title,
        owner=body.owner,
        unit=body.unit,
        direction=body.direction,
        baseline=body.baseline,
        target=body.target,
        weight=body.weight,
        measurement_source=body.measurement.source,
        measurement_query=body.measurement.query,
        effective_on=body.effective_on,
        grant=grant,
        request=request,
    )
    return written(response, saved, f"/v1/key-results/{saved.id}")


@router.post("/{key_result_id}/check-ins", status_code=status.HTTP_201_CREATED)
@command_route
def record_check_in(
    key_result_id: UUID,
    body: CheckInCreate,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """Record a check-in: a value, a confidence and a note, for an effective date."""
    saved = ledger.record_check_in(
        actor=grant.subject,
        key_result_id=key_result_id,
        value=body.value,
        confidence=body.confidence,
        note=body.note,
        effective_on=body.effective_on,
        expected_version=version,
        grant=grant,
        request=request,
    )
    return written(response, saved, f"/v1/key-results/{key_result_id}")


@router.post("/{key_result_id}/corrections")
@command_route
def correct_check_in(
    key_result_id: UUID,
    body: CorrectionCreate,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """Correct a recorded check-in's value, with a reason; the original stays in the history."""
    saved = ledger.correct_check_in(
        actor=grant.subject,
        key_result_id=key_result_id,
        check_in_id=body.check_in_id,
        value=body.value,
        reason=body.reason,
        reason_code=body.reason_code,
        expected_version=version,
        grant=grant,
        request=request,
    )
    return written(response, saved)


@router.post("/{key_result_id}/rebaseline")
def rebaseline_key_result(
    key_result_id: UUID,
    body: Rebaseline,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """Change the baseline and/or target mid-cycle, with a reason; both plans stay scored."""
    saved = ledger.rebaseline_key_result(
        actor=grant.subject,
        key_result_id=key_result_id,
        baseline=body.baseline,
        target=body.target,
        reason=body.reason,
        reason_code=body.reason_code,
        effective_on=body.effective_on,
        expected_version=version,
        grant=grant,
        request=request,
    )
    return written(response, saved)


@router.post("/{key_result_id}/reweight")
def reweight_key_result(
    key_result_id: UUID,
    body: Reweight,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """Change the key result's weight in its objective's score, with a reason."""
    saved = ledger.reweight_key_result(
        actor=grant.subject,
        key_result_id=key_result_id,
        weight=body.weight,
        reason=body.reason,
        reason_code=body.reason_code,
        effective_on=body.effective_on,
        expected_version=version,
        grant=grant,
        request=request,
    )
    return written(response, saved)


@router.post("/{key_result_id}/retire")
def retire_key_result(
    key_result_id: UUID,
    body: Retire,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """Retire the key result with a reason; reports keep showing it, with the reason."""
    saved = ledger.retire_key_result(
        actor=grant.subject,
        key_result_id=key_result_id,
        reason=body.reason,
        reason_code=body.reason_code,
        effective_on=body.effective_on,
        expected_version=version,
        grant=grant,
        request=request,
    )
    return written(response, saved)


@router.post("/{key_result_id}/graduate", status_code=status.HTTP_201_CREATED)
def graduate_key_result(
    key_result_id: UUID,
    body: KeyResultGraduation,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """Graduate the key result to a new KPI: in one save the key result is retired with
    reason code graduated_to_kpi and the KPI's id, and the KPI is defined with the key
    result's. The response names the KPI; its objective's score keeps the key result."""
    saved = ledger.graduate_key_result(
        actor=grant.subject,
        key_result_id=key_result_id,
        reason=body.reason,
        terms=KpiTerms(
            area=body.area,
            name=body.name,
            unit=body.unit,
            formula=body.definition.formula,
            data_source=body.definition.data_source,
            cadence=body.definition.cadence,
            direction=body.direction,
            target=body.target,
            healthy_low=body.healthy_low,
            healthy_high=body.healthy_high,
        ),
        expected_version=version,
        grant=grant,
        request=request,
    )
    return written(response, saved, f"/v1/kpis/{saved.id}")


@router.post("/{key_result_id}/carry-forward", status_code=status.HTTP_201_CREATED)
def carry_forward_key_result(
    key_result_id: UUID,
    body: KeyResultCarryForward,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """Carry the key result forward to a later, open, begun cycle: in one save it is
    closed as carried forward (reason code carried_forward, its score frozen and still
    counted in its objective) and its successor is created there with `carried_from`.
    The response names the successor (ADR 37)."""
    saved = ledger.carry_forward_key_result(
        actor=grant.subject,
        key_result_id=key_result_id,
        cycle_id=body.cycle_id,
        reason=body.reason,
        baseline=body.baseline,
        target=body.target,
        objective_id=body.objective_id,
        expected_version=version,
        grant=grant,
        request=request,
    )
    return written(response, saved, f"/v1/key-results/{saved.id}")


@router.post("/{key_result_id}/self-assessment", status_code=status.HTTP_201_CREATED)
def self_assess_key_result(
    key_result_id: UUID,
    body: SelfAssessmentCreate,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """Record the owner's grade (0 to 1) and reflection; the computed score is unchanged.

    Open from two weeks before the cycle's last day until a configured number of days
    after its close, to a retired key result too (ADR 34); a later assessment
    supersedes an earlier one.
    """
    saved = ledger.self_assess_key_result(
        actor=grant.subject,
        key_result_id=key_result_id,
        grade=body.grade,
        reflection=body.reflection,
        expected_version=version,
        grant=grant,
        request=request,
    )
    return written(response, saved, f"/v1/key-results/{key_result_id}")


@router.get("/{key_result_id}")
def get_key_result(
    key_result_id: UUID,
    ledger: LedgerDep,
    grant: GrantDep,
    response: Response,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> KeyResultPublic:
    """The key result as of a date and as known at a time, scored on both plans."""
    authorise(grant, Command.READ_GOALS)
    moment = utc(known_at)
    key_result = ledger.get_key_result(key_result_id, moment)
    cycle = ledger.get_cycle(key_result.cycle_id, moment)
    etag(response, key_result.version)
    day = ledger.day_or_default(cycle, as_of)
    # Judged by its objective's kind, as every other read of it is (docs/adr/0033).
    bar = bar_for(ledger.get_objective(key_result.objective_id, moment).kind)
    return KeyResultPublic.of(key_result, judged(key_result.status(cycle, day), bar), moment)
