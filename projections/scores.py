"""Scores: one row per key result and per objective, scored by the domain's own rules.

What a row stores, and why it never depends on the projection's clock
----------------------------------------------------------------------
A stored score is the domain's `KeyResult.status(cycle, cycle.ends_on)`: the plan in
force, the latest check-in and the retirement as of the cycle's last day. Effective dates
are never in the future (check-ins, changes of plan and retirements are refused for a day
after today) and never after the cycle's end, so "as of the cycle's end" is exactly "as of
today" for everything known, and the same events give the same rows whenever they are
projected: a rebuild next year stores what the live worker stored today.

Pace and staleness do depend on "today"; they are not stored. Each row keeps their inputs
(score, the latest check-in's effective date, the original plan's effective date, the
cycle's dates) and `score_line` judges them at read time, with the domain's scoring
functions, as of `min(today, cycle end)`: the day the ledger's own reads default to.

An objective's row holds the weighted mean of its non-retired key results (the domain's
`ObjectiveStatus.compose`); retired key results keep their rows, with the reason code.
The row of a key result changes with each of its events, its objective's row with each
event of the objective or of one of its key results, and both tables' `cycle_closed` on
the cycle's closing. Rows are written once per batch for each goal touched in it, as the
goal stands after the batch (which is how it stood after the last event touching it),
with `created_at` and `updated_position` the positions of the first and last such event:
the same rows whatever the batch boundaries, and one objective rescored per batch rather
than per check-in of one of its key results. A closing writes what is held back first, so
`cycle_closed` comes after every row written before it.

Rollups per cycle and per owner in it (`Rollup`: means of objective and key-result
scores, traffic lights, pace, staleness, net confidence) are computed at read time from
these rows by the domain's own `Rollup.of`, over goals that are not retired; a cycle's
covers the whole cycle whatever other filter applies.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

from application.ledger import GoalLedger
from domain.base import LedgerAggregate
from domain.cycle import Cycle
from domain.key_result import KeyResult
from domain.objective import Objective
from domain.reports import (
    KeyResultFigures,
    KeyResultLine,
    ObjectiveFigures,
    ObjectiveStatus,
    Rollup,
)
from domain.scoring import (
    Pace,
    TrafficLight,
    expected_progress,
    is_stale,
    pace,
)
from domain.values import Confidence, utc_today
from projections.base import ReadModel
from storage.views import ViewDatabase, ViewTransaction

KEY_RESULT_COLUMNS = (
    "key_result_id",
    "created_at",
    "objective_id",
    "cycle_id",
    "cycle_starts_on",
    "cycle_ends_on",
    "cycle_closed",
    "owner",
    "title",
    "direction",
    "baseline",
    "target",
    "weight",
    "plan_version",
    "original_baseline",
    "original_target",
    "original_weight",
    "original_effective_on",
    "value",
    "last_check_in_on",
    "last_confidence",
    "score",
    "score_against_original_plan",
    "traffic_light",
    "retired",
    "retired_reason_code",
    "retired_on",
    "version",
    "updated_position",
)
OBJECTIVE_COLUMNS = (
    "objective_id",
    "created_at",
    "cycle_id",
    "cycle_starts_on",
    "cycle_ends_on",
    "cycle_closed",
    "owner",
    "title",
    "kind",
    "parent_id",
    "score",
    "score_against_original_plan",
    "traffic_light",
    "retired",
    "retired_reason_code",
    "retired_on",
    "version",
    "updated_position",
)


def _upsert(table: str, columns: tuple[str, ...]) -> str:
    """Insert or replace everything but the key and `created_at` (the first sighting's)."""
    key = columns[0]
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in (key, "created_at"))
    return (
        f"INSERT INTO {{{table}}} ({', '.join(columns)})"  # noqa: S608 - constant names only
        f" VALUES ({', '.join(['%s'] * len(columns))})"
        f" ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )


UPSERT_KEY_RESULT = _upsert("key_result_scores", KEY_RESULT_COLUMNS)
UPSERT_OBJECTIVE = _upsert("objective_scores", OBJECTIVE_COLUMNS)


class Scores(ReadModel):
    name = "scores"
    # 2: objectives scored against their original plans too.
    version = 2
    tables = (
        "CREATE TABLE IF NOT EXISTS {key_result_scores} ("
        " key_result_id {uuid} PRIMARY KEY,"
        " created_at {int} NOT NULL,"
        " objective_id {uuid} NOT NULL,"
        " cycle_id {text} NOT NULL,"
        " cycle_starts_on {date} NOT NULL,"
        " cycle_ends_on {date} NOT NULL,"
        " cycle_closed {bool} NOT NULL,"
        " owner {text} NOT NULL,"
        " title {text} NOT NULL,"
        " direction {text} NOT NULL,"
        " baseline {decimal} NOT NULL,"
        " target {decimal} NOT NULL,"
        " weight {decimal} NOT NULL,"
        " plan_version {int} NOT NULL,"
        " original_baseline {decimal} NOT NULL,"
        " original_target {decimal} NOT NULL,"
        " original_weight {decimal} NOT NULL,"
        " original_effective_on {date} NOT NULL,"
        " value {decimal} NOT NULL,"
        " last_check_in_on {date},"
        " last_confidence {text},"
        " score {decimal} NOT NULL,"
        " score_against_original_plan {decimal} NOT NULL,"
        " traffic_light {text} NOT NULL,"
        " retired {bool} NOT NULL,"
        " retired_reason_code {text},"
        " retired_on {date},"
        " version {int} NOT NULL,"
        " updated_position {int} NOT NULL)",
        "CREATE INDEX IF NOT EXISTS goalpost_key_result_scores_cycle"
        " ON {key_result_scores} (cycle_id, created_at)",
        "CREATE INDEX IF NOT EXISTS goalpost_key_result_scores_owner"
        " ON {key_result_scores} (owner, created_at)",
        "CREATE INDEX IF NOT EXISTS goalpost_key_result_scores_objective"
        " ON {key_result_scores} (objective_id)",
        "CREATE TABLE IF NOT EXISTS {objective_scores} ("
        " objective_id {uuid} PRIMARY KEY,"
        " created_at {int} NOT NULL,"
        " cycle_id {text} NOT NULL,"
        " cycle_starts_on {date} NOT NULL,"
        " cycle_ends_on {date} NOT NULL,"
        " cycle_closed {bool} NOT NULL,"
        " owner {text} NOT NULL,"
        " title {text} NOT NULL,"
        " kind {text} NOT NULL,"
        " parent_id {uuid},"
        " score {decimal},"
        " score_against_original_plan {decimal},"
        " traffic_light {text},"
        " retired {bool} NOT NULL,"
        " retired_reason_code {text},"
        " retired_on {date},"
        " version {int} NOT NULL,"
        " updated_position {int} NOT NULL)",
        "CREATE INDEX IF NOT EXISTS goalpost_objective_scores_cycle"
        " ON {objective_scores} (cycle_id, created_at)",
        "CREATE INDEX IF NOT EXISTS goalpost_objective_scores_owner"
        " ON {objective_scores} (owner, created_at)",
    )

    def __init__(self, ledger: GoalLedger, database: ViewDatabase) -> None:
        super().__init__(ledger, database)
        # Goals touched in the batch so far: id -> positions of the first and last event.
        self._key_results: dict[UUID, tuple[int, int]] = {}
        self._objectives: dict[UUID, tuple[int, int]] = {}

    def after(
        self,
        tx: ViewTransaction,
        event: LedgerAggregate.Event,
        stored: Notification,
        before: Any,
    ) -> None:
        position = stored.id
        goal = self.replicas.get(event.originator_id, position)
        if isinstance(goal, KeyResult):
            if self._cycle(goal.cycle_id, position) is None:
                return
            _touch(self._key_results, goal.id, position)
            if self.replicas.typed(Objective, goal.objective_id, position) is not None:
                _touch(self._objectives, goal.objective_id, position)
        elif isinstance(goal, Objective):
            if self._cycle(goal.cycle_id, position) is not None:
                _touch(self._objectives, goal.id, position)
        elif isinstance(goal, Cycle) and isinstance(event, Cycle.Closed):
            self.finish_batch(tx, position)
            for table in ("key_result_scores", "objective_scores"):
                tx.execute(
                    f"UPDATE {{{table}}} SET cycle_closed = %s,"  # noqa: S608 - constant names
                    " updated_position = %s WHERE cycle_id = %s",
                    (True, position, goal.key),
                )

    def finish_batch(self, tx: ViewTransaction, position: int) -> None:
        for key_result_id, (first, last) in self._key_results.items():
            key_result = self.replicas.typed(KeyResult, key_result_id, position)
            assert key_result is not None  # touched, so it exists by now
            cycle = self._cycle(key_result.cycle_id, position)
            assert cycle is not None
            tx.execute(UPSERT_KEY_RESULT, _key_result_params(key_result, cycle, first, last))
        for objective_id, (first, last) in self._objectives.items():
            objective = self.replicas.typed(Objective, objective_id, position)
            assert objective is not None
            cycle = self._cycle(objective.cycle_id, position)
            assert cycle is not None
            self._objective(tx, objective, cycle, position, first, last)
        self._key_results.clear()
        self._objectives.clear()

    def forget(self) -> None:
        super().forget()
        self._key_results.clear()
        self._objectives.clear()

    def _cycle(self, key: str, position: int) -> Cycle | None:
        return self.replicas.typed(Cycle, Cycle.create_id(key), position)

    def _objective(
        self,
        tx: ViewTransaction,
        objective: Objective,
        cycle: Cycle,
        position: int,
        created_at: int,
        updated_position: int,
    ) -> None:
        day = cycle.ends_on
        lines = []
        for key_result_id in objective.key_result_ids:
            key_result = self.replicas.typed(KeyResult, key_result_id, position)
            if key_result is None:
                continue  # saved with the objective's event but later in the log
            lines.append(
                KeyResultLine(
                    id=key_result.id,
                    title=key_result.title,
                    owner=key_result.owner,
                    unit=key_result.unit,
                    direction=key_result.direction.value,
                    version=key_result.version,
                    status=key_result.status(cycle, day),
                )
            )
        retirement = objective.retirement
        status = ObjectiveStatus.compose(
            id=objective.id,
            cycle_id=objective.cycle_id,
            as_of=day,
            title=objective.title,
            owner=objective.owner,
            kind=objective.kind,
            parent_id=objective.parent_id,
            version=objective.version,
            retired=retirement if retirement and retirement.effective_on <= day else None,
            key_results=tuple(lines),
        )
        tx.execute(
            UPSERT_OBJECTIVE,
            (
                status.id,
                created_at,
                status.cycle_id,
                cycle.starts_on,
                cycle.ends_on,
                cycle.is_closed,
                status.owner,
                status.title,
                status.kind.value,
                status.parent_id,
                status.score,
                status.score_against_original_plan,
                status.traffic_light.value if status.traffic_light else None,
                status.retired is not None,
                status.retired.reason_code.value if status.retired else None,
                status.retired.effective_on if status.retired else None,
                status.version,
                updated_position,
            ),
        )


def _touch(touched: dict[UUID, tuple[int, int]], goal_id: UUID, position: int) -> None:
    first, _ = touched.get(goal_id, (position, position))
    touched[goal_id] = (first, position)


def _key_result_params(
    key_result: KeyResult, cycle: Cycle, created_at: int, updated_position: int
) -> tuple[Any, ...]:
    status = key_result.status(cycle, cycle.ends_on)
    plan, original, check_in, retired = (
        status.plan,
        status.original_plan,
        status.last_check_in,
        status.retired,
    )
    return (
        key_result.id,
        created_at,
        key_result.objective_id,
        key_result.cycle_id,
        cycle.starts_on,
        cycle.ends_on,
        cycle.is_closed,
        key_result.owner,
        key_result.title,
        key_result.direction.value,
        plan.baseline,
        plan.target,
        plan.weight,
        plan.version,
        original.baseline,
        original.target,
        original.weight,
        original.effective_on,
        status.value,
        check_in.effective_on if check_in else None,
        check_in.confidence.value if check_in else None,
        status.score,
        status.score_against_original_plan,
        status.traffic_light.value,
        retired is not None,
        retired.reason_code.value if retired else None,
        retired.effective_on if retired else None,
        key_result.version,
        updated_position,
    )


# Reads


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
    as_of: date
    expected_progress: Decimal
    pace: Pace
    stale: bool
    retired: bool
    retired_reason_code: str | None
    version: int
    objective_retired: bool

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


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _required_day(value: Any) -> date:
    day = _day(value)
    assert day is not None
    return day


def score_line(row: dict[str, Any], today: date) -> KeyResultScoreRow:
    """A stored row, judged for pace and staleness as of `min(today, cycle end)`."""
    starts_on = _required_day(row["cycle_starts_on"])
    ends_on = _required_day(row["cycle_ends_on"])
    day = min(today, ends_on)
    score = _decimal(row["score"])
    expected = expected_progress(starts_on, ends_on, day)
    last_on = _day(row["last_check_in_on"])
    original_on = _required_day(row["original_effective_on"])
    return KeyResultScoreRow(
        key_result_id=UUID(str(row["key_result_id"])),
        objective_id=UUID(str(row["objective_id"])),
        cycle_id=row["cycle_id"],
        owner=row["owner"],
        title=row["title"],
        direction=row["direction"],
        baseline=_decimal(row["baseline"]),
        target=_decimal(row["target"]),
        weight=_decimal(row["weight"]),
        original_baseline=_decimal(row["original_baseline"]),
        original_target=_decimal(row["original_target"]),
        original_weight=_decimal(row["original_weight"]),
        rebaselined=int(row["plan_version"]) != 1,
        value=_decimal(row["value"]),
        last_check_in_on=last_on,
        confidence=Confidence(row["last_confidence"]) if row["last_confidence"] else None,
        score=score,
        score_against_original_plan=_decimal(row["score_against_original_plan"]),
        traffic_light=TrafficLight(row["traffic_light"]),
        as_of=day,
        expected_progress=expected,
        pace=pace(score, expected),
        stale=is_stale(last_on, max(original_on, starts_on), day),
        retired=bool(row["retired"]),
        retired_reason_code=row["retired_reason_code"],
        version=int(row["version"]),
        objective_retired=bool(row["objective_retired"]),
    )


def _objective_row(row: dict[str, Any]) -> ObjectiveScoreRow:
    return ObjectiveScoreRow(
        objective_id=UUID(str(row["objective_id"])),
        cycle_id=row["cycle_id"],
        owner=row["owner"],
        title=row["title"],
        kind=row["kind"],
        parent_id=UUID(str(row["parent_id"])) if row["parent_id"] is not None else None,
        score=_decimal(row["score"]) if row["score"] is not None else None,
        score_against_original_plan=(
            _decimal(row["score_against_original_plan"])
            if row["score_against_original_plan"] is not None
            else None
        ),
        traffic_light=TrafficLight(row["traffic_light"]) if row["traffic_light"] else None,
        retired=bool(row["retired"]),
        retired_reason_code=row["retired_reason_code"],
        version=int(row["version"]),
    )


def _where(cycle_id: str | None, owner: str | None, alias: str = "") -> tuple[str, list[Any]]:
    where, params = ["1 = 1"], []
    if cycle_id is not None:
        where.append(f"{alias}cycle_id = %s")
        params.append(cycle_id)
    if owner is not None:
        where.append(f"{alias}owner = %s")
        params.append(owner)
    return " AND ".join(where), params


# A key result's row with its objective's retirement: a live key result of a retired
# objective counts in no rollup.
_KEY_RESULTS = (
    "SELECT k.*, COALESCE(o.retired, %s) AS objective_retired FROM {key_result_scores} k"
    " LEFT JOIN {objective_scores} o ON o.objective_id = k.objective_id"
)


def scores(
    database: ViewDatabase,
    *,
    cycle_id: str | None = None,
    owner: str | None = None,
    today: date | None = None,
) -> Scoreboard:
    """Key results and objectives in creation order, with rollups per cycle and owner."""
    day = today if today is not None else utc_today()
    where, params = _where(cycle_id, owner)
    # Built from constant fragments only; every value is a parameter.
    key_results = [
        score_line(row, day)
        for row in database.query(
            f"{_KEY_RESULTS} WHERE {_where(cycle_id, owner, 'k.')[0]}"
            " ORDER BY k.cycle_id, k.created_at",
            [False, *params],
        )
    ]
    objectives = [
        _objective_row(row)
        for row in database.query(
            f"SELECT * FROM {{objective_scores}} WHERE {where}"  # noqa: S608
            " ORDER BY cycle_id, created_at",
            params,
        )
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
            else cycle_rollup(database, key, day)
            for key in cycles
        ],
        owners=owner_rollups(key_results, objectives),
    )


def cycle_rollup(database: ViewDatabase, cycle_id: str, today: date) -> Rollup:
    """The whole cycle's figures over its goals that are not retired."""
    key_results = database.query(
        f"{_KEY_RESULTS} WHERE k.cycle_id = %s AND k.retired = %s",
        (False, cycle_id, False),
    )
    objectives = database.query(
        "SELECT * FROM {objective_scores} WHERE cycle_id = %s AND retired = %s",
        (cycle_id, False),
    )
    return Rollup.of(
        cycle_id,
        None,
        [_objective_row(row).figures() for row in objectives],
        [score_line(row, today).figures() for row in key_results],
    )
