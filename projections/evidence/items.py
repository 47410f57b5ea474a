"""What appraisal evidence says: every item carries the citation of the event it comes from.

Items are built from audit-trail rows (`TrailEntry`), the one row type of the trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from projections.audit_trail import TrailEntry
from projections.frozen import quick_init
from storage.rows import exact

# What the evidence says; every item carries the citation of the event it comes from.


@quick_init
@dataclass(frozen=True)
class Citation:
    """The event an item comes from: its log position, its goal and the goal's version."""

    position: int
    goal_id: UUID
    version: int
    event: str
    actor: str
    recorded_at: datetime

    @classmethod
    def of(cls, row: TrailEntry) -> Citation:
        return cls(row.position, row.goal_id, row.version, row.event, row.actor, row.recorded_at)


@quick_init
@dataclass(frozen=True)
class Correction:
    value: Decimal
    reason: str | None
    reason_code: str | None
    flags: tuple[str, ...]
    cite: Citation


@quick_init
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


@quick_init
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


@quick_init
@dataclass(frozen=True)
class RetirementItem:
    effective_on: date
    reason: str | None
    reason_code: str | None
    score_then: Decimal | None
    traffic_light_then: str | None
    flags: tuple[str, ...]
    cite: Citation


@quick_init
@dataclass(frozen=True)
class PlanItem:
    """A key result's plan, in force from `effective_on`."""

    baseline: Decimal
    target: Decimal
    weight: Decimal
    effective_on: date
    cite: Citation

    @property
    def version(self) -> int:
        """The key result's version the plan came with (a later change wins a tie)."""
        return self.cite.version


@quick_init
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


@quick_init
@dataclass(frozen=True)
class ScoreItem:
    """A key result's score on a day, as the domain scores it: the value then (its latest
    check-in, else the baseline) against the plan in force then."""

    as_of: date
    value: Decimal
    score: Decimal
    traffic_light: str
    # The check-in the value comes from; None when it is the baseline (no check-in yet).
    check_in: Citation | None


@quick_init
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


@quick_init
@dataclass(frozen=True)
class SelfAssessmentItem:
    """The owner's latest self-assessment as known at the evidence's `known_at`: shown
    beside the computed score, never in it (ADR 34)."""

    grade: Decimal
    reflection: str
    flags: tuple[str, ...]
    cite: Citation


@quick_init
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
    # Every plan in the order recorded, as the domain keeps them (`plan_in_force` reads it).
    plans: tuple[PlanItem, ...]
    final: CheckInItem | None
    check_in_count: int
    # The score on the last day the key result counted in the period: the period's end,
    # its cycle's end or its retirement, whichever comes first.
    score_at_end: ScoreItem
    plan_changes: tuple[PlanChangeItem, ...]
    retired: RetirementItem | None
    months: tuple[KeyResultMonth, ...]
    created: Citation
    self_assessment: SelfAssessmentItem | None = None
    # One line of work across cycles (ADR 37): the key result it carries forward (its
    # creation, `created`, cites it), and the carry that closed it, citing its successor.
    carried_from: UUID | None = None
    carried_to: CarryItem | None = None


@quick_init
@dataclass(frozen=True)
class CarryItem:
    """A key result carried forward: its successor, the later cycle, why, its final score."""

    key_result_id: UUID
    cycle_id: str
    effective_on: date
    reason: str | None
    score_then: Decimal | None
    traffic_light_then: str | None
    cite: Citation


@quick_init
@dataclass(frozen=True)
class LineOfWork:
    """Key results carried forward one to the next, earliest first: one piece of work
    across cycles, as the evidence of the period shows it (ADR 37)."""

    title: str
    key_result_ids: tuple[UUID, ...]
    cycle_ids: tuple[str | None, ...]


@quick_init
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
    self_assessment: SelfAssessmentItem | None = None


@quick_init
@dataclass(frozen=True)
class ThresholdItem:
    """A KPI's healthy level, in force from `set_on`."""

    target: Decimal
    healthy_low: Decimal | None
    healthy_high: Decimal | None
    set_on: date
    cite: Citation


@quick_init
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


@quick_init
@dataclass(frozen=True)
class Trend:
    """First against last reading of the period; `verdict` reads the KPI's direction."""

    first_value: Decimal
    first_on: date
    last_value: Decimal
    last_on: date
    change: Decimal
    verdict: str


