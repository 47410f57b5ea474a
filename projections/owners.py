"""Who owns goals: an owner is a slug (a person or a team) with no registry of its own, so
an owner is known once they own a goal (an objective, a key result or a KPI).

The audit trail indexes every goal's owner; the events it has not applied yet are read
from the log itself, so an owner whose first goal was just recorded (or transferred to
them, ADR 42) is known at once, however far the trail lags. Someone who once owned a goal
stays known as an owner after a transfer away: their evidence still holds it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from eventsourcing.persistence import PersistenceError
from eventsourcing.utils import get_topic
from psycopg.sql import SQL

from application.ledger import GoalLedger
from domain.base import LedgerAggregate
from domain.key_result import KeyResult
from domain.kpi import Kpi
from domain.objective import Objective
from projections.audit_trail import AuditTrail, placeholders
from storage.views import ViewDatabase

GOAL_KINDS = ("objective", "key_result", "kpi")
# The events that give a goal its owner (`owner`): its creation, and each transfer.
OWNED_FROM = (
    Objective.Created,
    KeyResult.Created,
    Kpi.Defined,
    Objective.Transferred,
    KeyResult.Transferred,
    Kpi.Transferred,
)
# Events of the log's tail read at a time.
PAGE = 500

_OWNER_ROWS = SQL(
    "SELECT t.position FROM {audit_trail} t WHERE t.owner = %s AND t.goal_kind IN "
) + placeholders(len(GOAL_KINDS))
_OWNS_ANY = _OWNER_ROWS + SQL(" LIMIT 1")
_OWNED_BY = _OWNER_ROWS + SQL(" AND t.recorded_at <= %s LIMIT 1")


def owns_a_goal(
    views: ViewDatabase, ledger: GoalLedger, owner: str, known_at: datetime | None = None
) -> bool:
    """Whether `owner` owns a goal recorded by `known_at` (by now, without one)."""
    moment = None if known_at is None else known_at.astimezone(UTC)
    try:
        applied = views.position(AuditTrail.name)
        if moment is None:
            found = views.query(_OWNS_ANY, (owner, *GOAL_KINDS))
        else:
            found = views.query(_OWNED_BY, (owner, *GOAL_KINDS, moment))
        if found:
            return True
    except PersistenceError:
        # No audit trail in this store (`goalpost db init` not run): the log alone says.
        applied = 0
    return _owns_in_log_after(ledger, applied, owner, moment)


def _owns_in_log_after(
    ledger: GoalLedger, applied: int, owner: str, moment: datetime | None
) -> bool:
    """Whether a goal created after log position `applied`, by `moment`, is the owner's."""
    topics = [get_topic(cls) for cls in OWNED_FROM]
    start = applied
    while True:
        page = ledger.recorder.select_notifications(
            start=start, limit=PAGE, topics=topics, inclusive_of_start=False
        )
        for notification in page:
            event = cast(LedgerAggregate.Event, ledger.mapper.to_domain_event(notification))
            recorded = moment is None or event.timestamp <= moment
            if recorded and getattr(event, "owner", None) == owner:
                return True
        if len(page) < PAGE:
            return False
        start = page[-1].id
