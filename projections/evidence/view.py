"""Reading one person's evidence off the audit trail, as it was known at a moment.

Rows recorded after `known_at` are left out, and `known_at` is never later than what
the audit trail holds in full, so the same request with the same `known_at` gives the
same evidence, whatever was recorded since.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import cast
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Composable, Literal

from application.ledger import GoalLedger
from domain.base import LedgerAggregate
from domain.cycle import Cycle
from domain.errors import InvalidInputError, NotFoundError
from domain.people import Person
from domain.review_cycle import EvidenceReadLog
from domain.values import utc_now
from projections.audit_trail import (
    AuditTrail,
    TrailEntry,
    columns_with_before,
    placeholders,
    trail_entries,
)
from projections.collector import collector_paused
from projections.evidence.goals import Scope
from projections.evidence.items import CycleDates, PersonEvidence, months_of
from projections.evidence.person import by_goal, objectives_served, person_evidence
from projections.evidence.relations import TeamsOn, days_of, relations
from storage.rows import json_value, uuid_value
from storage.views import ViewDatabase

# A review period is a half-year or a year; three years bounds the work of one request.
MAX_PERIOD_DAYS = 3 * 366
# Unapplied events read to find the earliest record time the audit trail has not seen.
LAG_SCAN = 200

GOAL_KINDS = ("key_result", "kpi", "objective")
DEFINITIONS = ("created", "defined")
# Events about one dated value: only those effective inside the period are evidence.
DATED_VALUES = (
    "check_in_recorded",
    "check_in_corrected",
    "check_in_from_reading",
    "check_in_corrected_from_reading",
    "reading_recorded",
    "reading_corrected",
)

# The rows of the goals read, of the period: dated values inside it, everything else
# effective by its end (and every definition).
_PERIOD_ROWS = (
    SQL(" AND t.recorded_at <= %s AND (t.effective_on IS NULL OR t.effective_on <= %s")
    + SQL(" OR t.event IN ")
    + placeholders(len(DEFINITIONS))
    + SQL(") AND (t.effective_on >= %s OR t.event NOT IN ")
    + placeholders(len(DATED_VALUES))
    + SQL(") ORDER BY t.position")
)
# Every column of a trail row, but a dated value's `before` left empty: evidence shows a
# check-in's or a reading's value and its corrections, never what stood before it, and a
# heavy person's evidence would otherwise parse that JSON for each of thousands of rows.
EVIDENCE_COLUMNS = columns_with_before(
    SQL("CASE WHEN t.event IN (")
    + SQL(", ").join(Literal(event) for event in DATED_VALUES)
    + SQL(") THEN '{{}}' ELSE t.before END")
)
# A person's joining and leaving teams (ADR 40): cited by the relations through a team.
MEMBERSHIPS = ("joined_team", "left_team")
READ_TOPICS = frozenset(get_topic(c) for c in (EvidenceReadLog.Started, EvidenceReadLog.Read))


# Check-in events of a key result: those before the period count only towards its score
# at the period's end (one with no check-in in the period stands where its last one left
# it), never as evidence of the period.
CHECK_INS = (
    "check_in_recorded",
    "check_in_corrected",
    "check_in_from_reading",
    "check_in_corrected_from_reading",
)


class ReadModelBehindError(Exception):
    """The audit trail has not yet applied every event recorded at or before `known_at`."""

    def __init__(self, known_at: datetime, known_until: datetime) -> None:
        super().__init__(
            f"the audit trail has applied the events recorded up to {known_until.isoformat()},"
            f" not yet all of those up to {known_at.isoformat()}"
        )
        self.known_at = known_at
        self.known_until = known_until


class EvidenceView:
    """Appraisal evidence read from the audit trail; reproducible for a given `known_at`."""

    def __init__(self, database: ViewDatabase, ledger: GoalLedger) -> None:
        self.database = database
        self.ledger = ledger

    # What the audit trail knows

    def _pending(self) -> tuple[int, list[Notification]]:
        """The log position the audit trail must reach for evidence of the whole log, and
        the events it lacks that evidence is made of (at most LAG_SCAN of them): not the
        records of evidence reads (ADR 42), which every read appends and none shows."""
        tracking_name = f"{self.ledger.name}:{AuditTrail.name}"
        applied = self.database.tracking.max_tracking_id(tracking_name) or 0
        head = self.ledger.recorder.max_notification_id() or 0
        if applied >= head:
            return applied, []
        pending = self.ledger.recorder.select_notifications(
            start=applied, limit=LAG_SCAN, inclusive_of_start=False
        )
        if len(pending) >= LAG_SCAN:
            # Too far behind to look through: the head, as for any other read.
            return head, list(pending)
        wanted = [n for n in pending if n.topic not in READ_TOPICS]
        return max((n.id for n in wanted), default=applied), wanted

    def position_needed(self) -> int:
        """The log position the audit trail must reach for evidence of the whole log: its
        head, but for evidence reads recorded since the last event of anything else."""
        needed, _ = self._pending()
        return needed

    def known_until(self) -> datetime | None:
        """None when the audit trail has applied the whole log, else the last moment it
        knows in full: just before the earliest record time among the events it lacks."""
        _, pending = self._pending()
        times = [
            cast(LedgerAggregate.Event, self.ledger.mapper.to_domain_event(n)).timestamp
            for n in pending
        ]
        return min(times) - timedelta(microseconds=1) if times else None

    def resolve_known_at(self, requested: datetime | None) -> datetime:
        """The `known_at` to answer for: as asked, or else now (or as late as is known)."""
        now = utc_now()
        if requested is not None:
            if requested.tzinfo is None:
                raise InvalidInputError("known_at needs a time zone", field="known_at")
            requested = requested.astimezone(UTC)
            if requested > now:
                # Evidence about a time still to come could change: it would not reproduce.
                raise InvalidInputError(
                    f"known_at {requested.isoformat()} is in the future", field="known_at"
                )
        until = self.known_until()
        if requested is None:
            return now if until is None else min(now, until)
        if until is not None and requested > until:
            raise ReadModelBehindError(requested, until)
        return requested

    # The evidence

    def for_person(
        self,
        person: str,
        period_from: date,
        period_to: date,
        known_at: datetime | None = None,
    ) -> PersonEvidence:
        if period_to < period_from:
            raise InvalidInputError("the period must not end before it starts", field="to")
        if (period_to - period_from).days >= MAX_PERIOD_DAYS:
            raise InvalidInputError(
                f"a review period covers at most {MAX_PERIOD_DAYS} days", field="to"
            )
        # Thousands of rows and items, alive until the evidence returns, none in a cycle.
        with collector_paused():
            return self._evidence(person, period_from, period_to, known_at)

    def _evidence(
        self, person: str, period_from: date, period_to: date, known_at: datetime | None
    ) -> PersonEvidence:
        moment = self.resolve_known_at(known_at)
        months = tuple(months_of(period_from, period_to))
        teams_on = self.teams_on(person, moment)
        teams = sorted({t for d in days_of(months) for t in teams_on(d)})
        goal_ids = self.related_goals(person, teams, moment)
        if not goal_ids:
            raise NotFoundError(f"no goals owned by {person} were recorded by {moment.isoformat()}")
        rows = self.period_rows(goal_ids, period_from, period_to, moment)
        opened = self.rows_of_goals(
            [Cycle.create_id(key) for key in sorted({r.cycle_id for r in rows if r.cycle_id})],
            ("opened",),
            moment,
        )
        scope = Scope(
            period_from=period_from,
            period_to=period_to,
            months=months,
            cycles=cycle_dates(opened),
        )
        memberships = (
            self.rows_of_goals([Person.create_id(person)], MEMBERSHIPS, moment) if teams else []
        )
        held = relations(person, months, scope.cycles, by_goal(rows), teams_on, memberships)
        earlier = self.earlier_check_ins(_scored(rows, scope), period_from, moment)
        rows = sorted([*rows, *earlier], key=lambda r: r.position)
        served = self.rows_of_goals(
            objectives_served(rows), ("created", "retired", "self_assessed"), moment
        )
        settled = _to_the_second(moment, rows, opened, served)
        return person_evidence(person, scope, settled, rows, served, held)

    def teams_on(self, person: str, known_at: datetime) -> TeamsOn:
        """The person's teams on a day, by the people graph as known at `known_at` (none
        for an owner the graph does not know: a slug that owns goals, but no person)."""
        try:
            found = self.ledger.get_person(person, known_at)
        except NotFoundError:
            return lambda _: ()
        return found.teams_on

    def related_goals(self, person: str, teams: Sequence[str], known_at: datetime) -> list[UUID]:
        """Goals owned at some time by the person or one of their teams (by the index on
        owners), and key results naming either as a contributor (by the partial index on
        contributor rows), recorded by `known_at`."""
        holders = [person, *teams]
        owned = (
            SQL("SELECT DISTINCT t.goal_id FROM {audit_trail} t WHERE t.owner IN ")
            + placeholders(len(holders))
            + SQL(" AND t.goal_kind IN ")
            + placeholders(len(GOAL_KINDS))
            + SQL(" AND t.recorded_at <= %s")
        )
        found = {
            row["goal_id"]
            for row in self.database.query(
                owned, (*holders, *GOAL_KINDS, known_at), types={"goal_id": uuid_value}
            )
        }
        # The event as a literal, not a parameter: a plan prepared for any event could not
        # use the partial index on contributor rows.
        named = SQL(
            "SELECT t.goal_id, t.after FROM {audit_trail} t"
            " WHERE t.event = 'contributor_added' AND t.recorded_at <= %s"
        )
        for row in self.database.query(
            named, (known_at,), types={"goal_id": uuid_value, "after": json_value}
        ):
            if row["after"].get("contributor") in holders:
                found.add(row["goal_id"])
        return sorted(found, key=str)

    def period_rows(
        self, goal_ids: Sequence[UUID], period_from: date, period_to: date, known_at: datetime
    ) -> list[TrailEntry]:
        query = (
            SQL("SELECT ")
            + EVIDENCE_COLUMNS
            + SQL(" FROM {audit_trail} t WHERE t.goal_id IN ")
            + placeholders(len(goal_ids))
            + SQL(" AND t.goal_kind IN ")
            + placeholders(len(GOAL_KINDS))
            + _PERIOD_ROWS
        )
        params = (
            *goal_ids,
            *GOAL_KINDS,
            known_at,
            period_to,
            *DEFINITIONS,
            period_from,
            *DATED_VALUES,
        )
        return trail_entries(self.database, query, params)

    def earlier_check_ins(
        self, key_result_ids: Sequence[UUID], period_from: date, known_at: datetime
    ) -> list[TrailEntry]:
        """The key results' check-ins (and their corrections) effective before the period."""
        if not key_result_ids:
            return []
        query: Composable = (
            SQL("SELECT ")
            + EVIDENCE_COLUMNS
            + SQL(" FROM {audit_trail} t WHERE t.goal_id IN ")
            + placeholders(len(key_result_ids))
            + SQL(" AND t.event IN ")
            + placeholders(len(CHECK_INS))
            + SQL(" AND t.effective_on < %s AND t.recorded_at <= %s ORDER BY t.position")
        )
        params = (*key_result_ids, *CHECK_INS, period_from, known_at)
        return trail_entries(self.database, query, params)

    def rows_of_goals(
        self, goal_ids: Sequence[UUID], events: Sequence[str], known_at: datetime
    ) -> list[TrailEntry]:
        """The goals' rows of those events recorded by `known_at`, in log order."""
        if not goal_ids:
            return []
        query: Composable = (
            SQL("SELECT ")
            + EVIDENCE_COLUMNS
            + SQL(" FROM {audit_trail} t WHERE t.goal_id IN ")
            + placeholders(len(goal_ids))
            + SQL(" AND t.event IN ")
            + placeholders(len(events))
            + SQL(" AND t.recorded_at <= %s ORDER BY t.position")
        )
        return trail_entries(self.database, query, (*goal_ids, *events, known_at))


