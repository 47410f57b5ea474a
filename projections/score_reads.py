"""Reading the scores read model: rows judged for pace and staleness, and rollups.

Pace and staleness depend on "today", so they are not stored: each row keeps their
inputs (a key result's with its objective's kind, whose bar judges it) and `score_line`
judges them at read time, with the domain's scoring functions,
as of `min(today, cycle end)`: the day the ledger's own reads default to. Rollups per
cycle and per owner in it are the domain's own `Rollup.of` over goals that are not
retired; a cycle's covers the whole cycle whatever other filter applies.

The same rows come from a replay of another day, each built from the domain's key-result
line or objective status (`KeyResultScoreRow.of`, `ObjectiveScoreRow.of`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg.sql import SQL, Composable, Identifier

from domain.plan_size import PlanWarning, key_results_warnings
from domain.reports import (
    KeyResultFigures,
    KeyResultLine,
    ObjectiveFigures,
    ObjectiveStatus,
    Rollup,
)
from domain.scoring import Bar, Pace, TrafficLight, bar_for, expected_progress, is_stale
from domain.self_assessment import SelfAssessment
from domain.values import Confidence, utc_today
from projections.audit_trail import placeholders
from storage.rows import Decoder, day, exact, flag, json_value, moment, uuid_value
from storage.views import ViewDatabase


@dataclass(frozen=True)
class KeyResultScoreRow:
    """A key result's stored score, with pace and staleness judged on `as_of`."""

    key_result_id: UUID
    objective_id: UUID
    cycle_id: str
    owner: str
    title: str
    direction: str
    baseline: Decimal
    target: Decimal
    weight: Decimal
    original_baseline: Decimal
    original_target: Decimal
    original_weight: Decimal
    rebaselined: bool
    value: Decimal
    last_check_in_on: date | None
    confidence: Confidence | None
    score: Decimal
    score_against_original_plan: Decimal
    traffic_light: TrafficLight
    bar: Bar
    as_of: date
    expected_progress: Decimal
    pace: Pace
    stale: bool
    retired: bool
    retired_reason_code: str | None
    version: int
    objective_retired: bool
    # Beside the score, never in it (ADR 34).
    self_assessment: SelfAssessment | None = None

    @classmethod
    def of(cls, line: KeyResultLine, objective: ObjectiveStatus) -> KeyResultScoreRow:
        """The row of a key result's line in its objective's status (a replayed day)."""
        status = line.status
        check_in = status.last_check_in
        return cls(
            key_result_id=line.id,
            objective_id=objective.id,
            cycle_id=objective.cycle_id,
            owner=line.owner,
            title=line.title,
            direction=line.direction,
            baseline=status.plan.baseline,
            target=status.plan.target,
            weight=status.plan.weight,
            original_baseline=status.original_plan.baseline,
            original_target=status.original_plan.target,
            original_weight=status.original_plan.weight,
            rebaselined=status.plan.version != status.original_plan.version,
            value=status.value,
            last_check_in_on=check_in.effective_on if check_in else None,
            confidence=check_in.confidence if check_in else None,
            score=status.score,
            score_against_original_plan=status.score_against_original_plan,
            traffic_light=status.traffic_light,
            bar=line.bar,
            as_of=status.as_of,
            expected_progress=status.expected_progress,
            pace=status.pace,
            stale=status.stale,
            retired=status.retired is not None,
            retired_reason_code=status.retired.reason_code.value if status.retired else None,
            version=line.version,
            objective_retired=objective.retired is not None,
            self_assessment=line.self_assessment,
        )

    def figures(self) -> KeyResultFigures:
        return KeyResultFigures(
            owner=self.owner,
            live=not self.retired and not self.objective_retired,
            score=self.score,
            score_against_original_plan=self.score_against_original_plan,
            traffic_light=self.traffic_light,
            pace=self.pace,
            stale=self.stale,
            confidence=self.confidence,
        )


