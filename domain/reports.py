"""Statuses composed from several aggregates: objectives and whole cycles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from domain.base import Retirement
from domain.key_result import KeyResultStatus
from domain.kpi import KpiStatus
from domain.scoring import TrafficLight, net_confidence, objective_score, traffic_light
from domain.values import KpiDirection, ObjectiveKind


@dataclass(frozen=True)
class KeyResultLine:
    id: UUID
    title: str
    owner: str
    unit: str
    direction: str
    version: int
    status: KeyResultStatus


@dataclass(frozen=True)
class ObjectiveStatus:
    id: UUID
    cycle_id: str
    as_of: date
    title: str
    owner: str
    kind: ObjectiveKind
    parent_id: UUID | None
    version: int
    retired: Retirement | None
    key_results: tuple[KeyResultLine, ...]
    score: Decimal | None
    traffic_light: TrafficLight | None

    @classmethod
    def compose(
        cls,
        *,
        id: UUID,  # noqa: A002 - mirrors the aggregate's attribute
        cycle_id: str,
        as_of: date,
        title: str,
        owner: str,
        kind: ObjectiveKind,
        parent_id: UUID | None,
        version: int,
        retired: Retirement | None,
        key_results: tuple[KeyResultLine, ...],
    ) -> ObjectiveStatus:
        """Retired key results stay listed with their reason but do not count."""
        score = objective_score(
            (line.status.score, line.status.plan.weight)
            for line in key_results
            if line.status.retired is None
        )
        return cls(
            id=id,
            cycle_id=cycle_id,
            as_of=as_of,
            title=title,
            owner=owner,
            kind=kind,
            parent_id=parent_id,
            version=version,
            retired=retired,
            key_results=key_results,
            score=score,
            traffic_light=traffic_light(score) if score is not None else None,
        )


@dataclass(frozen=True)
class KpiLine:
    id: UUID
    area: str
    name: str
    owner: str
    unit: str
    direction: KpiDirection
    version: int
    status: KpiStatus
    okr_candidate: bool


@dataclass(frozen=True)
class CycleScoreboard:
    key: str
    starts_on: date
    ends_on: date
    closed_at: datetime | None
    as_of: date
    known_at: datetime | None
    objectives: tuple[ObjectiveStatus, ...]

    @property
    def net_confidence(self) -> Decimal | None:
        return net_confidence(
            line.status.last_check_in.confidence if line.status.last_check_in else None
            for objective in self.objectives
            if objective.retired is None
            for line in objective.key_results
            if line.status.retired is None
        )