def cycle_dates(opened: Sequence[TrailEntry]) -> dict[str, CycleDates]:
    """Each cycle's dates, from the rows of its opening (found by the cycle's derived id,
    which the table indexes)."""
    return {
        str(row.cycle_id): CycleDates(
            date.fromisoformat(row.after["starts_on"]), date.fromisoformat(row.after["ends_on"])
        )
        for row in opened
    }


def _scored(rows: Sequence[TrailEntry], scope: Scope) -> list[UUID]:
    """The key results whose score at the period's end may rest on a check-in before it:
    those whose cycle is not over before the period starts, or with rows in the period."""
    wanted: set[UUID] = set()
    for row in rows:
        if row.goal_kind != "key_result":
            continue
        cycle = scope.cycles.get(row.cycle_id or "")
        if cycle is None or cycle.ends_on >= scope.period_from or scope.in_period(row.effective_on):
            wanted.add(row.goal_id)
    return sorted(wanted, key=str)


def _to_the_second(moment: datetime, *read: Sequence[TrailEntry]) -> datetime:
    """`moment` without its fraction of a second when no row read was recorded in that
    fraction: every query reads rows recorded by `known_at`, so the whole second reads the
    same rows and gives the same evidence, under a time people can read and send back."""
    second = moment.replace(microsecond=0)
    if any(row.recorded_at > second for rows in read for row in rows):
        return moment
    return second
