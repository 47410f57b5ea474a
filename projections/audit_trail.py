"""Audit trail: every event of every goal, with who, when, why, and the value before and after.

Flags for the auditors' change report are computed here, once, from the domain's own
aggregates as they stood at that point of the log. What each event shows before and
after is looked up by its class (`audit_changes.HANDLING`), and so are the flags only
some events can raise (`_FLAGS`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import Notification
from psycopg.sql import SQL, Composable

from domain.access import AccessGrant
from domain.base import LedgerAggregate, event_name
from domain.cycle import Cycle
from domain.key_result import KeyResult
from domain.kpi import Kpi
from domain.objective import Objective
from domain.review_cycle import EvidenceReadLog, ReviewCycle
from domain.scoring import TrafficLight
from domain.values import Direction
from projections import audit_changes as changes
from projections import audit_kpi_rows as kpi_rows
from projections.audit_plan_size import oversized
from projections.base import ReadModel
from projections.frozen import quick_init
from storage.rows import Decoder, day, json_value, moment, uuid_value
from storage.views import ViewDatabase, ViewTransaction

BACKDATED_AFTER_DAYS = 7
G = TypeVar("G", bound=LedgerAggregate)

# Events whose effective date is a claim about the past: a check-in or reading for a day,
# a change of plan taking effect on a day. Creation dates the goal's first plan (a goal
# set up late is not a backdated value), and a correction has no date of its own.
BACKDATABLE: frozenset[type[LedgerAggregate.Event]] = frozenset(
    {
        KeyResult.CheckInRecorded,
        KeyResult.Rebaselined,
        KeyResult.Reweighted,
        KeyResult.Retired,
        Objective.Retired,
        Kpi.ReadingRecorded,
        Kpi.TargetChanged,
        Kpi.Retired,
        KeyResult.Transferred,
        Objective.Transferred,
        Kpi.Transferred,
        KeyResult.ContributorAdded,
        KeyResult.ContributorRemoved,
    }
)
# Directions whose target is a ceiling: "lowering the target" there means raising it.
LOWER_IS_BETTER = frozenset({Direction.DECREASE.value, Direction.STAY_BELOW.value})


class Flag(StrEnum):
    """What the change report flags; each is decided once, when the event is projected.

    - target lowered: the new target is easier to reach (lower where higher is better,
      higher for `decrease`/`stay_below` goals), on a re-baseline or a KPI target change;
    - retired while red: the goal scored red on the retirement's effective date;
    - re-baselined after half the cycle: recorded (or effective) past the cycle's midpoint;
    - backdated more than 7 days: recorded over 7 days after the date it is effective on;
    - changed after close: recorded after its cycle was closed (only corrections and
      self-assessments can be, ADR 34);
    - plan oversized: the creation that took its owner past 3 objectives in the cycle, or
      its objective past 5 key results, not counting retired ones (ADR 35);
    - changed mid-cycle: a KPI's target or healthy range changed after the cycle's first
      day, judged against the report's cycle when read (projections.audit_kpi_rows).
    """

    TARGET_LOWERED = "target_lowered"
    RETIRED_WHILE_RED = "retired_while_red"
    REBASELINED_AFTER_HALF = "rebaselined_after_half_the_cycle"
    BACKDATED = "backdated_more_than_7_days"
    CHANGED_AFTER_CLOSE = "changed_after_close"
    PLAN_OVERSIZED = "plan_oversized"
    CHANGED_MID_CYCLE = kpi_rows.MID_CYCLE


FLAGS: tuple[str, ...] = tuple(flag.value for flag in Flag)
# The changes of plan an auditor reviews, whatever their flags (a graduation retires the
# key result, so it is reviewed as a retirement is, ADR 36).
REPORTED_EVENTS = (
    "rebaselined",
    "reweighted",
    "retired",
    "graduated",
    "check_in_corrected",
    # Who answered for the goal when is the appraisal's business too (ADR 42).
    "transferred",
    # Closed in one cycle and carried, with maybe its objective, into another (ADR 37).
    "carried_forward",
    "carried_from",
)
# Recorded after their cycle's close without changing its grades: not flagged for it.
AFTER_CLOSE_UNFLAGGED: frozenset[type[object]] = frozenset({Cycle.Closed, KeyResult.CarriedForward})

KINDS: dict[type[LedgerAggregate], str] = {
    Cycle: "cycle",
    Objective: "objective",
    KeyResult: "key_result",
    Kpi: "kpi",
    AccessGrant: "access_grant",
    ReviewCycle: "review_cycle",
    EvidenceReadLog: "evidence_reads",
}


@dataclass(frozen=True)
class Entry:
    """One row in the making, for the flags to judge."""

    before: dict[str, Any]
    after: dict[str, Any]
    effective_on: date | None
    cycle_id: str | None


class AuditTrail(ReadModel):
    name = "audit_trail"
    # 2: `reported` and its partial index, for the change report.
    # 3: creations past the plan-size guidance flagged and reported (ADR 35).
    # 4: graduations reported (ADR 36).
    # 5: carry-forwards and KPI target changes reported, objectives' scores before a
    #    retirement counting graduated and carried key results (ADR 37).
    # 6: a partial index on self-assessments, which scores read beside each goal (ADR 34).
    # 7: a partial index on contributor rows, which every person's evidence reads.
    version = 7
    _position = 0
    tables = (
        "CREATE TABLE IF NOT EXISTS {audit_trail} ("
        " position {int} PRIMARY KEY,"
        " goal_id {uuid} NOT NULL,"
        " goal_kind {text} NOT NULL,"
        " version {int} NOT NULL,"
        " event {text} NOT NULL,"
        " actor {text} NOT NULL,"
        " recorded_at {time} NOT NULL,"
        " effective_on {date},"
        " cycle_id {text},"
        " owner {text},"
        " reason {text},"
        " reason_code {text},"
        " subject_id {uuid},"
        " before {json} NOT NULL,"
        " after {json} NOT NULL,"
        " flags {json} NOT NULL,"
        # Whether the row belongs in its cycle's change report (decided with its flags).
        " reported {bool} NOT NULL)",
        "CREATE INDEX IF NOT EXISTS goalpost_audit_trail_goal ON {audit_trail} (goal_id, position)",
        # Appraisal evidence reads a person's rows over a period.
        "CREATE INDEX IF NOT EXISTS goalpost_audit_trail_owner"
        " ON {audit_trail} (owner, effective_on)",
        "CREATE INDEX IF NOT EXISTS goalpost_audit_trail_cycle"
        " ON {audit_trail} (cycle_id, position)",
        # A change report reads a few hundred rows of a cycle of hundreds of thousands.
        "CREATE INDEX IF NOT EXISTS goalpost_audit_trail_reported"
        " ON {audit_trail} (cycle_id, position) WHERE reported",
        # Scores show each goal's latest self-assessment: a few rows among a goal's
        # thousands of check-ins, found without reading the others.
        "CREATE INDEX IF NOT EXISTS goalpost_audit_trail_self_assessed"
        " ON {audit_trail} (goal_id, position) WHERE event = 'self_assessed'",
        # A person's evidence looks for the key results naming them as a contributor: a
        # few rows, which without this a 1M-event store read by scanning every row
        # (100 ms of a 120 ms person-quarter).
        "CREATE INDEX IF NOT EXISTS goalpost_audit_trail_contributors"
        " ON {audit_trail} (position) WHERE event = 'contributor_added'",
    )

    # What the event is about to change, read from the goal as it stood.

    def before(self, event: LedgerAggregate.Event, position: int) -> dict[str, Any]:
        self._position = position
        if isinstance(event, LedgerAggregate.Created):
            return {}  # nothing stood before it, and the store need not be asked
        return changes.before(self.replicas.get(event.originator_id, position - 1), event, self)

    def cycle(self, key: str) -> Cycle | None:
        """The goal's cycle as it stood at the event being projected."""
        return self.replicas.typed(Cycle, Cycle.create_id(key), self._position)

    def goal(self, cls: type[G], goal_id: UUID) -> G | None:
        """Any goal as it stood at the event being projected."""
        return self.replicas.typed(cls, goal_id, self._position)

    def key_result(self, key_result_id: UUID) -> KeyResult | None:
        """A key result as it stood at the event being projected."""
        return self.replicas.typed(KeyResult, key_result_id, self._position)

    # The row, from the goal as it stands after the event.

    def after(
        self,
        tx: ViewTransaction,
        event: LedgerAggregate.Event,
        stored: Notification,
        before: dict[str, Any],
    ) -> None:
        self._position = stored.id
        if type(event) in changes.NOT_AUDITED:
            return
        goal = self.replicas.after(event, stored.id)
        if goal is None:
            return
        change = changes.after(goal, event)
        entry = Entry(
            before=before,
            after=change.after,
            effective_on=change.effective_on or getattr(event, "effective_on", None),
            cycle_id=_cycle_of(goal),
        )
        flags = self._flags(goal, event, entry)
        kind = KINDS.get(type(goal), type(goal).__name__.lower())
        name = event_name(event)
        tx.execute(
            "INSERT INTO {audit_trail} (position, goal_id, goal_kind, version, event, actor,"
            " recorded_at, effective_on, cycle_id, owner, reason, reason_code, subject_id,"
            " before, after, flags, reported)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                stored.id,
                event.originator_id,
                kind,
                event.originator_version,
                name,
                event.actor,
                event.timestamp,
                entry.effective_on,
                entry.cycle_id,
                getattr(goal, "owner", None) or getattr(goal, "subject", None),
                getattr(event, "reason", None),
                getattr(event, "reason_code", None),
                change.subject_id,
                entry.before,
                entry.after,
                flags,
                _reported(kind, name, flags, entry.after),
            ),
        )

    def _flags(
        self, goal: LedgerAggregate, event: LedgerAggregate.Event, entry: Entry
    ) -> list[str]:
        """Backdating for every dated claim, the event's own flags, a change after the close."""
        flags: list[Flag] = []
        if (
            type(event) in BACKDATABLE
            and entry.effective_on is not None
            and event.timestamp.date() - entry.effective_on > timedelta(days=BACKDATED_AFTER_DAYS)
        ):
            flags.append(Flag.BACKDATED)
        own_flags = _FLAGS.get(type(event))
        if own_flags is not None:
            flags += own_flags(self, goal, event, entry)
        if entry.cycle_id is not None and type(event) not in AFTER_CLOSE_UNFLAGGED:
            cycle = self.cycle(entry.cycle_id)
            if (
                cycle is not None
                and cycle.closed_at is not None
                and event.timestamp > cycle.closed_at
            ):
                flags.append(Flag.CHANGED_AFTER_CLOSE)
        return [flag.value for flag in flags]


