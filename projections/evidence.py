"""Appraisal evidence: one person's goal history over a review period, as known at a time.

Built from the audit trail's rows alone, so every item cites the event it comes from
(log position, goal id, version). KRA/KPI achievement is the backbone and OKR
contribution the narrative; both are laid out month by month across the whole period,
so the first months of a review weigh as much as the last (recency bias). Rows recorded
after `known_at` are left out, which makes the same request with the same `known_at`
give the same evidence, whatever was recorded since.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

from application.ledger import GoalLedger
from domain.base import LedgerAggregate
from domain.cycle import Cycle
from domain.errors import InvalidInputError, NotFoundError
from domain.scoring import rounded
from domain.values import Confidence, utc_now
from projections.audit_trail import AuditTrail
from storage.views import ViewDatabase

# A review period is a half-year or a year; three years bounds the work of one request.
MAX_PERIOD_DAYS = 3 * 366
# Unapplied events read to find the earliest record time the audit trail has not seen.
LAG_SCAN = 200

GOAL_KINDS = ("key_result", "kpi", "objective")
DEFINITIONS = ("created", "defined")
# Events about one dated value: only those effective inside the period are evidence.
DATED_VALUES = ("check_in_recorded", "check_in_corrected", "reading_recorded", "reading_corrected")

_COLUMNS = (
    "position, goal_id, goal_kind, version, event, actor, recorded_at, effective_on,"
    " cycle_id, owner, reason, reason_code, subject_id, before, after, flags"
)


def _quoted(names: Iterable[str]) -> str:
    # Constants of this module only, never input.
    return ", ".join(f"'{name}'" for name in names)


_PERSON_ROWS = (
    f"SELECT {_COLUMNS} FROM {{audit_trail}}"  # noqa: S608 - constants and placeholders only
    f" WHERE owner = %s AND goal_kind IN ({_quoted(GOAL_KINDS)}) AND recorded_at <= %s"
    f" AND (effective_on IS NULL OR effective_on <= %s OR event IN ({_quoted(DEFINITIONS)}))"
    f" AND (effective_on >= %s OR event NOT IN ({_quoted(DATED_VALUES)}))"
    " ORDER BY position"
)
_OWNS_ANY = (
    "SELECT position FROM {audit_trail}"  # noqa: S608 - constants and placeholders only
    f" WHERE owner = %s AND goal_kind IN ({_quoted(GOAL_KINDS)}) AND recorded_at <= %s"
    " ORDER BY position LIMIT 1"
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


# What the evidence says; every item carries the citation of the event it comes from.


@dataclass(frozen=True)
class Citation:
    """The event an item comes from: its log position, its goal and the goal's version."""

    position: int
    goal_id: UUID
    version: int
    event: str
    actor: str
    recorded_at: datetime


@dataclass(frozen=True)
class Correction:
    value: Decimal
    reason: str | None
    reason_code: str | None
    flags: tuple[str, ...]
    cite: Citation


@dataclass(frozen=True)
class CheckInItem:
    """A check-in; `value` as known at `known_at`, `recorded_value` as first recorded."""

    check_in_id: UUID
    effective_on: date
    value: Decimal
    recorded_value: Decimal
    confidence: str
    note: str
    flags: tuple[str, ...]
    cite: Citation
    corrections: tuple[Correction, ...]


@dataclass(frozen=True)
class ReadingItem:
    """A KPI reading; `healthy` as judged when its latest known value was recorded."""

    reading_id: UUID
    effective_on: date
    value: Decimal
    recorded_value: Decimal
    healthy: bool
    flags: tuple[str, ...]
    cite: Citation
    corrections: tuple[Correction, ...]


@dataclass(frozen=True)
class RetirementItem:
    effective_on: date
    reason: str | None
    reason_code: str | None
    score_then: Decimal | None
    traffic_light_then: str | None
    flags: tuple[str, ...]
    cite: Citation


@dataclass(frozen=True)
class PlanItem:
    """A key result's plan, in force from `effective_on`."""

    baseline: Decimal
    target: Decimal
    weight: Decimal
    effective_on: date
    cite: Citation


