"""One goal's evidence from its audit-trail rows: a key result's or a KPI's, month by month.

Pure functions of the rows and the period, so the same rows give the same evidence.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from domain.plans import plan_in_force
from domain.scoring import key_result_score, rounded, traffic_light
from domain.values import Confidence, Direction
from projections.audit_trail import TrailEntry
from projections.evidence.items import (
    CarryItem,
    CheckInItem,
    Citation,
    Correction,
    CycleDates,
    KeyResultEvidence,
    KeyResultMonth,
    KpiEvidence,
    KpiMonth,
    Month,
    PlanChangeItem,
    PlanItem,
    ReadingItem,
    RetirementItem,
    ScoreItem,
    SelfAssessmentItem,
    TargetChangeItem,
    ThresholdItem,
    Trend,
    amount,
    dated,
    month_of,
)
from storage.rows import exact


@dataclass(frozen=True)
class Scope:
    """What a goal's evidence is read against: the period, its months, the cycles' dates."""

    period_from: date
    period_to: date
    months: tuple[Month, ...]
    cycles: Mapping[str, CycleDates]

    def in_period(self, day: date | None) -> bool:
        return day is not None and self.period_from <= day <= self.period_to

    def overlaps(self, starts_on: date | None, ends_on: date | None) -> bool:
        return (starts_on is None or starts_on <= self.period_to) and (
            ends_on is None or ends_on >= self.period_from
        )

    def retirement(self, row: TrailEntry | None) -> RetirementItem | None:
        """A retirement, when it took effect inside the period."""
        if row is None or not self.in_period(row.effective_on):
            return None
        return RetirementItem(
            effective_on=dated(row),
            reason=row.reason,
            reason_code=row.reason_code,
            score_then=exact(row.before.get("score")),
            traffic_light_then=row.before.get("traffic_light"),
            flags=row.flags,
            cite=Citation.of(row),
        )


def share(part: int, whole: int) -> Decimal | None:
    return rounded(Decimal(part) / Decimal(whole)) if whole else None


def first(rows: Sequence[TrailEntry], event: str) -> TrailEntry | None:
    return next((r for r in rows if r.event == event), None)


def _last(rows: Sequence[TrailEntry], event: str) -> TrailEntry | None:
    return next((r for r in reversed(rows) if r.event == event), None)


# A check-in a KPI reading made is a check-in, and its correction a correction (ADR 38).
_SAME_AS = {
    "check_in_from_reading": "check_in_recorded",
    "check_in_corrected_from_reading": "check_in_corrected",
}


def _values(
    rows: Sequence[TrailEntry], recorded: str, corrected: str
) -> list[tuple[TrailEntry, list[TrailEntry]]]:
    """Each value recorded (a check-in, a reading) with its corrections, in log order."""
    found: dict[UUID, TrailEntry] = {}
    corrections: dict[UUID, list[TrailEntry]] = defaultdict(list)
    for row in rows:
        event = _SAME_AS.get(row.event, row.event)
        if row.subject_id is not None and event == recorded:
            found[row.subject_id] = row
        elif row.subject_id is not None and event == corrected:
            corrections[row.subject_id].append(row)
    return [(row, corrections[value_id]) for value_id, row in found.items()]


def _corrections(rows: Sequence[TrailEntry]) -> tuple[Correction, ...]:
    if not rows:  # most check-ins were never corrected: no generator to make and run
        return ()
    return tuple(
        Correction(
            value=amount(r.after["value"]),
            reason=r.reason,
            reason_code=r.reason_code,
            flags=r.flags,
            cite=Citation.of(r),
        )
        for r in rows
    )


# Key results: baseline, target, final value, plan changes, check-ins month by month.


def self_assessment(rows: Sequence[TrailEntry]) -> SelfAssessmentItem | None:
    """The latest self-assessment among the goal's rows: a later one supersedes an earlier.

    Whenever recorded (by the evidence's `known_at`): it is usually written after the
    cycle's end, which may fall after the period's, and is about the goal, not a day.
    """
    row = _last(rows, "self_assessed")
    if row is None:
        return None
    return SelfAssessmentItem(
        grade=amount(row.after["grade"]),
        reflection=str(row.after["reflection"]),
        flags=row.flags,
        cite=Citation.of(row),
    )


def key_result_evidence(scope: Scope, rows: Sequence[TrailEntry]) -> KeyResultEvidence | None:
    created = first(rows, "created")
    if created is None:
        return None
    plans, changes = _plans(rows)
    # Check-ins before the period count only towards the score (`earlier_check_ins`).
    known = sorted(
        (
            _check_in(row, corrections)
            for row, corrections in _values(rows, "check_in_recorded", "check_in_corrected")
        ),
        key=lambda c: (c.effective_on, c.cite.version),
    )
    check_ins = [c for c in known if c.effective_on >= scope.period_from]
    carried = _last(rows, "carried_forward")
    # A carry closes the key result in its cycle as a retirement does (ADR 37).
    retired = _last(rows, "retired") or carried
    cycle = scope.cycles.get(created.cycle_id or "")
    span_end = retired.effective_on if retired else (cycle.ends_on if cycle else None)
    changes.sort(key=lambda c: (c.effective_on, c.cite.version))
    dated_changes = [c.effective_on for c in changes] + (
        [dated(retired)] if retired is not None else []
    )
    if not (
        check_ins
        or any(scope.in_period(d) for d in dated_changes)
        or scope.overlaps(created.effective_on, span_end)
    ):
        return None
    by_month: dict[str, list[CheckInItem]] = defaultdict(list)
    for check_in in check_ins:
        by_month[month_of(check_in)].append(check_in)
    end_day = min(scope.period_to, cycle.ends_on) if cycle else scope.period_to
    scored_on = min(end_day, dated(retired)) if retired is not None else end_day
    span_start = max(dated(created), cycle.starts_on) if cycle else dated(created)
    measurement = created.after.get("measurement") or {}
    return KeyResultEvidence(
        key_result_id=created.goal_id,
        title=str(created.after.get("title", "")),
        unit=str(created.after.get("unit", "")),
        direction=str(created.after.get("direction", "")),
        cycle_id=created.cycle_id,
        cycle_starts_on=cycle.starts_on if cycle else None,
        cycle_ends_on=cycle.ends_on if cycle else None,
        measurement_source=measurement.get("source"),
        measurement_query=measurement.get("query"),
        original_plan=plans[0],
        plan_at_end=plan_in_force(plans, end_day),
        plans=tuple(plans),
        final=check_ins[-1] if check_ins else None,
        check_in_count=len(check_ins),
        score_at_end=_score(str(created.after.get("direction", "")), plans, known, scored_on),
        plan_changes=tuple(changes),
        retired=scope.retirement(retired if carried is None else None),
        carried_from=_uuid(created.after.get("carried_from")),
        carried_to=_carry(carried),
        months=tuple(
            _key_result_month(
                month,
                by_month.get(month.key, []),
                active=month.starts_on <= (span_end or date.max) and month.ends_on >= span_start,
            )
            for month in scope.months
        ),
        created=Citation.of(created),
        self_assessment=self_assessment(rows),
    )


def _uuid(value: object) -> UUID | None:
    return UUID(str(value)) if value is not None else None


def _carry(row: TrailEntry | None) -> CarryItem | None:
    """The carry that closed a key result, citing its successor and its final score."""
    if row is None:
        return None
    return CarryItem(
        key_result_id=UUID(str(row.after["carried_to"])),
        cycle_id=str(row.after["to_cycle_id"]),
        effective_on=dated(row),
        reason=row.reason,
        score_then=exact(row.before.get("score")),
        traffic_light_then=row.before.get("traffic_light"),
        cite=Citation.of(row),
    )


def _score(
    direction: str, plans: Sequence[PlanItem], check_ins: Sequence[CheckInItem], day: date
) -> ScoreItem:
    """The score on a day as `KeyResult.status` gives it: the latest check-in effective by
    then (the later recorded winning a tie), else the baseline, against the plan then."""
    plan = plan_in_force(plans, day)
    latest = next((c for c in reversed(check_ins) if c.effective_on <= day), None)
    value = latest.value if latest is not None else plan.baseline
    score = key_result_score(Direction(direction), plan.baseline, plan.target, value)
    return ScoreItem(
        as_of=day,
        value=value,
        score=rounded(score),
        traffic_light=traffic_light(score).value,
        check_in=latest.cite if latest is not None else None,
    )


def _plans(rows: Sequence[TrailEntry]) -> tuple[list[PlanItem], list[PlanChangeItem]]:
    """The plans as the domain keeps them, a new one per change from the latest; the changes."""
    plans: list[PlanItem] = []
    changes: list[PlanChangeItem] = []
    for row in rows:
        if row.event == "created":
            after = row.after
            plans.append(
                PlanItem(
                    baseline=amount(after["baseline"]),
                    target=amount(after["target"]),
                    weight=amount(after["weight"]),
                    effective_on=dated(row),
                    cite=Citation.of(row),
                )
            )
        elif row.event in ("rebaselined", "reweighted") and plans:
            latest = plans[-1]
            rebaselined = row.event == "rebaselined"
            plan = PlanItem(
                baseline=amount(row.after["baseline"]) if rebaselined else latest.baseline,
                target=amount(row.after["target"]) if rebaselined else latest.target,
                weight=latest.weight if rebaselined else amount(row.after["weight"]),
                effective_on=dated(row),
                cite=Citation.of(row),
            )
            plans.append(plan)
            changes.append(
                PlanChangeItem(
                    kind=row.event,
                    effective_on=dated(row),
                    baseline_before=exact(row.before.get("baseline")),
                    target_before=exact(row.before.get("target")),
                    baseline_after=plan.baseline if rebaselined else None,
                    target_after=plan.target if rebaselined else None,
                    weight_before=exact(row.before.get("weight")),
                    weight_after=None if rebaselined else plan.weight,
                    reason=row.reason,
                    reason_code=row.reason_code,
                    flags=row.flags,
                    cite=Citation.of(row),
                )
            )
    return plans, changes


def _check_in(row: TrailEntry, corrections: Sequence[TrailEntry]) -> CheckInItem:
    recorded_value = amount(row.after["value"])
    return CheckInItem(
        check_in_id=row.subject_id or row.goal_id,
        effective_on=dated(row),
        value=amount(corrections[-1].after["value"]) if corrections else recorded_value,
        recorded_value=recorded_value,
        confidence=str(row.after.get("confidence", "")),
        note=str(row.after.get("note") or ""),
        flags=row.flags,
        cite=Citation.of(row),
        corrections=_corrections(corrections),
    )


def _key_result_month(
    month: Month, check_ins: Sequence[CheckInItem], *, active: bool
) -> KeyResultMonth:
    confidences = Counter(c.confidence for c in check_ins)

    def count(confidence: Confidence) -> int:
        return confidences[confidence.value]

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


def kpi_evidence(scope: Scope, rows: Sequence[TrailEntry]) -> KpiEvidence | None:
    defined = first(rows, "defined")
    if defined is None:
        return None
    thresholds = [_threshold(defined)]
    changes: list[TargetChangeItem] = []
    for row in rows:
        if row.event == "target_changed":
            thresholds.append(_threshold(row))
            changes.append(_target_change(row))
    readings = sorted(
        (
            _reading(row, corrections)
            for row, corrections in _values(rows, "reading_recorded", "reading_corrected")
        ),
        key=lambda r: (r.effective_on, r.cite.version),
    )
    retired = _last(rows, "retired")
    changes.sort(key=lambda c: (c.effective_on, c.cite.version))
    # A KPI lives from its definition (as dated, or else as recorded) until retired.
    starts_on = min(dated(defined), defined.recorded_at.date())
    ends_on = retired.effective_on if retired else None
    if not (
        readings
        or any(scope.in_period(c.effective_on) for c in changes)
        or scope.overlaps(starts_on, ends_on)
    ):
        return None
    healthy = sum(1 for r in readings if r.healthy)
    direction = str(defined.after.get("direction", ""))
    return KpiEvidence(
        kpi_id=defined.goal_id,
        area=str(defined.after.get("area", "")),
        name=str(defined.after.get("name", "")),
        unit=str(defined.after.get("unit", "")),
        direction=direction,
        formula=defined.after.get("formula"),
        data_source=defined.after.get("data_source"),
        cadence=defined.after.get("cadence"),
        threshold_at_start=_threshold_on(thresholds, scope.period_from),
        threshold_at_end=_threshold_on(thresholds, scope.period_to),
        reading_count=len(readings),
        healthy_count=healthy,
        healthy_share=share(healthy, len(readings)),
        trend=_trend(direction, readings),
        target_changes=tuple(changes),
        retired=scope.retirement(retired),
        months=tuple(_kpi_month(month, readings, starts_on, ends_on) for month in scope.months),
        defined=Citation.of(defined),
    )


def _kpi_month(
    month: Month, readings: Sequence[ReadingItem], starts_on: date, ends_on: date | None
) -> KpiMonth:
    found = tuple(r for r in readings if month_of(r) == month.key)
    return KpiMonth(
        month=month.key,
        starts_on=month.starts_on,
        ends_on=month.ends_on,
        # A reading makes a month count whatever the dates say, as a check-in does.
        active=bool(found)
        or (month.ends_on >= starts_on and month.starts_on <= (ends_on or date.max)),
        healthy=sum(1 for r in found if r.healthy),
        readings=found,
    )


def _threshold(row: TrailEntry) -> ThresholdItem:
    return ThresholdItem(
        target=amount(row.after["target"]),
        healthy_low=exact(row.after.get("healthy_low")),
        healthy_high=exact(row.after.get("healthy_high")),
        set_on=dated(row),
        cite=Citation.of(row),
    )


def _target_change(row: TrailEntry) -> TargetChangeItem:
    return TargetChangeItem(
        effective_on=dated(row),
        target_before=exact(row.before.get("target")),
        healthy_low_before=exact(row.before.get("healthy_low")),
        healthy_high_before=exact(row.before.get("healthy_high")),
        target_after=amount(row.after["target"]),
        healthy_low_after=exact(row.after.get("healthy_low")),
        healthy_high_after=exact(row.after.get("healthy_high")),
        reason=row.reason,
        reason_code=row.reason_code,
        flags=row.flags,
        cite=Citation.of(row),
    )


def _threshold_on(thresholds: Sequence[ThresholdItem], day: date) -> ThresholdItem:
    """The healthy level in force on a day, as `Kpi.threshold_on` chooses it."""
    in_force = [t for t in thresholds if t.set_on <= day]
    if not in_force:
        return thresholds[0]
    return max(in_force, key=lambda t: (t.set_on, t.cite.version))


def _reading(row: TrailEntry, corrections: Sequence[TrailEntry]) -> ReadingItem:
    latest = corrections[-1] if corrections else row
    return ReadingItem(
        reading_id=row.subject_id or row.goal_id,
        effective_on=dated(row),
        value=amount(latest.after["value"]),
        recorded_value=amount(row.after["value"]),
        healthy=bool(latest.after.get("healthy")),
        flags=row.flags,
        cite=Citation.of(row),
        corrections=_corrections(corrections),
    )


def _trend(direction: str, readings: Sequence[ReadingItem]) -> Trend | None:
    if len(readings) < 2:
        return None
    first_reading, last = readings[0], readings[-1]
    change = last.value - first_reading.value
    better = change < 0 if direction == "stay_below" else change > 0
    verdict = "steady" if change == 0 else ("improving" if better else "worsening")
    return Trend(
        first_value=first_reading.value,
        first_on=first_reading.effective_on,
        last_value=last.value,
        last_on=last.effective_on,
        change=change,
        verdict=verdict,
    )