@dataclass(frozen=True)
class ObjectiveScoreRow:
    objective_id: UUID
    cycle_id: str
    owner: str
    title: str
    kind: str
    parent_id: UUID | None
    score: Decimal | None
    score_against_original_plan: Decimal | None
    traffic_light: TrafficLight | None
    retired: bool
    retired_reason_code: str | None
    version: int
    # Its key results not retired, for the plan-size guidance (ADR 35).
    live_key_results: int
    self_assessment: SelfAssessment | None = None

    @property
    def bar(self) -> Bar:
        return bar_for(self.kind)

    @property
    def warnings(self) -> list[PlanWarning]:
        """Too few or too many key results; a retired objective is out of the plan."""
        return [] if self.retired else key_results_warnings(self.live_key_results, written=False)

    @classmethod
    def of(cls, objective: ObjectiveStatus) -> ObjectiveScoreRow:
        """The row of an objective's status (a replayed day)."""
        return cls(
            objective_id=objective.id,
            cycle_id=objective.cycle_id,
            owner=objective.owner,
            title=objective.title,
            kind=objective.kind.value,
            parent_id=objective.parent_id,
            score=objective.score,
            score_against_original_plan=objective.score_against_original_plan,
            traffic_light=objective.traffic_light,
            retired=objective.retired is not None,
            retired_reason_code=objective.retired.reason_code.value if objective.retired else None,
            version=objective.version,
            live_key_results=sum(line.status.retired is None for line in objective.key_results),
            self_assessment=objective.self_assessment,
        )

    def figures(self) -> ObjectiveFigures:
        return ObjectiveFigures(
            owner=self.owner,
            live=not self.retired,
            score=self.score,
            score_against_original_plan=self.score_against_original_plan,
        )


@dataclass(frozen=True)
class Scoreboard:
    key_results: list[KeyResultScoreRow]
    objectives: list[ObjectiveScoreRow]
    # Each cycle listed, whole; each owner listed, per cycle.
    cycles: list[Rollup]
    owners: list[Rollup]

    @property
    def net_confidence(self) -> dict[str, Decimal | None]:
        return {cycle.cycle_id: cycle.net_confidence for cycle in self.cycles}


def owner_rollups(
    key_results: Sequence[KeyResultScoreRow], objectives: Sequence[ObjectiveScoreRow]
) -> list[Rollup]:
    """Per cycle, per owner of a listed goal: that owner's figures over the listed goals."""
    owned_objectives: dict[tuple[str, str], list[ObjectiveFigures]] = defaultdict(list)
    owned_key_results: dict[tuple[str, str], list[KeyResultFigures]] = defaultdict(list)
    for objective in objectives:
        owned_objectives[objective.cycle_id, objective.owner].append(objective.figures())
    for key_result in key_results:
        owned_key_results[key_result.cycle_id, key_result.owner].append(key_result.figures())
    return [
        Rollup.of(
            cycle_id, owner, owned_objectives[cycle_id, owner], owned_key_results[cycle_id, owner]
        )
        for cycle_id, owner in sorted(owned_objectives.keys() | owned_key_results.keys())
    ]


# Each read names the columns it needs decoded, once (storage.rows).
KEY_RESULT_TYPES: dict[str, Decoder] = {
    "key_result_id": uuid_value,
    "objective_id": uuid_value,
    "cycle_starts_on": day,
    "cycle_ends_on": day,
    "original_effective_on": day,
    "last_check_in_on": day,
    "baseline": exact,
    "target": exact,
    "weight": exact,
    "original_baseline": exact,
    "original_target": exact,
    "original_weight": exact,
    "value": exact,
    "score": exact,
    "score_against_original_plan": exact,
    "retired": flag,
    "objective_retired": flag,
}
OBJECTIVE_TYPES: dict[str, Decoder] = {
    "objective_id": uuid_value,
    "parent_id": uuid_value,
    "score": exact,
    "score_against_original_plan": exact,
    "retired": flag,
}