@dataclass(frozen=True)
class PlanChangeItem:
    """A re-baseline (baseline and target) or a re-weight, with its reason."""

    kind: str
    effective_on: date
    baseline_before: Decimal | None
    target_before: Decimal | None
    baseline_after: Decimal | None
    target_after: Decimal | None
    weight_before: Decimal | None
    weight_after: Decimal | None
    reason: str | None
    reason_code: str | None
    flags: tuple[str, ...]
    cite: Citation


@dataclass(frozen=True)
class KeyResultMonth:
    """One month of a key result; `active` when the key result lived in it (its cycle,
    from its start to its retirement), so a month without check-ins there is a gap."""

    month: str
    starts_on: date
    ends_on: date
    active: bool
    on_track: int
    at_risk: int
    off_track: int
    check_ins: tuple[CheckInItem, ...]


@dataclass(frozen=True)
class KeyResultEvidence:
    key_result_id: UUID
    title: str
    unit: str
    direction: str
    cycle_id: str | None
    cycle_starts_on: date | None
    cycle_ends_on: date | None
    measurement_source: str | None
    measurement_query: str | None
    original_plan: PlanItem
    plan_at_end: PlanItem
    final: CheckInItem | None
    check_in_count: int
    plan_changes: tuple[PlanChangeItem, ...]
    retired: RetirementItem | None
    months: tuple[KeyResultMonth, ...]
    created: Citation


@dataclass(frozen=True)
class ObjectiveEvidence:
    objective_id: UUID
    title: str | None
    kind: str | None
    owner: str | None
    cycle_id: str | None
    owned_by_person: bool
    retired: RetirementItem | None
    key_results: tuple[KeyResultEvidence, ...]
    created: Citation | None


@dataclass(frozen=True)
class ThresholdItem:
    """A KPI's healthy level, in force from `set_on`."""

    target: Decimal
    healthy_low: Decimal | None
    healthy_high: Decimal | None
    set_on: date
    cite: Citation


@dataclass(frozen=True)
class TargetChangeItem:
    effective_on: date
    target_before: Decimal | None
    healthy_low_before: Decimal | None
    healthy_high_before: Decimal | None
    target_after: Decimal
    healthy_low_after: Decimal | None
    healthy_high_after: Decimal | None
    reason: str | None
    reason_code: str | None
    flags: tuple[str, ...]
    cite: Citation


@dataclass(frozen=True)
class Trend:
    """First against last reading of the period; `verdict` reads the KPI's direction."""

    first_value: Decimal
    first_on: date
    last_value: Decimal
    last_on: date
    change: Decimal
    verdict: str


@dataclass(frozen=True)
class KpiMonth:
    month: str
    starts_on: date
    ends_on: date
    healthy: int
    readings: tuple[ReadingItem, ...]


@dataclass(frozen=True)
class KpiEvidence:
    kpi_id: UUID
    area: str
    name: str
    direction: str
    formula: str | None
    data_source: str | None
    cadence: str | None
    threshold_at_start: ThresholdItem
    threshold_at_end: ThresholdItem
    reading_count: int
    healthy_count: int
    healthy_share: Decimal | None
    trend: Trend | None
    target_changes: tuple[TargetChangeItem, ...]
    retired: RetirementItem | None
    months: tuple[KpiMonth, ...]
    defined: Citation


@dataclass(frozen=True)
class AreaEvidence:
    """A KRA: the person's KPIs in one area, and their readings in the healthy range."""

    area: str
    reading_count: int
    healthy_count: int
    healthy_share: Decimal | None
    kpis: tuple[KpiEvidence, ...]


@dataclass(frozen=True)
class MonthSummary:
    """How much evidence each month of the period holds, across every goal."""

    month: str
    starts_on: date
    ends_on: date
    key_results: int
    key_results_without_check_in: int
    check_ins: int
    notes: int
    readings: int
    healthy_readings: int
    changes: int


