"""People and teams: HR facts from a day on, read as of a date and as known at a time."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.deps import ExpectedVersionDep, GrantDep, IdempotencyDep, LedgerDep, authorise
from api.json_body import StrictJSONRoute
from api.routes.common import PROBLEMS, AsOf, KnownAt, etag, utc, written
from api.schemas.common import Written
from api.schemas.people import (
    Departure,
    DetailsChange,
    ManagerChange,
    MembershipAction,
    MembershipChange,
    PersonCreate,
    PersonPublic,
    TeamCreate,
    TeamPublic,
)
from domain.authority import Command
from domain.values import utc_today

router = APIRouter(prefix="/v1", tags=["people"], responses=PROBLEMS, route_class=StrictJSONRoute)


@router.post("/people", status_code=status.HTTP_201_CREATED)
def register_person(
    body: PersonCreate,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    response: Response,
) -> Written:
    """Register a person: name and e-mail are stored sealed with the person's own key."""
    saved = ledger.register_person(
        actor=grant.subject,
        person_id=body.id,
        display_name=body.display_name,
        email=body.email,
        effective_on=body.effective_on or utc_today(),
        grant=grant,
        request=request,
    )
    return written(response, saved, f"/v1/people/{body.id}", key=body.id)


@router.get("/people/{person_id}")
def get_person(
    person_id: str,
    ledger: LedgerDep,
    grant: GrantDep,
    response: Response,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> PersonPublic:
    """A person as of a date: name, teams, manager, departure (as known at a time)."""
    authorise(grant, Command.READ_PEOPLE)
    view = ledger.person_view(person_id, as_of, utc(known_at))
    etag(response, view.version)
    return PersonPublic.model_validate(view)


@router.post("/people/{person_id}/name")
def change_details(
    person_id: str,
    body: DetailsChange,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """A new display name (and e-mail) from a day on; earlier days keep the earlier one."""
    saved = ledger.change_person_details(
        actor=grant.subject,
        person_id=person_id,
        display_name=body.display_name,
        email=body.email,
        effective_on=body.effective_on or utc_today(),
        expected_version=version,
        grant=grant,
        request=request,
    )
    return written(response, saved, key=person_id)


@router.post("/people/{person_id}/memberships")
def change_membership(
    person_id: str,
    body: MembershipChange,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """Join or leave a team from a day on (a member from that day; gone on the day left)."""
    saved = ledger.change_membership(
        actor=grant.subject,
        person_id=person_id,
        team_id=body.team,
        joins=body.action is MembershipAction.JOIN,
        effective_on=body.effective_on or utc_today(),
        expected_version=version,
        grant=grant,
        request=request,
    )
    return written(response, saved, key=person_id)


@router.post("/people/{person_id}/manager")
def change_manager(
    person_id: str,
    body: ManagerChange,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """Report to a manager (or to no one) from a day on."""
    saved = ledger.change_manager(
        actor=grant.subject,
        person_id=person_id,
        manager_id=body.manager_id,
        effective_on=body.effective_on or utc_today(),
        expected_version=version,
        grant=grant,
        request=request,
    )
    return written(response, saved, key=person_id)


@router.post("/people/{person_id}/departure")
def record_departure(
    person_id: str,
    body: Departure,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """Leave the company on a day: every team left that day, no manager from it."""
    saved = ledger.record_departure(
        actor=grant.subject,
        person_id=person_id,
        effective_on=body.effective_on or utc_today(),
        expected_version=version,
        grant=grant,
        request=request,
    )
    return written(response, saved, key=person_id)


@router.post("/people/{person_id}/erase")
def erase_person(
    person_id: str,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    version: ExpectedVersionDep,
    response: Response,
) -> Written:
    """Erase the person's name and e-mail for good (their key is deleted); reads then
    show a pseudonym. The erasure itself is recorded: who, when, nothing personal."""
    saved = ledger.erase_person(
        actor=grant.subject,
        person_id=person_id,
        expected_version=version,
        grant=grant,
        request=request,
    )
    return written(response, saved, key=person_id)


@router.post("/teams", status_code=status.HTTP_201_CREATED)
def form_team(
    body: TeamCreate,
    ledger: LedgerDep,
    grant: GrantDep,
    request: IdempotencyDep,
    response: Response,
) -> Written:
    """Form a team: people join it from a day on (`POST /v1/people/{id}/memberships`)."""
    saved = ledger.form_team(
        actor=grant.subject, team_id=body.id, name=body.name, grant=grant, request=request
    )
    return written(response, saved, f"/v1/teams/{body.id}", key=body.id)


@router.get("/teams/{team_id}")
def get_team(
    team_id: str,
    ledger: LedgerDep,
    grant: GrantDep,
    response: Response,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> TeamPublic:
    """A team's members as of a date (as known at a time), with their display names."""
    authorise(grant, Command.READ_PEOPLE)
    view = ledger.team_view(team_id, as_of, utc(known_at))
    etag(response, view.version)
    return TeamPublic.model_validate(view)
