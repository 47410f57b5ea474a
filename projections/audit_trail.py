"""Audit trail: every event of every goal, with who, when, why, and the value before and after.

Flags for the auditors' change report are computed here, once, from the domain's own
aggregates as they stood at that point of the log.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

from domain.access import AccessGrant
from domain.base import LedgerAggregate, event_name
from domain.cycle import Cycle
from domain.key_result import KeyResult
from domain.kpi import Kpi
from domain.objective import Objective
from domain.scoring import TrafficLight, objective_score, rounded, traffic_light
from domain.values import Direction, plain
from projections.base import ReadModel
from storage.views import ViewDatabase, ViewTransaction

BACKDATED_AFTER_DAYS = 7

# Events whose effective date is a claim about the past: a check-in or reading for a day,
# a change of plan taking effect on a day. Creation dates the goal's first plan (a goal
# set up late is not a backdated value), and a correction has no date of its own.
BACKDATABLE = (
    KeyResult.CheckInRecorded,
    KeyResult.Rebaselined,
    KeyResult.Reweighted,
    KeyResult.Retired,
    Objective.Retired,
    Kpi.ReadingRecorded,
    Kpi.TargetChanged,
    Kpi.Retired,
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
    - changed after close: recorded after its cycle was closed (only corrections can be).
    """

    TARGET_LOWERED = "target_lowered"
    RETIRED_WHILE_RED = "retired_while_red"
    REBASELINED_AFTER_HALF = "rebaselined_after_half_the_cycle"
    BACKDATED = "backdated_more_than_7_days"
    CHANGED_AFTER_CLOSE = "changed_after_close"


KINDS: dict[type[LedgerAggregate], str] = {
    Cycle: "cycle",
    Objective: "objective",
    KeyResult: "key_result",
    Kpi: "kpi",
    AccessGrant: "access_grant",
}


def _number(value: Decimal | None) -> str | None:
    return None if value is None else plain(value)


@dataclass
class Entry:
    goal: LedgerAggregate
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    effective_on: date | None = None
    cycle_id: str | None = None
    subject_id: UUID | None = None


