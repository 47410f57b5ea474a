"""Appraisal evidence for reviewers: JSON, or a printable page with `Accept: text/html`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response
from fastapi.responses import HTMLResponse

from api.consistency import MinPosition, read_at
from api.deps import GrantDep, LedgerDep, ReadLedgerDep, ViewsDep
from api.display_names import evidence_names
from api.evidence_page import render_evidence
from api.json_body import StrictJSONRoute
from api.problems import ProblemError
from api.routes.common import PROBLEMS, UNAVAILABLE, KnownAt, read_model_unavailable, utc
from api.schemas.common import Day
from api.schemas.evidence import EvidencePublic
from projections.audit_trail import AuditTrail
from projections.collector import collector_paused
from projections.evidence import EvidenceView, ReadModelBehindError

router = APIRouter(tags=["evidence"], responses=PROBLEMS, route_class=StrictJSONRoute)

PERSON = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,119}$"
HTML = "text/html"
JSON = "application/json"


def _quality(accept: str, media_type: str) -> float:
    """The q the Accept header gives a media type (most specific range wins)."""
    kind = media_type.split("/", maxsplit=1)[0]
    best: tuple[int, float] = (-1, 0.0)
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        specificity = {media_type: 2, f"{kind}/*": 1, "*/*": 0}.get(media)
        if specificity is None:
            continue
        q = 1.0
        for param in fields[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        best = max(best, (specificity, q))
    return best[1]


def wants_html(accept: str | None) -> bool:
    """HTML when the client prefers it to JSON; JSON on a tie or without Accept."""
    if not accept:
        return False
    return _quality(accept, HTML) > _quality(accept, JSON)


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {HTML: {"schema": {"type": "string"}}},
        "description": "The evidence; a printable page with `Accept: text/html`.",
    },
    **UNAVAILABLE,
}


@router.get("/v1/people/{person}/evidence", response_model=EvidencePublic, responses=_RESPONSES)
def person_evidence(
    person: Annotated[
        str,
        Path(
            pattern=PERSON,
            description="The goal owner under review; 404 if they own no goal (objective, "
            "key result or KPI) recorded by `known_at`.",
        ),
    ],
    period_from: Annotated[Day, Query(alias="from", description="First day of the period.")],
    period_to: Annotated[Day, Query(alias="to", description="Last day of the period.")],
    views: ViewsDep,
    # The log beside the read model, on the store it is read from (ADR 31).
    ledger: ReadLedgerDep,
    grant: GrantDep,
    # Review cycles are read, and the read recorded, on the primary.
    writer: LedgerDep,
    response: Response,
    known_at: KnownAt = None,
    min_position: MinPosition = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Appraisal evidence for a person and a period; the same `known_at` gives the same bytes.

    A reviewer reads only the reviewees it is assigned in a review cycle holding the
    period; an admin reads anyone's. Every read is recorded for auditors (ADR 42).
    """
    review_cycle = writer.evidence_scope(grant, person, period_from, period_to)
    view = EvidenceView(views, ledger)
    # Evidence holds every event up to its `known_at`: it waits for the log's head (but
    # for the records of evidence reads, which it never shows), or refuses. Position and
    # head go in headers only: the body is the same bytes for the same `known_at`,
    # however far the log has moved since.
    with read_model_unavailable(retry_after="1"):
        needed = view.position_needed()
    at = read_at(views, AuditTrail.name, max(min_position or 0, needed) or None, response)
    try:
        with read_model_unavailable(retry_after="1"):
            evidence = view.for_person(person, period_from, period_to, utc(known_at))
    except ReadModelBehindError as behind:
        raise ProblemError(
            503,
            "evidence-catching-up",
            "Evidence is catching up",
            f"{behind}; retry shortly, or ask for a known_at up to "
            f"{behind.known_until.isoformat()}",
            field="known_at",
            headers={"Retry-After": "1"},
        ) from None
    # Recorded once the evidence is in hand: a refused or failed read showed nothing.
    writer.record_evidence_read(
        actor=grant.subject,
        person=person,
        roles=sorted(r.value for r in grant.roles),
        review_cycle=review_cycle,
        period_from=period_from,
        period_to=period_to,
        known_at=utc(known_at),
    )
    headers = {"Vary": "Accept", "Cache-Control": "private, no-store", **at.headers()}
    # The answer is as many objects again as the evidence, none in a cycle either.
    with collector_paused():
        names = evidence_names(ledger.name_book(evidence.known_at), evidence)
        if wants_html(accept):
            return HTMLResponse(render_evidence(evidence, names), headers=headers)
        body = EvidencePublic.of(evidence).model_copy(update={"names": names}).model_dump_json()
    return Response(body, media_type=JSON, headers=headers)