def score_line(row: dict[str, Any], today: date) -> KeyResultScoreRow:
    """A stored row (decoded by KEY_RESULT_TYPES), judged as of `min(today, cycle end)`."""
    starts_on, ends_on = row["cycle_starts_on"], row["cycle_ends_on"]
    day_judged = min(today, ends_on)
    score = row["score"]
    expected = expected_progress(starts_on, ends_on, day_judged)
    bar = bar_for(row["kind"])
    last_on = row["last_check_in_on"]
    return KeyResultScoreRow(
        key_result_id=row["key_result_id"],
        objective_id=row["objective_id"],
        cycle_id=row["cycle_id"],
        owner=row["owner"],
        title=row["title"],
        direction=row["direction"],
        baseline=row["baseline"],
        target=row["target"],
        weight=row["weight"],
        original_baseline=row["original_baseline"],
        original_target=row["original_target"],
        original_weight=row["original_weight"],
        rebaselined=int(row["plan_version"]) != 1,
        value=row["value"],
        last_check_in_on=last_on,
        confidence=Confidence(row["last_confidence"]) if row["last_confidence"] else None,
        score=score,
        score_against_original_plan=row["score_against_original_plan"],
        traffic_light=TrafficLight(row["traffic_light"]),
        bar=bar,
        as_of=day_judged,
        expected_progress=expected,
        pace=bar.pace(score, expected),
        stale=is_stale(last_on, max(row["original_effective_on"], starts_on), day_judged),
        retired=row["retired"],
        retired_reason_code=row["retired_reason_code"],
        version=int(row["version"]),
        objective_retired=row["objective_retired"],
    )


def _objective_row(row: dict[str, Any]) -> ObjectiveScoreRow:
    """A stored row, decoded by OBJECTIVE_TYPES."""
    return ObjectiveScoreRow(
        objective_id=row["objective_id"],
        cycle_id=row["cycle_id"],
        owner=row["owner"],
        title=row["title"],
        kind=row["kind"],
        parent_id=row["parent_id"],
        score=row["score"],
        score_against_original_plan=row["score_against_original_plan"],
        traffic_light=TrafficLight(row["traffic_light"]) if row["traffic_light"] else None,
        retired=row["retired"],
        retired_reason_code=row["retired_reason_code"],
        version=int(row["version"]),
        live_key_results=int(row["live_key_results"]),
    )


# A key result's row with its objective's retirement: a live key result of a retired
# objective counts in no rollup.
_KEY_RESULTS = SQL(
    "SELECT k.*, COALESCE(o.retired, %s) AS objective_retired FROM {key_result_scores} k"
    " LEFT JOIN {objective_scores} o ON o.objective_id = k.objective_id WHERE "
)
# With its live key results counted, whichever of them the read lists.
_OBJECTIVES = SQL(
    "SELECT o.*, (SELECT COUNT(*) FROM {key_result_scores} k"
    " WHERE k.objective_id = o.objective_id AND k.retired = %s) AS live_key_results"
    " FROM {objective_scores} o WHERE "
)


def _where(alias: str | None, **equal: Any) -> tuple[Composable, list[Any]]:
    """`column = %s` for each value given (None: no condition), joined by AND."""
    given = {column: value for column, value in equal.items() if value is not None}
    if not given:
        return SQL("1 = 1"), []
    conditions = [
        SQL("{column} = %s").format(
            column=Identifier(alias, column) if alias else Identifier(column)
        )
        for column in given
    ]
    return SQL(" AND ").join(conditions), list(given.values())


