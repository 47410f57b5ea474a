"""Filters that name a cycle or an owner: one that names nothing is a 404 naming the
parameter, as an unknown id in the path is, never an empty answer that reads as "none".

A cycle is known once opened. An owner is a slug with no registry of its own: known once
they own a goal (objective, key result or KPI), as of the read (`known_at` when given).
"""

from __future__ import annotations

from datetime import datetime

from application.ledger import GoalLedger
from domain.cycle import Cycle
from domain.errors import InvalidInputError, NotFoundError
from projections.owners import owns_a_goal
from storage.views import ViewDatabase

CYCLE_FILTER = (
    "Only this cycle (its key, as opened: case matters); 404 if no such cycle was opened "
    "(by `known_at`, when given)."
)
OWNER_FILTER = (
    "Only goals this person or team owns; 404 if they own no goal, objective, key result "
    "or KPI (recorded by `known_at`, when given)."
)


def known_cycle(ledger: GoalLedger, cycle_id: str, known_at: datetime | None, field: str) -> Cycle:
    """The cycle a filter names, or a 404 naming `field` (with the key it differs from only
    in case, if there is one)."""
    try:
        return ledger.get_cycle(cycle_id, known_at)
    except InvalidInputError as invalid:
        raise InvalidInputError(invalid.message, field=field) from None
    except NotFoundError as missing:
        alike = [key for key in ledger.cycle_keys() if key.casefold() == cycle_id.casefold()]
        hint = f" (cycle keys are case-sensitive: did you mean {alike[0]}?)" if alike else ""
        raise NotFoundError(f"{missing.message}{hint}", field=field) from None


def known_owner(
    views: ViewDatabase,
    ledger: GoalLedger,
    owner: str,
    known_at: datetime | None,
    field: str,
) -> None:
    """A 404 naming `field` unless `owner` owns a goal (recorded by `known_at`)."""
    if not owns_a_goal(views, ledger, owner, known_at):
        when = f" recorded by {known_at.isoformat()}" if known_at is not None else ""
        raise NotFoundError(
            f"owner {owner!r} owns no objective, key result or KPI{when}", field=field
        )