@quick_init
@dataclass(frozen=True)
class KpiMonth:
    """One month of a KPI; `active` when the KPI lived in it (from its definition to its
    retirement), so a month without readings there is a gap, and one outside is not."""

    month: str
    starts_on: date
    ends_on: date
    active: bool
    healthy: int
    readings: tuple[ReadingItem, ...]


@quick_init
@dataclass(frozen=True)
class KpiEvidence:
    kpi_id: UUID
    area: str
    name: str
    unit: str
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


@quick_init
@dataclass(frozen=True)
class AreaEvidence:
    """A KRA: the person's KPIs in one area, and their readings in the healthy range."""

    area: str
    reading_count: int
    healthy_count: int
    healthy_share: Decimal | None
    kpis: tuple[KpiEvidence, ...]


@quick_init
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


@quick_init
@dataclass(frozen=True)
class RelationItem:
    """How the person stood to a goal (`owner`, `contributor`, `team_member` through
    `team`) from `starts_on` until `ends_on`, the months of the period it held in, and the
    events that began and ended it (ADR 42)."""

    goal_id: UUID
    goal_kind: str
    relation: str
    team: str | None
    starts_on: date
    ends_on: date | None
    months: tuple[str, ...]
    cites: tuple[Citation, ...]


@quick_init
@dataclass(frozen=True)
class PersonEvidence:
    person: str
    period_from: date
    period_to: date
    known_at: datetime
    months: tuple[MonthSummary, ...]
    areas: tuple[AreaEvidence, ...]
    objectives: tuple[ObjectiveEvidence, ...]
    relations: tuple[RelationItem, ...] = ()

    @property
    def lines(self) -> tuple[LineOfWork, ...]:
        """The key results of the period carried forward one to another, as lines of work."""
        return lines_of_work([kr for o in self.objectives for kr in o.key_results])


def lines_of_work(key_results: list[KeyResultEvidence]) -> tuple[LineOfWork, ...]:
    """Chains of key results linked by their carries, each of two or more, in the order
    their first key results were created."""
    by_id = {kr.key_result_id: kr for kr in key_results}
    successors = {
        kr.key_result_id: kr.carried_to.key_result_id
        for kr in key_results
        if kr.carried_to is not None and kr.carried_to.key_result_id in by_id
    }
    linked = set(successors.values())
    lines = []
    for head in sorted(key_results, key=lambda kr: kr.created.position):
        if head.key_result_id in linked or head.key_result_id not in successors:
            continue
        chain = [head]
        while chain[-1].key_result_id in successors:
            chain.append(by_id[successors[chain[-1].key_result_id]])
        lines.append(
            LineOfWork(
                title=chain[-1].title,
                key_result_ids=tuple(kr.key_result_id for kr in chain),
                cycle_ids=tuple(kr.cycle_id for kr in chain),
            )
        )
    return tuple(lines)


# Rows and months


def dated(row: TrailEntry) -> date:
    """The effective date of an event that always has one."""
    if row.effective_on is None:
        raise ValueError(f"event at position {row.position} has no effective date")
    return row.effective_on


def amount(value: Any) -> Decimal:
    """A decimal a row's `before` or `after` always holds."""
    found = exact(value)
    if found is None:
        raise ValueError("a value the audit trail always records is missing")
    return found


@quick_init
@dataclass(frozen=True)
class Month:
    key: str
    starts_on: date
    ends_on: date


def months_of(starts_on: date, ends_on: date) -> list[Month]:
    """Calendar months of the period, the first and last cut to the period."""
    months = []
    first = starts_on
    while first <= ends_on:
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        months.append(Month(f"{first:%Y-%m}", first, min(ends_on, following - timedelta(days=1))))
        first = following
    return months


def month_key(day: date) -> str:
    # The ISO date's first seven characters: `format` goes through strftime, several times
    # slower, and this runs once per check-in. Dates start in 1970 (domain.values), so the
    # year always has four digits either way.
    return day.isoformat()[:7]


def month_of(item: CheckInItem | ReadingItem) -> str:
    return month_key(item.effective_on)


@quick_init
@dataclass(frozen=True)
class CycleDates:
    starts_on: date
    ends_on: date