def scores(
    database: ViewDatabase,
    *,
    cycle_id: str | None = None,
    owner: str | None = None,
    today: date | None = None,
) -> Scoreboard:
    """Key results and objectives in creation order, with rollups per cycle and owner."""
    judged_on = today if today is not None else utc_today()
    where, params = _where("k", cycle_id=cycle_id, owner=owner)
    key_results = [
        score_line(row, judged_on)
        for row in database.query(
            _KEY_RESULTS + where + SQL(" ORDER BY k.cycle_id, k.created_at"),
            [False, *params],
            KEY_RESULT_TYPES,
        )
    ]
    where, params = _where("o", cycle_id=cycle_id, owner=owner)
    objectives = [
        _objective_row(row)
        for row in database.query(
            _OBJECTIVES + where + SQL(" ORDER BY o.cycle_id, o.created_at"),
            [False, *params],
            OBJECTIVE_TYPES,
        )
    ]
    assessed = self_assessments(
        database,
        [row.key_result_id for row in key_results] + [row.objective_id for row in objectives],
    )
    key_results = [
        replace(row, self_assessment=assessed.get(row.key_result_id)) for row in key_results
    ]
    objectives = [
        replace(row, self_assessment=assessed.get(row.objective_id)) for row in objectives
    ]
    cycles = sorted({row.cycle_id for row in key_results} | {row.cycle_id for row in objectives})
    if cycle_id is not None:
        cycles = [cycle_id]
    return Scoreboard(
        key_results=key_results,
        objectives=objectives,
        cycles=[
            # Unfiltered by owner, the rows are the whole cycle already: no second read.
            Rollup.of(
                key,
                None,
                [row.figures() for row in objectives if row.cycle_id == key],
                [row.figures() for row in key_results if row.cycle_id == key],
            )
            if owner is None
            else cycle_rollup(database, key, judged_on)
            for key in cycles
        ],
        owners=owner_rollups(key_results, objectives),
    )


def cycle_rollup(database: ViewDatabase, cycle_id: str, today: date) -> Rollup:
    """The whole cycle's figures over its goals that are not retired."""
    where, params = _where("k", cycle_id=cycle_id, retired=False)
    key_results = database.query(_KEY_RESULTS + where, [False, *params], KEY_RESULT_TYPES)
    where, params = _where("o", cycle_id=cycle_id, retired=False)
    objectives = database.query(_OBJECTIVES + where, [False, *params], OBJECTIVE_TYPES)
    return Rollup.of(
        cycle_id,
        None,
        [_objective_row(row).figures() for row in objectives],
        [score_line(row, today).figures() for row in key_results],
    )


# Self-assessments are not scores: the scores read model keeps none. The audit trail has
# every one, as evidence reads them; a goal's last is the one in force (ADR 34).
_SELF_ASSESSED = SQL(
    "SELECT t.goal_id, t.version, t.actor, t.recorded_at, t.after FROM {audit_trail} t"
    " WHERE t.event = %s AND t.goal_id IN "
)
_SELF_ASSESSED_TYPES: dict[str, Decoder] = {
    "goal_id": uuid_value,
    "recorded_at": moment,
    "after": json_value,
}
# Goals per query: well within any driver's parameter limit.
_CHUNK = 500


def self_assessments(
    database: ViewDatabase, goal_ids: Sequence[UUID]
) -> dict[UUID, SelfAssessment]:
    """Each goal's latest self-assessment the audit trail holds, by goal id."""
    found: dict[UUID, SelfAssessment] = {}
    for start in range(0, len(goal_ids), _CHUNK):
        chunk = goal_ids[start : start + _CHUNK]
        query = _SELF_ASSESSED + placeholders(len(chunk)) + SQL(" ORDER BY t.position")
        for row in database.query(query, ["self_assessed", *chunk], _SELF_ASSESSED_TYPES):
            found[row["goal_id"]] = SelfAssessment(
                grade=Decimal(row["after"]["grade"]),
                reflection=str(row["after"]["reflection"]),
                actor=row["actor"],
                recorded_at=row["recorded_at"],
                version=int(row["version"]),
            )
    return found