def _cycle_of(goal: LedgerAggregate) -> str | None:
    match goal:
        case KeyResult() | Objective():
            return goal.cycle_id
        case Cycle():
            return goal.key
    return None


def _eases(direction: str, before: Decimal, after: Decimal) -> bool:
    """The new target is easier to reach: lower where higher is better, higher where lower is."""
    if direction in LOWER_IS_BETTER:
        return after > before
    return after < before


def _reported(kind: str, event: str, flags: Sequence[str], after: dict[str, Any]) -> bool:
    """Whether a row belongs in the change report: a key result's or objective's change of
    plan, retirement (graduation and carry forward included) or correction, a key result
    carried in, a backdated check-in, anything after the close; a KPI's target change."""
    if kind == "kpi":
        return event == kpi_rows.KPI_CHANGE
    if kind not in ("key_result", "objective"):
        return False
    return (
        event in REPORTED_EVENTS
        or (event == "created" and "carried_from" in after)
        or (event == "check_in_recorded" and Flag.BACKDATED.value in flags)
        or Flag.CHANGED_AFTER_CLOSE.value in flags
        or Flag.PLAN_OVERSIZED.value in flags
    )


# The flags only some events raise, by event class (each class belongs to one kind of goal).


def _rebaseline_flags(
    trail: AuditTrail, kr: KeyResult, event: KeyResult.Rebaselined, entry: Entry
) -> list[Flag]:
    flags = []
    if _eases(kr.direction.value, Decimal(entry.before["target"]), Decimal(entry.after["target"])):
        flags.append(Flag.TARGET_LOWERED)
    cycle = trail.cycle(entry.cycle_id) if entry.cycle_id else None
    if cycle is not None:
        half = cycle.starts_on + (cycle.ends_on - cycle.starts_on) / 2
        if max(event.timestamp.date(), event.effective_on) > half:
            flags.append(Flag.REBASELINED_AFTER_HALF)
    return flags