class AuditTrail(ReadModel):
    name = "audit_trail"
    # 2: `reported` and its partial index, for the change report.
    version = 2
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
    )

    # What the event is about to change, read from the goal as it stood.

    def before(self, event: LedgerAggregate.Event, position: int) -> dict[str, Any]:
        self._position = position
        goal = self.replicas.get(event.originator_id, position - 1)
        if isinstance(goal, KeyResult):
            return self._key_result_before(goal, event)
        if isinstance(goal, Kpi):
            return self._kpi_before(goal, event)
        if isinstance(goal, Objective):
            if isinstance(event, Objective.AlignedToParent):
                return {"parent_id": str(goal.parent_id) if goal.parent_id else None}
            if isinstance(event, Objective.Retired):
                return {
                    "status": "active",
                    **self._objective_score(goal, position, event.effective_on),
                }
        return {}

    def _key_result_before(self, kr: KeyResult, event: object) -> dict[str, Any]:
        plan = kr.current_plan
        if isinstance(event, KeyResult.CheckInRecorded):
            # Without an earlier check-in the value is the baseline of the plan in force then.
            latest = kr.latest_check_in(event.effective_on)
            baseline = kr.plan_on(event.effective_on).baseline
            return {"value": _number(latest.value if latest else baseline)}
        if isinstance(event, KeyResult.CheckInCorrected):
            return {"value": _number(kr.check_ins[event.check_in_id].value)}
        if isinstance(event, KeyResult.Rebaselined):
            return {"baseline": _number(plan.baseline), "target": _number(plan.target)}
        if isinstance(event, KeyResult.Reweighted):
            return {"weight": _number(plan.weight)}
        if isinstance(event, KeyResult.Retired):
            cycle = self._cycle(kr.cycle_id)
            status = kr.status(cycle, event.effective_on) if cycle else None
            score = status.score if status else None
            return {
                "status": "active",
                "score": format(rounded(score), "f") if score is not None else None,
                "traffic_light": traffic_light(score).value if score is not None else None,
            }
        return {}

    def _kpi_before(self, kpi: Kpi, event: object) -> dict[str, Any]:
        if isinstance(event, Kpi.ReadingRecorded):
            readings = kpi.readings_until(event.effective_on)
            return {"value": _number(readings[-1].value) if readings else None}
        if isinstance(event, Kpi.ReadingCorrected):
            return {"value": _number(kpi.readings[event.reading_id].value)}
        if isinstance(event, Kpi.TargetChanged):
            threshold = kpi.thresholds[-1]
            return {
                "target": _number(threshold.target),
                "healthy_low": _number(threshold.healthy_low),
                "healthy_high": _number(threshold.healthy_high),
            }
        if isinstance(event, Kpi.Retired):
            return {"status": "active"}
        return {}

    def _objective_score(self, objective: Objective, position: int, day: date) -> dict[str, Any]:
        """The objective's score on its retirement's effective date (never "today")."""
        cycle = self._cycle(objective.cycle_id)
        if cycle is None:
            return {}
        pairs = []
        for kr_id in objective.key_result_ids:
            kr = self.replicas.typed(KeyResult, kr_id, position)
            if kr is None:
                continue
            status = kr.status(cycle, day)
            if status.retired is None:
                pairs.append((status.score, status.plan.weight))
        score = objective_score(pairs)
        if score is None:
            return {}
        return {"score": str(rounded(score)), "traffic_light": traffic_light(score).value}

    def _cycle(self, key: str) -> Cycle | None:
        """The goal's cycle as it stood at the event being projected."""
        return self.replicas.typed(Cycle, Cycle.create_id(key), self._position)

    # The row, from the goal as it stands after the event.

    def after(
        self,
        tx: ViewTransaction,
        event: LedgerAggregate.Event,
        stored: Notification,
        before: dict[str, Any],
    ) -> None:
        self._position = stored.id
        goal = self.replicas.get(event.originator_id, stored.id)
        if goal is None:
            return
        entry = Entry(goal=goal, before=before)
        entry.effective_on = getattr(event, "effective_on", None)
        self._describe(entry, event)
        self._flag(entry, event, stored.id)
        tx.execute(
            "INSERT INTO {audit_trail} (position, goal_id, goal_kind, version, event, actor,"
            " recorded_at, effective_on, cycle_id, owner, reason, reason_code, subject_id,"
            " before, after, flags, reported)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                stored.id,
                event.originator_id,
                KINDS.get(type(goal), type(goal).__name__.lower()),
                event.originator_version,
                event_name(event),
                event.actor,
                event.timestamp,
                entry.effective_on,
                entry.cycle_id,
                getattr(goal, "owner", None) or getattr(goal, "subject", None),
                getattr(event, "reason", None),
                getattr(event, "reason_code", None),
                entry.subject_id,
                entry.before,
                entry.after,
                entry.flags,
                _reported(goal, event_name(event), entry.flags),
            ),
        )

    def _describe(self, entry: Entry, event: object) -> None:  # noqa: PLR0912 - one branch per event type
        goal = entry.goal
        if isinstance(goal, KeyResult):
            entry.cycle_id = goal.cycle_id
            plan = goal.current_plan
            if isinstance(event, KeyResult.Created):
                entry.effective_on = plan.effective_on
                entry.after = {
                    "title": goal.title,
                    "objective_id": str(goal.objective_id),
                    "direction": goal.direction.value,
                    "unit": goal.unit,
                    "baseline": str(plan.baseline),
                    "target": str(plan.target),
                    "weight": str(plan.weight),
                    "measurement": goal.measurement,
                }
            elif isinstance(event, KeyResult.CheckInRecorded | KeyResult.CheckInCorrected):
                check_in = goal.check_ins[event.check_in_id]
                entry.subject_id = check_in.id
                entry.effective_on = check_in.effective_on
                entry.after = {"value": str(check_in.value)}
                if isinstance(event, KeyResult.CheckInRecorded):
                    entry.after |= {"confidence": check_in.confidence.value, "note": check_in.note}
            elif isinstance(event, KeyResult.Rebaselined):
                entry.after = {"baseline": str(plan.baseline), "target": str(plan.target)}
            elif isinstance(event, KeyResult.Reweighted):
                entry.after = {"weight": str(plan.weight)}
            elif isinstance(event, KeyResult.Retired):
                entry.after = {"status": "retired"}
        elif isinstance(goal, Objective):
            entry.cycle_id = goal.cycle_id
            if isinstance(event, Objective.Created):
                entry.after = {"title": goal.title, "kind": goal.kind.value}
                if goal.parent_id:
                    entry.after["parent_id"] = str(goal.parent_id)
            elif isinstance(event, Objective.KeyResultAdded):
                entry.subject_id = event.key_result_id
                entry.after = {"key_result_id": str(event.key_result_id)}
            elif isinstance(event, Objective.AlignedToParent):
                entry.after = {"parent_id": str(goal.parent_id) if goal.parent_id else None}
            elif isinstance(event, Objective.Retired):
                entry.after = {"status": "retired"}
        elif isinstance(goal, Cycle):
            entry.cycle_id = goal.key
            if isinstance(event, Cycle.Opened):
                entry.after = {"starts_on": str(goal.starts_on), "ends_on": str(goal.ends_on)}
            elif isinstance(event, Cycle.ObjectiveAdded):
                entry.subject_id = event.objective_id
                entry.after = {"objective_id": str(event.objective_id)}
            elif isinstance(event, Cycle.Closed):
                entry.after = {"status": "closed"}
        elif isinstance(goal, Kpi):
            self._describe_kpi(entry, goal, event)
        elif isinstance(goal, AccessGrant):
            entry.after = (
                {"roles": sorted(r.value for r in goal.roles), "team": goal.team}
                if isinstance(event, AccessGrant.Issued)
                else {"status": "revoked"}
            )

    @staticmethod
    def _describe_kpi(entry: Entry, kpi: Kpi, event: object) -> None:
        threshold = kpi.thresholds[-1]
        if isinstance(event, Kpi.Defined):
            entry.effective_on = threshold.set_on
            entry.after = {
                "area": kpi.area,
                "name": kpi.name,
                "unit": kpi.unit,
                "direction": kpi.direction.value,
                "target": str(threshold.target),
                "healthy_low": _number(threshold.healthy_low),
                "healthy_high": _number(threshold.healthy_high),
                "formula": kpi.formula,
                "data_source": kpi.data_source,
                "cadence": kpi.cadence.value,
            }
        elif isinstance(event, Kpi.ReadingRecorded | Kpi.ReadingCorrected):
            reading = kpi.readings[event.reading_id]
            entry.subject_id = reading.id
            entry.effective_on = reading.effective_on
            entry.after = {
                "value": str(reading.value),
                "healthy": kpi.is_healthy(reading),
                "note": reading.note,
            }
        elif isinstance(event, Kpi.TargetChanged):
            entry.after = {
                "target": str(threshold.target),
                "healthy_low": _number(threshold.healthy_low),
                "healthy_high": _number(threshold.healthy_high),
            }
        elif isinstance(event, Kpi.Retired):
            entry.after = {"status": "retired"}

    def _flag(self, entry: Entry, event: LedgerAggregate.Event, position: int) -> None:
        recorded_on = event.timestamp.date()
        if (
            isinstance(event, BACKDATABLE)
            and entry.effective_on is not None
            and recorded_on - entry.effective_on > timedelta(days=BACKDATED_AFTER_DAYS)
        ):
            entry.flags.append(Flag.BACKDATED.value)
        if isinstance(event, KeyResult.Rebaselined):
            kr = entry.goal
            if isinstance(kr, KeyResult) and _eases(
                kr.direction.value, Decimal(entry.before["target"]), Decimal(entry.after["target"])
            ):
                entry.flags.append(Flag.TARGET_LOWERED.value)
            cycle = self._cycle(entry.cycle_id) if entry.cycle_id else None
            if cycle is not None:
                half = cycle.starts_on + (cycle.ends_on - cycle.starts_on) / 2
                if max(recorded_on, event.effective_on) > half:
                    entry.flags.append(Flag.REBASELINED_AFTER_HALF.value)
        if (
            isinstance(event, Kpi.TargetChanged)
            and isinstance(entry.goal, Kpi)
            and _eases(
                entry.goal.direction.value,
                Decimal(entry.before["target"]),
                Decimal(entry.after["target"]),
            )
        ):
            entry.flags.append(Flag.TARGET_LOWERED.value)
        if (
            isinstance(event, KeyResult.Retired | Objective.Retired)
            and entry.before.get("traffic_light") == TrafficLight.RED.value
        ):
            entry.flags.append(Flag.RETIRED_WHILE_RED.value)
        if entry.cycle_id is not None and not isinstance(event, Cycle.Closed):
            cycle = self._cycle(entry.cycle_id)
            if (
                cycle is not None
                and cycle.closed_at is not None
                and (event.timestamp > cycle.closed_at)
            ):
                entry.flags.append(Flag.CHANGED_AFTER_CLOSE.value)