@dataclass(frozen=True)
class PersonEvidence:
    person: str
    period_from: date
    period_to: date
    known_at: datetime
    months: tuple[MonthSummary, ...]
    areas: tuple[AreaEvidence, ...]
    objectives: tuple[ObjectiveEvidence, ...]


# Rows as both stores return them, made alike.


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _moment(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(UTC)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _required_decimal(value: Any) -> Decimal:
    return Decimal(str(value))


@dataclass(frozen=True)
class _Row:
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

    @classmethod
    def of(cls, row: dict[str, Any]) -> _Row:
        return cls(
            position=int(row["position"]),
            goal_id=_uuid(row["goal_id"]),
            goal_kind=str(row["goal_kind"]),
            version=int(row["version"]),
            event=str(row["event"]),
            actor=str(row["actor"]),
            recorded_at=_moment(row["recorded_at"]),
            effective_on=_day(row["effective_on"]),
            cycle_id=row["cycle_id"],
            owner=row["owner"],
            reason=row["reason"],
            reason_code=row["reason_code"],
            subject_id=_uuid(row["subject_id"]) if row["subject_id"] is not None else None,
            before=_json(row["before"]),
            after=_json(row["after"]),
            flags=tuple(_json(row["flags"])),
        )

    @property
    def day(self) -> date:
        """The effective date of an event that always has one."""
        if self.effective_on is None:
            raise ValueError(f"event at position {self.position} has no effective date")
        return self.effective_on

    @property
    def cite(self) -> Citation:
        return Citation(
            position=self.position,
            goal_id=self.goal_id,
            version=self.version,
            event=self.event,
            actor=self.actor,
            recorded_at=self.recorded_at,
        )


@dataclass(frozen=True)
class _Month:
    key: str
    starts_on: date
    ends_on: date


def months_of(starts_on: date, ends_on: date) -> list[_Month]:
    """Calendar months of the period, the first and last cut to the period."""
    months = []
    first = starts_on
    while first <= ends_on:
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        months.append(_Month(f"{first:%Y-%m}", first, min(ends_on, following - timedelta(days=1))))
        first = following
    return months


def _month_key(day: date) -> str:
    return f"{day:%Y-%m}"


def _share(part: int, whole: int) -> Decimal | None:
    return rounded(Decimal(part) / Decimal(whole)) if whole else None


def _retirement(row: _Row | None) -> RetirementItem | None:
    if row is None:
        return None
    return RetirementItem(
        effective_on=row.day,
        reason=row.reason,
        reason_code=row.reason_code,
        score_then=_decimal(row.before.get("score")),
        traffic_light_then=row.before.get("traffic_light"),
        flags=row.flags,
        cite=row.cite,
    )


def _corrections(rows: Sequence[_Row]) -> tuple[Correction, ...]:
    return tuple(
        Correction(
            value=_required_decimal(r.after["value"]),
            reason=r.reason,
            reason_code=r.reason_code,
            flags=r.flags,
            cite=r.cite,
        )
        for r in rows
    )


@dataclass(frozen=True)
class _Cycle:
    starts_on: date
    ends_on: date


class EvidenceView:
    """Appraisal evidence read from the audit trail; reproducible for a given `known_at`."""

    def __init__(self, database: ViewDatabase, ledger: GoalLedger) -> None:
        self.database = database
        self.ledger = ledger

    # What the audit trail knows

    def known_until(self) -> datetime | None:
        """None when the audit trail has applied the whole log, else the last moment it
        knows in full: just before the earliest record time among the events it lacks."""
        tracking_name = f"{self.ledger.name}:{AuditTrail.name}"
        applied = self.database.tracking.max_tracking_id(tracking_name) or 0
        head = self.ledger.recorder.max_notification_id() or 0
        if applied >= head:
            return None
        pending = self.ledger.recorder.select_notifications(
            start=applied, limit=LAG_SCAN, inclusive_of_start=False
        )
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
        moment = self.resolve_known_at(known_at)
        rows = [
            _Row.of(r)
            for r in self.database.query(_PERSON_ROWS, (person, moment, period_to, period_from))
        ]
        if not rows and not self.database.query(_OWNS_ANY, (person, moment)):
            raise NotFoundError(f"no goals owned by {person} were recorded by {moment.isoformat()}")
        return _Builder(self, person, period_from, period_to, moment, rows).build()

    def rows_of_goals(
        self, goal_ids: Sequence[UUID], events: Sequence[str], known_at: datetime
    ) -> list[dict[str, Any]]:
        if not goal_ids:
            return []
        placeholders = ", ".join(["%s"] * len(goal_ids))
        return self.database.query(
            f"SELECT {_COLUMNS} FROM {{audit_trail}}"  # noqa: S608 - placeholders only
            f" WHERE goal_id IN ({placeholders}) AND event IN ({_quoted(events)})"
            " AND recorded_at <= %s ORDER BY position",
            (*goal_ids, known_at),
        )

    def cycles(self, keys: Sequence[str], known_at: datetime) -> dict[str, _Cycle]:
        """Each cycle's dates; found by the cycle's derived id, which the table indexes."""
        cycles = {}
        opened = self.rows_of_goals([Cycle.create_id(key) for key in keys], ("opened",), known_at)
        for row in opened:
            after = _json(row["after"])
            cycles[str(row["cycle_id"])] = _Cycle(
                date.fromisoformat(after["starts_on"]), date.fromisoformat(after["ends_on"])
            )
        return cycles


class _Builder:
    """Turns one person's rows into evidence; pure, so the same rows give the same result."""

    def __init__(
        self,
        view: EvidenceView,
        person: str,
        period_from: date,
        period_to: date,
        known_at: datetime,
        rows: list[_Row],
    ) -> None:
        self.view = view
        self.person = person
        self.period_from = period_from
        self.period_to = period_to
        self.known_at = known_at
        self.months = months_of(period_from, period_to)
        self.by_goal: dict[UUID, list[_Row]] = defaultdict(list)
        for row in rows:
            self.by_goal[row.goal_id].append(row)
        cycle_keys = sorted({r.cycle_id for r in rows if r.cycle_id is not None})
        self.cycles = view.cycles(cycle_keys, known_at)

    def in_period(self, day: date | None) -> bool:
        return day is not None and self.period_from <= day <= self.period_to

    def overlaps(self, starts_on: date | None, ends_on: date | None) -> bool:
        return (starts_on is None or starts_on <= self.period_to) and (
            ends_on is None or ends_on >= self.period_from
        )

    def build(self) -> PersonEvidence:
        key_results: list[tuple[int, UUID, KeyResultEvidence]] = []
        kpis: list[KpiEvidence] = []
        owned_objectives: dict[UUID, list[_Row]] = {}
        for goal_id, goal_rows in self.by_goal.items():
            kind = goal_rows[0].goal_kind
            if kind == "key_result":
                found = self.key_result(goal_rows)
                if found is not None:
                    objective_id = UUID(self._definition(goal_rows).after["objective_id"])
                    key_results.append((goal_rows[0].position, objective_id, found))
            elif kind == "kpi":
                kpi = self.kpi(goal_rows)
                if kpi is not None:
                    kpis.append(kpi)
            elif kind == "objective":
                owned_objectives[goal_id] = goal_rows
        objectives = self.objectives(key_results, owned_objectives)
        areas = self.areas(kpis)
        return PersonEvidence(
            person=self.person,
            period_from=self.period_from,
            period_to=self.period_to,
            known_at=self.known_at,
            months=self.summary(areas, objectives),
            areas=areas,
            objectives=objectives,
        )

    @staticmethod
    def _definition(rows: Sequence[_Row]) -> _Row:
        return next(r for r in rows if r.event in DEFINITIONS)

    # Key results: baseline, target, final value, plan changes, check-ins month by month.

    def key_result(self, rows: Sequence[_Row]) -> KeyResultEvidence | None:
        created = next((r for r in rows if r.event == "created"), None)
        if created is None:
            return None
        plans: list[PlanItem] = []
        changes: list[PlanChangeItem] = []
        recorded: dict[UUID, _Row] = {}
        corrected: dict[UUID, list[_Row]] = defaultdict(list)
        retired: _Row | None = None
        for row in rows:
            if row.event == "created":
                plans.append(
                    PlanItem(
                        baseline=_required_decimal(row.after["baseline"]),
                        target=_required_decimal(row.after["target"]),
                        weight=_required_decimal(row.after["weight"]),
                        effective_on=row.day,
                        cite=row.cite,
                    )
                )
            elif row.event in ("rebaselined", "reweighted") and plans:
                # As the domain keeps plans: a new plan per change, from the latest one.
                latest = plans[-1]
                rebaselined = row.event == "rebaselined"
                plan = PlanItem(
                    baseline=_required_decimal(row.after["baseline"])
                    if rebaselined
                    else latest.baseline,
                    target=_required_decimal(row.after["target"]) if rebaselined else latest.target,
                    weight=latest.weight if rebaselined else _required_decimal(row.after["weight"]),
                    effective_on=row.day,
                    cite=row.cite,
                )
                plans.append(plan)
                changes.append(
                    PlanChangeItem(
                        kind=row.event,
                        effective_on=row.day,
                        baseline_before=_decimal(row.before.get("baseline")),
                        target_before=_decimal(row.before.get("target")),
                        baseline_after=plan.baseline if rebaselined else None,
                        target_after=plan.target if rebaselined else None,
                        weight_before=_decimal(row.before.get("weight")),
                        weight_after=None if rebaselined else plan.weight,
                        reason=row.reason,
                        reason_code=row.reason_code,
                        flags=row.flags,
                        cite=row.cite,
                    )
                )
            elif row.event == "check_in_recorded" and row.subject_id is not None:
                recorded[row.subject_id] = row
            elif row.event == "check_in_corrected" and row.subject_id is not None:
                corrected[row.subject_id].append(row)
            elif row.event == "retired":
                retired = row
        check_ins = sorted(
            (self._check_in(row, corrected[check_in_id]) for check_in_id, row in recorded.items()),
            key=lambda c: (c.effective_on, c.cite.version),
        )
        cycle = self.cycles.get(created.cycle_id or "")
        span_end = retired.effective_on if retired else (cycle.ends_on if cycle else None)
        changes.sort(key=lambda c: (c.effective_on, c.cite.version))
        dated_changes = [c.effective_on for c in changes] + (
            [retired.day] if retired is not None else []
        )
        if not (
            check_ins
            or any(self.in_period(d) for d in dated_changes)
            or self.overlaps(created.effective_on, span_end)
        ):
            return None
        by_month: dict[str, list[CheckInItem]] = defaultdict(list)
        for check_in in check_ins:
            by_month[month_of(check_in)].append(check_in)
        end_day = min(self.period_to, cycle.ends_on) if cycle else self.period_to
        span_start = max(created.day, cycle.starts_on) if cycle else created.day
        return KeyResultEvidence(
            key_result_id=created.goal_id,
            title=str(created.after.get("title", "")),
            unit=str(created.after.get("unit", "")),
            direction=str(created.after.get("direction", "")),
            cycle_id=created.cycle_id,
            cycle_starts_on=cycle.starts_on if cycle else None,
            cycle_ends_on=cycle.ends_on if cycle else None,
            measurement_source=(created.after.get("measurement") or {}).get("source"),
            measurement_query=(created.after.get("measurement") or {}).get("query"),
            original_plan=plans[0],
            plan_at_end=plan_on(plans, end_day),
            final=check_ins[-1] if check_ins else None,
            check_in_count=len(check_ins),
            plan_changes=tuple(changes),
            retired=_retirement(retired) if retired and self.in_period(retired.day) else None,
            months=tuple(
                self._key_result_month(
                    month,
                    by_month.get(month.key, []),
                    active=month.starts_on <= (span_end or date.max)
                    and month.ends_on >= span_start,
                )
                for month in self.months
            ),
            created=created.cite,
        )

    @staticmethod
    def _check_in(row: _Row, corrections: Sequence[_Row]) -> CheckInItem:
        recorded_value = _required_decimal(row.after["value"])
        return CheckInItem(
            check_in_id=row.subject_id or row.goal_id,
            effective_on=row.day,
            value=_required_decimal(corrections[-1].after["value"])
            if corrections
            else recorded_value,
            recorded_value=recorded_value,
            confidence=str(row.after.get("confidence", "")),
            note=str(row.after.get("note") or ""),
            flags=row.flags,
            cite=row.cite,
            corrections=_corrections(corrections),
        )

    @staticmethod
    def _key_result_month(
        month: _Month, check_ins: Sequence[CheckInItem], *, active: bool
    ) -> KeyResultMonth:
        def count(confidence: Confidence) -> int:
            return sum(1 for c in check_ins if c.confidence == confidence.value)

        return KeyResultMonth(
            month=month.key,
            starts_on=month.starts_on,
            ends_on=month.ends_on,
            # A check-in makes a month count whatever the dates say.
            active=active or bool(check_ins),
            on_track=count(Confidence.ON_TRACK),
            at_risk=count(Confidence.AT_RISK),
            off_track=count(Confidence.OFF_TRACK),
            check_ins=tuple(check_ins),
        )

    # KPIs: readings in the healthy range, trend, target changes.

    def kpi(self, rows: Sequence[_Row]) -> KpiEvidence | None:
        defined = next((r for r in rows if r.event == "defined"), None)
        if defined is None:
            return None
        thresholds = [self._threshold(defined)]
        changes: list[TargetChangeItem] = []
        recorded: dict[UUID, _Row] = {}
        corrected: dict[UUID, list[_Row]] = defaultdict(list)
        retired: _Row | None = None
        for row in rows:
            if row.event == "target_changed":
                thresholds.append(self._threshold(row))
                changes.append(
                    TargetChangeItem(
                        effective_on=row.day,
                        target_before=_decimal(row.before.get("target")),
                        healthy_low_before=_decimal(row.before.get("healthy_low")),
                        healthy_high_before=_decimal(row.before.get("healthy_high")),
                        target_after=_required_decimal(row.after["target"]),
                        healthy_low_after=_decimal(row.after.get("healthy_low")),
                        healthy_high_after=_decimal(row.after.get("healthy_high")),
                        reason=row.reason,
                        reason_code=row.reason_code,
                        flags=row.flags,
                        cite=row.cite,
                    )
                )
            elif row.event == "reading_recorded" and row.subject_id is not None:
                recorded[row.subject_id] = row
            elif row.event == "reading_corrected" and row.subject_id is not None:
                corrected[row.subject_id].append(row)
            elif row.event == "retired":
                retired = row
        readings = sorted(
            (self._reading(row, corrected[reading_id]) for reading_id, row in recorded.items()),
            key=lambda r: (r.effective_on, r.cite.version),
        )
        changes.sort(key=lambda c: (c.effective_on, c.cite.version))
        # A KPI lives from its definition (as dated, or else as recorded) until retired.
        starts_on = min(defined.day, defined.recorded_at.date())
        if not (
            readings
            or any(self.in_period(c.effective_on) for c in changes)
            or self.overlaps(starts_on, retired.effective_on if retired else None)
        ):
            return None
        healthy = sum(1 for r in readings if r.healthy)
        direction = str(defined.after.get("direction", ""))
        return KpiEvidence(
            kpi_id=defined.goal_id,
            area=str(defined.after.get("area", "")),
            name=str(defined.after.get("name", "")),
            direction=direction,
            formula=defined.after.get("formula"),
            data_source=defined.after.get("data_source"),
            cadence=defined.after.get("cadence"),
            threshold_at_start=self._threshold_on(thresholds, self.period_from),
            threshold_at_end=self._threshold_on(thresholds, self.period_to),
            reading_count=len(readings),
            healthy_count=healthy,
            healthy_share=_share(healthy, len(readings)),
            trend=self._trend(direction, readings),
            target_changes=tuple(changes),
            retired=_retirement(retired) if retired and self.in_period(retired.day) else None,
            months=tuple(
                KpiMonth(
                    month=month.key,
                    starts_on=month.starts_on,
                    ends_on=month.ends_on,
                    healthy=sum(1 for r in readings if month_of(r) == month.key and r.healthy),
                    readings=tuple(r for r in readings if month_of(r) == month.key),
                )
                for month in self.months
            ),
            defined=defined.cite,
        )

    @staticmethod
    def _threshold(row: _Row) -> ThresholdItem:
        return ThresholdItem(
            target=_required_decimal(row.after["target"]),
            healthy_low=_decimal(row.after.get("healthy_low")),
            healthy_high=_decimal(row.after.get("healthy_high")),
            set_on=row.day,
            cite=row.cite,
        )

    @staticmethod
    def _threshold_on(thresholds: Sequence[ThresholdItem], day: date) -> ThresholdItem:
        """The healthy level in force on a day, as `Kpi.threshold_on` chooses it."""
        in_force = [t for t in thresholds if t.set_on <= day]
        if not in_force:
            return thresholds[0]
        return max(in_force, key=lambda t: (t.set_on, t.cite.version))

    @staticmethod
    def _reading(row: _Row, corrections: Sequence[_Row]) -> ReadingItem:
        latest = corrections[-1] if corrections else row
        return ReadingItem(
            reading_id=row.subject_id or row.goal_id,
            effective_on=row.day,
            value=_required_decimal(latest.after["value"]),
            recorded_value=_required_decimal(row.after["value"]),
            healthy=bool(latest.after.get("healthy")),
            flags=row.flags,
            cite=row.cite,
            corrections=_corrections(corrections),
        )

    @staticmethod
    def _trend(direction: str, readings: Sequence[ReadingItem]) -> Trend | None:
        if len(readings) < 2:
            return None
        first, last = readings[0], readings[-1]
        change = last.value - first.value
        better = change < 0 if direction == "stay_below" else change > 0
        verdict = "steady" if change == 0 else ("improving" if better else "worsening")
        return Trend(
            first_value=first.value,
            first_on=first.effective_on,
            last_value=last.value,
            last_on=last.effective_on,
            change=change,
            verdict=verdict,
        )

    # Grouping and ordering: by KRA and by objective, each in a fixed order.

    @staticmethod
    def areas(kpis: Sequence[KpiEvidence]) -> tuple[AreaEvidence, ...]:
        by_area: dict[str, list[KpiEvidence]] = defaultdict(list)
        for kpi in kpis:
            by_area[kpi.area].append(kpi)
        areas = []
        for area in sorted(by_area):
            members = sorted(by_area[area], key=lambda k: (k.name, k.defined.position))
            readings = sum(k.reading_count for k in members)
            healthy = sum(k.healthy_count for k in members)
            areas.append(
                AreaEvidence(
                    area=area,
                    reading_count=readings,
                    healthy_count=healthy,
                    healthy_share=_share(healthy, readings),
                    kpis=tuple(members),
                )
            )
        return tuple(areas)

    def objectives(
        self,
        key_results: Sequence[tuple[int, UUID, KeyResultEvidence]],
        owned: dict[UUID, list[_Row]],
    ) -> tuple[ObjectiveEvidence, ...]:
        members: dict[UUID, list[tuple[int, KeyResultEvidence]]] = defaultdict(list)
        for position, objective_id, key_result in key_results:
            members[objective_id].append((position, key_result))
        others = sorted(set(members) - set(owned), key=str)
        rows: dict[UUID, list[_Row]] = defaultdict(list)
        for found in self.view.rows_of_goals(others, ("created", "retired"), self.known_at):
            row = _Row.of(found)
            rows[row.goal_id].append(row)
        for objective_id, own_rows in owned.items():
            rows[objective_id] = own_rows
        objectives = []
        for objective_id in set(members) | set(owned):
            objective_rows = rows.get(objective_id, [])
            created = next((r for r in objective_rows if r.event == "created"), None)
            retired = next((r for r in objective_rows if r.event == "retired"), None)
            cycle = self.cycles.get(created.cycle_id or "") if created else None
            if objective_id not in members:
                # Owned, without key results of the person's: only if it lived in the period.
                if created is None or cycle is None:
                    continue
                ends = retired.day if retired else cycle.ends_on
                if not self.overlaps(cycle.starts_on, ends):
                    continue
            objectives.append(
                ObjectiveEvidence(
                    objective_id=objective_id,
                    title=created.after.get("title") if created else None,
                    kind=created.after.get("kind") if created else None,
                    owner=created.owner if created else None,
                    cycle_id=created.cycle_id if created else None,
                    owned_by_person=objective_id in owned,
                    retired=_retirement(retired)
                    if retired and self.in_period(retired.effective_on)
                    else None,
                    key_results=tuple(kr for _, kr in sorted(members[objective_id])),
                    created=created.cite if created else None,
                )
            )

        def order(objective: ObjectiveEvidence) -> tuple[date, int, str]:
            cycle = self.cycles.get(objective.cycle_id or "")
            return (
                cycle.starts_on if cycle else date.max,
                objective.created.position if objective.created else 0,
                str(objective.objective_id),
            )

        return tuple(sorted(objectives, key=order))

    def summary(
        self, areas: Sequence[AreaEvidence], objectives: Sequence[ObjectiveEvidence]
    ) -> tuple[MonthSummary, ...]:
        key_results = [kr for o in objectives for kr in o.key_results]
        kpis = [k for a in areas for k in a.kpis]
        changes: list[date] = [c.effective_on for kr in key_results for c in kr.plan_changes]
        changes += [c.effective_on for k in kpis for c in k.target_changes]
        changes += [
            r.effective_on
            for r in [kr.retired for kr in key_results]
            + [k.retired for k in kpis]
            + [o.retired for o in objectives]
            if r is not None
        ]
        changes = [day for day in changes if self.in_period(day)]
        summaries = []
        for index, month in enumerate(self.months):
            check_ins = [c for kr in key_results for c in kr.months[index].check_ins]
            readings = [r for k in kpis for r in k.months[index].readings]
            active = [kr.months[index] for kr in key_results if kr.months[index].active]
            summaries.append(
                MonthSummary(
                    month=month.key,
                    starts_on=month.starts_on,
                    ends_on=month.ends_on,
                    key_results=len(active),
                    key_results_without_check_in=sum(1 for m in active if not m.check_ins),
                    check_ins=len(check_ins),
                    notes=sum(1 for c in check_ins if c.note),
                    readings=len(readings),
                    healthy_readings=sum(1 for r in readings if r.healthy),
                    changes=sum(1 for d in changes if _month_key(d) == month.key),
                )
            )
        return tuple(summaries)


def month_of(item: CheckInItem | ReadingItem) -> str:
    return _month_key(item.effective_on)


def plan_on(plans: Sequence[PlanItem], day: date) -> PlanItem:
    """The plan in force on a day, as `KeyResult.plan_on` chooses it."""
    in_force = [p for p in plans if p.effective_on <= day]
    if not in_force:
        return plans[0]
    return max(in_force, key=lambda p: (p.effective_on, p.cite.version))


def plans_of(key_result: KeyResultEvidence) -> list[PlanItem]:
    """Every plan of a key result, in the order recorded, as the domain keeps them."""
    plans = [key_result.original_plan]
    for change in sorted(key_result.plan_changes, key=lambda c: c.cite.version):
        latest = plans[-1]
        rebaselined = change.kind == "rebaselined"
        plans.append(
            PlanItem(
                baseline=change.baseline_after
                if rebaselined and change.baseline_after is not None
                else latest.baseline,
                target=change.target_after
                if rebaselined and change.target_after is not None
                else latest.target,
                weight=change.weight_after
                if not rebaselined and change.weight_after is not None
                else latest.weight,
                effective_on=change.effective_on,
                cite=change.cite,
            )
        )
    return plans
