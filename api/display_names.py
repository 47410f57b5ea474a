"""Display names beside the ids a row names: its goal's owner and its actor (ADR 40)."""

from __future__ import annotations

from datetime import date
from typing import TypeVar

from pydantic import BaseModel

from application.people import NameBook
from projections.evidence import PersonEvidence

R = TypeVar("R", bound=BaseModel)


def with_names(row: R, book: NameBook, day: date) -> R:
    """The row with `owner_name` and `actor_name`: each the person's name on the day the
    row describes (the pseudonym once erased); null where the id is no person."""
    owner = getattr(row, "owner", None)
    actor = getattr(row, "actor", None)
    return row.model_copy(
        update={"owner_name": book.name(owner, day), "actor_name": book.name(actor, day)}
    )


def evidence_names(book: NameBook, evidence: PersonEvidence) -> dict[str, str]:
    """The people the evidence names (its person, the goals' owners), each as on the
    period's last day, as known at its `known_at`; ids that are no person are left out."""
    ids = {evidence.person} | {o.owner for o in evidence.objectives if o.owner is not None}
    names = {i: book.name(i, evidence.period_to) for i in sorted(ids)}
    return {i: name for i, name in names.items() if name is not None}
