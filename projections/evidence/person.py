"""One person's evidence from their audit-trail rows: KRAs, objectives and the months.

Pure, so the same rows give the same evidence; each part in a fixed order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import TypeVar
from uuid import UUID

from projections.audit_trail import TrailEntry
from projections.evidence.goals import (
    Scope,
    first,
    key_result_evidence,
    kpi_evidence,
    self_assessment,
    share,
)
from projections.evidence.items import (
    AreaEvidence,
    Citation,
    KeyResultEvidence,
    KpiEvidence,
    MonthSummary,
    ObjectiveEvidence,
    PersonEvidence,
    RelationItem,
    dated,
    month_key,
)
from projections.evidence.relations import OWNER


def by_goal(rows: Sequence[TrailEntry]) -> dict[UUID, list[TrailEntry]]:
    grouped: dict[UUID, list[TrailEntry]] = defaultdict(list)
    for row in rows:
        grouped[row.goal_id].append(row)
    return grouped


def objectives_served(rows: Sequence[TrailEntry]) -> list[UUID]:
    """The objectives the person's key results serve but the person does not own: their
    own rows are read apart (`objective_rows` of `person_evidence`)."""
    owned = {r.goal_id for r in rows if r.goal_kind == "objective"}
    served = {
        UUID(r.after["objective_id"])
        for r in rows
        if r.goal_kind == "key_result" and r.event == "created"
    }
    return sorted(served - owned, key=str)


def person_evidence(
    person: str,
    scope: Scope,
    known_at: datetime,
    rows: Sequence[TrailEntry],
    objective_rows: Sequence[TrailEntry],
    relations: Sequence[RelationItem],
) -> PersonEvidence:
    """The evidence of the rows of the goals the person is related to; `objective_rows`
    are the creation and retirement of the objectives in `objectives_served(rows)`.

    A goal counts in the months one of the person's `relations` to it held in (ADR 42):
    a goal with none in the period is left out.
    """
    held: dict[UUID, set[str]] = defaultdict(set)
    for item in relations:
        held[item.goal_id].update(item.months)
    key_results: list[tuple[int, UUID, KeyResultEvidence]] = []
    kpis: list[KpiEvidence] = []
    owned: dict[UUID, list[TrailEntry]] = {}
    for goal_id, goal_rows in by_goal(rows).items():
        if goal_id not in held:
            continue
        kind = goal_rows[0].goal_kind
        if kind == "key_result":
            found = key_result_evidence(scope, goal_rows)
            created = first(goal_rows, "created")
            if found is not None and created is not None:
                objective_id = UUID(created.after["objective_id"])
                found = _held_months(found, held[goal_id])
                key_results.append((goal_rows[0].position, objective_id, found))
        elif kind == "kpi":
            kpi = kpi_evidence(scope, goal_rows)
            if kpi is not None:
                kpis.append(_held_months(kpi, held[goal_id]))
        elif kind == "objective":
            owned[goal_id] = goal_rows
    mine = {i.goal_id for i in relations if i.relation == OWNER}
    objectives = _objectives(
        scope, key_results, set(owned), mine, {**by_goal(objective_rows), **owned}
    )
    areas = _areas(kpis)
    return PersonEvidence(
        person=person,
        period_from=scope.period_from,
        period_to=scope.period_to,
        known_at=known_at,
        months=_summary(scope, areas, objectives),
        areas=areas,
        objectives=objectives,
        relations=tuple(relations),
    )


E = TypeVar("E", KeyResultEvidence, KpiEvidence)


def _held_months(goal: E, held: set[str]) -> E:
    """The goal's months, active only where a relation of the person's held."""
    months = tuple(replace(m, active=m.active and m.month in held) for m in goal.months)
    return replace(goal, months=months)


def _areas(kpis: Sequence[KpiEvidence]) -> tuple[AreaEvidence, ...]:
    """KRAs by name, each one's KPIs by name."""
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
                healthy_share=share(healthy, readings),
                kpis=tuple(members),
            )
        )
    return tuple(areas)


def _objectives(
    scope: Scope,
    key_results: Sequence[tuple[int, UUID, KeyResultEvidence]],
    owned: set[UUID],
    mine: set[UUID],
    rows: dict[UUID, list[TrailEntry]],
) -> tuple[ObjectiveEvidence, ...]:
    """The objectives the person's key results serve, and those the person owns that lived
    in the period; by cycle, then as created."""
    members: dict[UUID, list[tuple[int, KeyResultEvidence]]] = defaultdict(list)
    for position, objective_id, key_result in key_results:
        members[objective_id].append((position, key_result))
    objectives = []
    for objective_id in set(members) | owned:
        objective_rows = rows.get(objective_id, [])
        created = first(objective_rows, "created")
        retired = first(objective_rows, "retired")
        cycle = scope.cycles.get(created.cycle_id or "") if created else None
        if objective_id not in members:
            # Owned, without key results of the person's: only if it lived in the period.
            if created is None or cycle is None:
                continue
            ends = dated(retired) if retired else cycle.ends_on
            if not scope.overlaps(cycle.starts_on, ends):
                continue
        objectives.append(
            ObjectiveEvidence(
                objective_id=objective_id,
                title=created.after.get("title") if created else None,
                kind=created.after.get("kind") if created else None,
                owner=created.owner if created else None,
                cycle_id=created.cycle_id if created else None,
                owned_by_person=objective_id in mine,
                retired=scope.retirement(retired),
                key_results=tuple(kr for _, kr in sorted(members[objective_id])),
                created=Citation.of(created) if created else None,
                self_assessment=self_assessment(objective_rows),
            )
        )

    def order(objective: ObjectiveEvidence) -> tuple[date, int, str]:
        cycle = scope.cycles.get(objective.cycle_id or "")
        return (
            cycle.starts_on if cycle else date.max,
            objective.created.position if objective.created else 0,
            str(objective.objective_id),
        )

    return tuple(sorted(objectives, key=order))


def _summary(
    scope: Scope, areas: Sequence[AreaEvidence], objectives: Sequence[ObjectiveEvidence]
) -> tuple[MonthSummary, ...]:
    """How much evidence each month holds, across every goal."""
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
    changes = [day for day in changes if scope.in_period(day)]
    summaries = []
    for index, month in enumerate(scope.months):
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
                changes=sum(1 for d in changes if month_key(d) == month.key),
            )
        )
    return tuple(summaries)