def _eases(direction: str, before: Decimal, after: Decimal) -> bool:
    """The new target is easier to reach: lower where higher is better, higher where lower is."""
    if direction in LOWER_IS_BETTER:
        return after > before
    return after < before


FLAGS: tuple[str, ...] = tuple(flag.value for flag in Flag)
# The changes of plan an auditor reviews, whatever their flags.
REPORTED_EVENTS = ("rebaselined", "reweighted", "retired", "check_in_corrected")


def _reported(goal: object, event: str, flags: Sequence[str]) -> bool:
    """Whether a row belongs in the change report: a key result's or objective's change of
    plan, retirement or correction, a backdated check-in, or anything after the close."""
    if not isinstance(goal, KeyResult | Objective):
        return False
    return (
        event in REPORTED_EVENTS
        or (event == "check_in_recorded" and Flag.BACKDATED.value in flags)
        or Flag.CHANGED_AFTER_CLOSE.value in flags
    )


# Reads


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


_COLUMNS = (
    "t.position, t.goal_id, t.goal_kind, t.version, t.event, t.actor, t.recorded_at,"
    " t.effective_on, t.cycle_id, t.owner, t.reason, t.reason_code, t.subject_id,"
    " t.before, t.after, t.flags"
)


def _json(value: Any) -> Any:
    # jsonb comes back parsed from PostgreSQL; SQLite keeps the text.
    return json.loads(value) if isinstance(value, str) else value