def _target_flags(_: AuditTrail, kpi: Kpi, __: object, entry: Entry) -> list[Flag]:
    eased = _eases(
        kpi.direction.value, Decimal(entry.before["target"]), Decimal(entry.after["target"])
    )
    return [Flag.TARGET_LOWERED] if eased else []


def _retirement_flags(_: AuditTrail, __: object, ___: object, entry: Entry) -> list[Flag]:
    red = entry.before.get("traffic_light") == TrafficLight.RED.value
    return [Flag.RETIRED_WHILE_RED] if red else []


def _plan_size_flags(trail: AuditTrail, goal: LedgerAggregate, _: object, __: Entry) -> list[Flag]:
    return [Flag.PLAN_OVERSIZED] if oversized(trail, goal) else []


_FLAGS: dict[type[object], Callable[[AuditTrail, Any, Any, Entry], list[Flag]]] = {
    Objective.Created: _plan_size_flags,
    KeyResult.Created: _plan_size_flags,
    KeyResult.Rebaselined: _rebaseline_flags,
    KeyResult.Retired: _retirement_flags,
    KeyResult.Graduated: _retirement_flags,
    Objective.Retired: _retirement_flags,
    Kpi.TargetChanged: _target_flags,
}


# Reads


@quick_init
@dataclass(frozen=True)
class TrailEntry:
    """One row of the audit trail, as stored; `title` only where the query looks it up."""

    position: int
    goal_id: UUID
    goal_kind: str
    version: int
    event: str
    actor: str
    recorded_at: datetime
    effective_on: date | None
    cycle_id: str | None
    owner: str | None
    reason: str | None
    reason_code: str | None
    subject_id: UUID | None
    before: dict[str, Any]
    after: dict[str, Any]
    flags: tuple[str, ...]
    title: str | None = None


