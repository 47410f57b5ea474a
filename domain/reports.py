"""Statuses composed from several aggregates: objectives and whole cycles."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from domain.base import Retirement
from domain.cycle import Cycle
from domain.key_result import KeyResult
from domain.key_result_plan import KeyResultStatus
from domain.kpi import KpiStatus
from domain.scoring import (
    Bar,
    Pace,
    TrafficLight,
    bar_for,
    mean_score,
    net_confidence,
    objective_score,
    traffic_light,
)
from domain.self_assessment import SelfAssessment, latest_self_assessment
from domain.values import Confidence, KpiDirection, ObjectiveKind


@dataclass(frozen=True)
class KeyResultLine:
    id: UUID
    title: str
    owner: str
    unit: str
    direction: str
    version: int
    status: KeyResultStatus
    bar: Bar
    # The owner's latest, as the key result was loaded: beside the score, never in it.
    self_assessment: SelfAssessment | None = None

    @classmethod
    def of(
        cls, key_result: KeyResult, cycle: Cycle, as_of: date, kind: ObjectiveKind
    ) -> KeyResultLine:
        """The key result as it stands on `as_of` in its cycle, judged by its objective's kind.

        Every line is built here.
        """
        bar = bar_for(kind)
        return cls(
            id=key_result.id,
            title=key_result.title,
            owner=key_result.owner,
            unit=key_result.unit,
            direction=key_result.direction.value,
            version=key_result.version,
            status=judged(key_result.status(cycle, as_of), bar),
            bar=bar,
            self_assessment=latest_self_assessment(key_result),
        )


def judged(status: KeyResultStatus, bar: Bar) -> KeyResultStatus:
    """The status with its traffic light and pace judged by `bar` (its objective's kind)."""
    return replace(
        status,
        traffic_light=bar.light(status.score),
        pace=bar.pace(status.score, status.expected_progress),
    )


def counts(status: KeyResultStatus) -> bool:
    """Whether a key result counts in its objective's score: live, graduated to a KPI, or
    carried forward to a later cycle (ADR 37), each of the last two at its final score."""
    retired = status.retired
    return retired is None or retired.graduated_to_kpi is not None or retired.carried_to is not None


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
    # The same key results, each against its original baseline and target, with its
    # original weight: what re-baselining changed, at the objective's level.
    score_against_original_plan: Decimal | None = None
    # The owner's latest, as the objective was loaded: beside the score, never in it.
    self_assessment: SelfAssessment | None = None
    # The objective of an earlier cycle this one was created to carry on (ADR 37).
    carried_from: UUID | None = None

    @property
    def bar(self) -> Bar:
        return bar_for(self.kind)

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
        self_assessment: SelfAssessment | None = None,
        carried_from: UUID | None = None,
    ) -> ObjectiveStatus:
        """Retired key results stay listed with their reason but do not count, but for a
        graduated one: it counts at its final score, as the success it graduated on (ADR 36).
        Nothing is recorded on it after its graduation, so its score as of any later day is
        the one it had on that day."""
        counted = [line.status for line in key_results if counts(line.status)]
        score = objective_score((status.score, status.plan.weight) for status in counted)
        original = objective_score(
            (status.score_against_original_plan, status.original_plan.weight) for status in counted
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
            traffic_light=bar_for(kind).light(score) if score is not None else None,
            score_against_original_plan=original,
            self_assessment=self_assessment,
            carried_from=carried_from,
        )


@dataclass(frozen=True)
class ObjectiveFigures:
    """What a rollup needs of an objective."""

    owner: str
    live: bool  # not retired
    score: Decimal | None
    score_against_original_plan: Decimal | None


@dataclass(frozen=True)
class KeyResultFigures:
    """What a rollup needs of a key result."""

    owner: str
    live: bool  # neither it nor its objective retired
    score: Decimal
    score_against_original_plan: Decimal
    traffic_light: TrafficLight
    pace: Pace
    stale: bool
    confidence: Confidence | None


@dataclass(frozen=True)
class Rollup:
    """A whole cycle's scores, or one owner's in it, over goals that are not retired.

    `score` is the plain mean of the objectives' scores (each objective counts once,
    whatever its size); `key_result_score` the plain mean of the key results' scores (an
    owner may own key results under someone else's objective). Both also against the
    original plans. Retired goals are left out of every figure here and listed, with
    their reasons, in the rows beside it.
    """

    cycle_id: str
    owner: str | None
    objectives: int
    score: Decimal | None
    score_against_original_plan: Decimal | None
    key_results: int
    key_result_score: Decimal | None
    key_result_score_against_original_plan: Decimal | None
    green: int
    amber: int
    red: int
    behind: int
    stale: int
    net_confidence: Decimal | None

    @property
    def traffic_light(self) -> TrafficLight | None:
        """The traffic light of `score`; None with no objective to score."""
        return traffic_light(self.score) if self.score is not None else None

    @classmethod
    def of(
        cls,
        cycle_id: str,
        owner: str | None,
        objectives: Iterable[ObjectiveFigures],
        key_results: Iterable[KeyResultFigures],
    ) -> Rollup:
        mine = [o for o in objectives if o.live and owner in (None, o.owner)]
        lines = [k for k in key_results if k.live and owner in (None, k.owner)]
        lights = [k.traffic_light for k in lines]
        return cls(
            cycle_id=cycle_id,
            owner=owner,
            objectives=len(mine),
            score=mean_score(o.score for o in mine if o.score is not None),
            score_against_original_plan=mean_score(
                o.score_against_original_plan
                for o in mine
                if o.score_against_original_plan is not None
            ),
            key_results=len(lines),
            key_result_score=mean_score(k.score for k in lines),
            key_result_score_against_original_plan=mean_score(
                k.score_against_original_plan for k in lines
            ),
            green=lights.count(TrafficLight.GREEN),
            amber=lights.count(TrafficLight.AMBER),
            red=lights.count(TrafficLight.RED),
            behind=sum(1 for k in lines if k.pace is Pace.BEHIND),
            stale=sum(1 for k in lines if k.stale),
            net_confidence=net_confidence(k.confidence for k in lines),
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

    def figures(self) -> tuple[list[ObjectiveFigures], list[KeyResultFigures]]:
        objectives = []
        key_results = []
        for objective in self.objectives:
            objectives.append(
                ObjectiveFigures(
                    owner=objective.owner,
                    live=objective.retired is None,
                    score=objective.score,
                    score_against_original_plan=objective.score_against_original_plan,
                )
            )
            for line in objective.key_results:
                status = line.status
                key_results.append(
                    KeyResultFigures(
                        owner=line.owner,
                        live=objective.retired is None and status.retired is None,
                        score=status.score,
                        score_against_original_plan=status.score_against_original_plan,
                        traffic_light=status.traffic_light,
                        pace=status.pace,
                        stale=status.stale,
                        confidence=(
                            status.last_check_in.confidence if status.last_check_in else None
                        ),
                    )
                )
        return objectives, key_results

    def rollup(self, owner: str | None = None) -> Rollup:
        """The whole cycle's figures, or one owner's."""
        objectives, key_results = self.figures()
        return Rollup.of(self.key, owner, objectives, key_results)

    @property
    def net_confidence(self) -> Decimal | None:
        """Share of live key results (of live objectives) on track minus share off track."""
        return self.rollup().net_confidence
