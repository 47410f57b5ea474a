"""Scores per key result, objective, owner and cycle, each against current and original plans."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field, computed_field

from api.schemas.common import Exact, FromRow, LogHead, PlanWarningPublic, Score
from api.schemas.self_assessments import SelfAssessmentPublic
from domain.plan_size import objectives_warnings
from domain.scoring import Pace, TrafficLight
from domain.values import Confidence, Direction, ObjectiveKind, ReasonCode


class BarPublic(FromRow):
    """The bar a goal's score is judged by: its objective's kind (docs/adr/0033)."""

    kind: ObjectiveKind
    green: Exact = Field(description="Green from this score.")
    amber: Exact = Field(description="Amber from this score; red below it.")
    expected_at_end: Exact = Field(
        description="Success on the cycle's last day; pace expects this times the elapsed share."
    )


class KeyResultScore(FromRow):
    """A key result scored against its current and its original plan."""

    id: UUID = Field(validation_alias="key_result_id")
    objective_id: UUID
    cycle_id: str
    owner: str
    title: str
    direction: Direction
    baseline: Exact
    target: Exact
    weight: Exact
    original_baseline: Exact
    original_target: Exact
    original_weight: Exact
    rebaselined: bool
    value: Exact
    last_check_in_on: date | None
    confidence: Confidence | None
    score: Score
    score_against_original_plan: Score
    traffic_light: TrafficLight
    bar: BarPublic
    as_of: date = Field(description="The day pace and staleness are judged on.")
    expected_progress: Score = Field(description="The elapsed share of the cycle.")
    pace: Pace
    stale: bool
    retired: bool
    retired_reason_code: str | None
    version: int
    self_assessment: SelfAssessmentPublic | None = Field(
        description="The owner's latest self-assessment, as known at `known_at`: beside the "
        "computed score, never in it (ADR 34)."
    )

    @computed_field(  # type: ignore[prop-decorator]
        description="How it was closed, if it was: `carried_forward` to a later cycle, "
        "counted in its objective's score at its final score and never as retired while "
        "red (ADR 37); else `retired`, as `retired_reason_code` says."
    )
    @property
    def closed_as(self) -> Literal["carried_forward", "retired"] | None:
        if not self.retired:
            return None
        if self.retired_reason_code == ReasonCode.CARRIED_FORWARD.value:
            return "carried_forward"
        return "retired"


class ObjectiveScore(FromRow):
    """An objective's weighted score over its key results that are not retired."""

    id: UUID = Field(validation_alias="objective_id")
    cycle_id: str
    owner: str
    title: str
    kind: ObjectiveKind
    parent_id: UUID | None
    score: Score | None
    score_against_original_plan: Score | None = Field(
        description="The same key results against their original baselines, targets, weights."
    )
    traffic_light: TrafficLight | None
    bar: BarPublic
    retired: bool
    retired_reason_code: str | None
    version: int
    warnings: list[PlanWarningPublic] = Field(
        description="Plan-size guidance (ADR 35): fewer than 2 or more than 5 key results "
        "not retired; none for a retired objective."
    )
    self_assessment: SelfAssessmentPublic | None = Field(
        description="The owner's latest self-assessment, as known at `known_at`: beside the "
        "computed score, never in it (ADR 34)."
    )


class CycleScore(FromRow):
    """A whole cycle's figures over its objectives and key results that are not retired."""

    cycle_id: str
    objectives: int = Field(description="Objectives not retired.")
    score: Score | None = Field(description="Mean of those objectives' scores.")
    score_against_original_plan: Score | None
    traffic_light: TrafficLight | None
    key_results: int = Field(description="Key results not retired, of those objectives.")
    key_result_score: Score | None = Field(description="Mean of those key results' scores.")
    key_result_score_against_original_plan: Score | None
    green: int
    amber: int
    red: int
    behind: int = Field(
        description="Key results whose score is below their bar's expectation on the day."
    )
    stale: int = Field(description="Key results with no check-in for 21 days.")
    net_confidence: Score | None = Field(
        description="Share of those key results on track minus share off track."
    )


class OwnerScore(CycleScore):
    """One owner's figures in a cycle: the objectives and the key results they own."""

    owner: str

    @computed_field(  # type: ignore[prop-decorator]
        description="Plan-size guidance (ADR 35): more than 3 objectives not retired in the cycle."
    )
    @property
    def warnings(self) -> list[PlanWarningPublic]:
        return [
            PlanWarningPublic.model_validate(w)
            for w in objectives_warnings(self.owner, self.objectives)
        ]


class ScoresPage(BaseModel):
    key_results: list[KeyResultScore]
    objectives: list[ObjectiveScore]
    owners: list[OwnerScore] = Field(
        description="Per cycle, each owner of a goal listed: over the goals listed."
    )
    cycles: list[CycleScore] = Field(description="Each cycle listed, whole, whatever the filter.")
    as_of: date | None
    known_at: datetime | None
    position: int = Field(description="The log position this read reflects (at least).")
    log_head: LogHead