def _uuid(value: Any) -> UUID | None:
    if value is None or isinstance(value, UUID):
        return value
    return UUID(str(value))


def _moment(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(UTC)


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _entry(row: dict[str, Any]) -> TrailEntry:
    return TrailEntry(
        position=int(row["position"]),
        goal_id=UUID(str(row["goal_id"])),
        goal_kind=row["goal_kind"],
        version=int(row["version"]),
        event=row["event"],
        actor=row["actor"],
        recorded_at=_moment(row["recorded_at"]),
        effective_on=_day(row["effective_on"]),
        cycle_id=row["cycle_id"],
        owner=row["owner"],
        reason=row["reason"],
        reason_code=row["reason_code"],
        subject_id=_uuid(row["subject_id"]),
        before=_json(row["before"]),
        after=_json(row["after"]),
        flags=tuple(_json(row["flags"])),
    )


def _utc(moment: datetime) -> datetime:
    """Aware and in UTC, so SQLite's ISO 8601 text compares in time order."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _has_flag() -> str:
    # Flags are a JSON list of plain names; its text holds each as `"name"` on both stores.
    return "CAST(t.flags AS {text}) LIKE %s"


def _flag_pattern(flag: str) -> str:
    return f'%"{flag}"%'


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
    where = ["t.goal_id = %s", "t.goal_kind = %s", "t.position > %s"]
    params: list[Any] = [goal_id, kind, after_position]
    if known_at is not None:
        where.append("t.recorded_at <= %s")
        params.append(_utc(known_at))
    if as_of is not None:
        # In effect by that day: effective on or before it; undated events, recorded by then.
        where.append(
            "((t.effective_on IS NOT NULL AND t.effective_on <= %s)"
            " OR (t.effective_on IS NULL AND t.recorded_at < %s))"
        )
        params += [as_of, _midnight(as_of + timedelta(days=1))]
    # Built from constant fragments only; every value is a parameter.
    rows = database.query(
        f"SELECT {_COLUMNS} FROM {{audit_trail}} t WHERE {' AND '.join(where)}"  # noqa: S608
        " ORDER BY t.position LIMIT %s",
        (*params, limit + 1),
    )
    return [_entry(row) for row in rows[:limit]], len(rows) > limit


def change_report(
    database: ViewDatabase,
    cycle_id: str,
    *,
    owner: str | None = None,
    flags: Sequence[str] = (),
    recorded_from: date | None = None,
    recorded_to: date | None = None,
    known_at: datetime | None = None,
    after_position: int = 0,
    limit: int | None = None,
) -> list[TrailEntry]:
    """A cycle's changes of plan, corrections, backdated check-ins and post-close events.

    `recorded_from`/`recorded_to` bound the UTC day the change was recorded (both
    inclusive); `flags` keeps the rows carrying any of them (names from `FLAGS`). Rows
    come in log order after `after_position`, at most `limit` of them.
    """
    unknown = set(flags) - set(FLAGS)
    if unknown:
        raise ValueError(f"not a change-report flag: {sorted(unknown)}")
    where = ["t.cycle_id = %s", "t.reported", "t.position > %s"]
    params: list[Any] = [cycle_id, after_position]
    if owner is not None:
        where.append("t.owner = %s")
        params.append(owner)
    if flags:
        wanted = [flag for flag in FLAGS if flag in flags]
        where.append("(" + " OR ".join([_has_flag()] * len(wanted)) + ")")
        params += [_flag_pattern(flag) for flag in wanted]
    if recorded_from is not None:
        where.append("t.recorded_at >= %s")
        params.append(_midnight(recorded_from))
    if recorded_to is not None:
        where.append("t.recorded_at < %s")
        params.append(_midnight(recorded_to + timedelta(days=1)))
    if known_at is not None:
        where.append("t.recorded_at <= %s")
        params.append(_utc(known_at))
    # Built from constant fragments only (a bounded set of shapes); values are parameters.
    # Each goal's title is in its first row (its creation), one index seek away.
    rows = database.query(
        f"SELECT {_COLUMNS}, (SELECT c.after FROM {{audit_trail}} c"  # noqa: S608
        " WHERE c.goal_id = t.goal_id ORDER BY c.position LIMIT 1) AS created"
        f" FROM {{audit_trail}} t WHERE {' AND '.join(where)} ORDER BY t.position"
        + (" LIMIT %s" if limit is not None else ""),
        [*params, limit] if limit is not None else params,
    )
    return [replace(_entry(row), title=_json(row["created"]).get("title")) for row in rows]