# Every column of a `TrailEntry`, from the trail as `t`.
_LEADING_COLUMNS = (
    "t.position, t.goal_id, t.goal_kind, t.version, t.event, t.actor, t.recorded_at,"
    " t.effective_on, t.cycle_id, t.owner, t.reason, t.reason_code, t.subject_id, "
)
COLUMNS = SQL(_LEADING_COLUMNS + "t.before, t.after, t.flags")


def columns_with_before(before: Composable) -> Composable:
    """`COLUMNS`, with `before` taken from another expression."""
    return SQL(_LEADING_COLUMNS) + before + SQL(" AS before, t.after, t.flags")


def _names(value: Any) -> tuple[str, ...]:
    return tuple(json_value(value))


# How each of `COLUMNS` is decoded, in their order (None: as the store returns it).
_DECODERS: tuple[Decoder | None, ...] = (
    None,  # position
    uuid_value,  # goal_id
    None,  # goal_kind
    None,  # version
    None,  # event
    None,  # actor
    moment,  # recorded_at
    day,  # effective_on
    None,  # cycle_id
    None,  # owner
    None,  # reason
    None,  # reason_code
    uuid_value,  # subject_id
    json_value,  # before
    json_value,  # after
    _names,  # flags
)


def trail_entries(
    database: ViewDatabase, query: Composable, params: Sequence[Any]
) -> list[TrailEntry]:
    """The rows a query selects as `COLUMNS` (and after them, as `created`, the goal's
    first `after`, for its title), decoded once."""
    return [_entry(values) for values in database.rows(query, params)]


def _entry(values: Sequence[Any]) -> TrailEntry:
    # Positional: a heavy person's evidence decodes thousands of rows.
    columns = values[: len(_DECODERS)]
    decoded = [
        v if decode is None else decode(v) for decode, v in zip(_DECODERS, columns, strict=True)
    ]
    title = None
    if len(values) > len(_DECODERS):
        created = json_value(values[len(_DECODERS)])
        # A KPI's first row names it rather than titles it.
        title = None if created is None else created.get("title", created.get("name"))
    decoded.append(title)
    return TrailEntry(*decoded)


def placeholders(count: int) -> Composable:
    """`(%s, %s, ...)`: one parameter for each of `count` values."""
    return SQL("(") + SQL(", ").join([SQL("%s")] * count) + SQL(")")


def utc(at: datetime) -> datetime:
    """Aware and in UTC, so SQLite's ISO 8601 text compares in time order."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def midnight(on: date) -> datetime:
    return datetime(on.year, on.month, on.day, tzinfo=UTC)


def goal_known(database: ViewDatabase, goal_id: UUID, kind: str) -> bool:
    """Whether the trail has any row of this goal, as this kind of goal."""
    rows = database.query(
        "SELECT 1 AS found FROM {audit_trail} WHERE goal_id = %s AND goal_kind = %s LIMIT 1",
        (goal_id, kind),
    )
    return bool(rows)


def goal_history(
    database: ViewDatabase,
    goal_id: UUID,
    kind: str,
    *,
    after_position: int = 0,
    limit: int = 50,
    as_of: date | None = None,
    known_at: datetime | None = None,
) -> tuple[list[TrailEntry], bool]:
    """One goal's events in log order after a position; and whether more follow."""
    where = [SQL("t.goal_id = %s"), SQL("t.goal_kind = %s"), SQL("t.position > %s")]
    params: list[Any] = [goal_id, kind, after_position]
    if known_at is not None:
        where.append(SQL("t.recorded_at <= %s"))
        params.append(utc(known_at))
    if as_of is not None:
        # In effect by that day: effective on or before it; undated events, recorded by then.
        where.append(
            SQL(
                "((t.effective_on IS NOT NULL AND t.effective_on <= %s)"
                " OR (t.effective_on IS NULL AND t.recorded_at < %s))"
            )
        )
        params += [as_of, midnight(as_of + timedelta(days=1))]
    query = (
        SQL("SELECT ")
        + COLUMNS
        + SQL(" FROM {audit_trail} t WHERE ")
        + SQL(" AND ").join(where)
        + SQL(" ORDER BY t.position LIMIT %s")
    )
    entries = trail_entries(database, query, (*params, limit + 1))
    return entries[:limit], len(entries) > limit
