"""Scores: one row per key result and per objective, scored by the domain's own rules.

What a row stores, and why it never depends on the projection's clock
----------------------------------------------------------------------
A stored score is the domain's `KeyResult.status(cycle, cycle.ends_on)`, its light judged
by its objective's kind (stored beside it, docs/adr/0033): the plan in
force, the latest check-in and the retirement as of the cycle's last day. Effective dates
are never in the future (check-ins, changes of plan and retirements are refused for a day
after today) and never after the cycle's end, so "as of the cycle's end" is exactly "as of
today" for everything known, and the same events give the same rows whenever they are
projected: a rebuild next year stores what the live worker stored today.

Pace and staleness do depend on "today"; they are not stored. Each row keeps their inputs
(score, the latest check-in's effective date, the original plan's effective date, the
cycle's dates) and projections.score_reads judges them at read time.

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
these rows (projections.score_reads).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from psycopg.sql import SQL, Identifier

from application.ledger import GoalLedger
from domain.base import LedgerAggregate
from domain.cycle import Cycle
from domain.key_result import KeyResult
from domain.key_result_plan import KeyResultStatus
from domain.objective import Objective
from domain.reports import KeyResultLine, ObjectiveStatus
from domain.values import ObjectiveKind
from projections.base import ReadModel
from projections.score_reads import (
    KeyResultScoreRow,
    ObjectiveScoreRow,
    Scoreboard,
    cycle_rollup,
    owner_rollups,
    score_line,
    scores,
)
from storage.views import ViewDatabase, ViewTransaction

# Reads are the read model's too.
__all__ = [
    "KeyResultScoreRow",
    "ObjectiveScoreRow",
    "Scoreboard",
    "Scores",
    "cycle_rollup",
    "owner_rollups",
    "score_line",
    "scores",
]

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
    "kind",
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


def _upsert(table: SQL, columns: tuple[str, ...]) -> str:
    """Insert or replace everything but the key and `created_at` (the first sighting's).

    As text, composed once: a transaction resolves a text template once, where a
    composed one is rendered again for every row written.
    """
    key = columns[0]
    return (
        SQL(
            "INSERT INTO {table} ({columns}) VALUES ({values})"
            " ON CONFLICT ({key}) DO UPDATE SET {updates}"
        )
        .format(
            table=table,
            columns=SQL(", ").join(Identifier(c) for c in columns),
            values=SQL(", ").join(SQL("%s") for _ in columns),
            key=Identifier(key),
            updates=SQL(", ").join(
                SQL("{column} = excluded.{column}").format(column=Identifier(c))
                for c in columns
                if c not in (key, "created_at")
            ),
        )
        .as_string(None)
    )


# `{name}` stays in the text for the views to resolve to the live generation's table.
UPSERT_KEY_RESULT = _upsert(SQL("{key_result_scores}"), KEY_RESULT_COLUMNS)
UPSERT_OBJECTIVE = _upsert(SQL("{objective_scores}"), OBJECTIVE_COLUMNS)
CLOSE_CYCLE = (
    "UPDATE {key_result_scores} SET cycle_closed = %s, updated_position = %s WHERE cycle_id = %s",
    "UPDATE {objective_scores} SET cycle_closed = %s, updated_position = %s WHERE cycle_id = %s",
)


# A key result's line is kept while its key result's and cycle's versions and its
# objective's kind stay as they were.
_LineStamp = tuple[int, int, ObjectiveKind]
# Lines kept at most (a few KiB each); past it, all are dropped and built again.
LINES_KEPT = 20_000


class Scores(ReadModel):
    name = "scores"
    # 2: objectives scored against their original plans too.
    # 3: key results judged by their objective's kind, stored with it (docs/adr/0033).
    version = 3
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
        " kind {text} NOT NULL,"
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
        # Each key result's line as last built, with what it was built from: an objective
        # touched in a batch is scored from all its key results, most of them unchanged
        # since the last batch. A goal's version names its state for good, so a line
        # built from the same versions is the same line.
        self._lines: dict[UUID, tuple[_LineStamp, KeyResultLine]] = {}

    def after(
        self,
        tx: ViewTransaction,
        event: LedgerAggregate.Event,
        stored: Notification,
        before: Any,
    ) -> None:
        position = stored.id
        goal = self.replicas.after(event, position)
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
            for statement in CLOSE_CYCLE:
                tx.execute(statement, (True, position, goal.key))

    def finish_batch(self, tx: ViewTransaction, position: int) -> None:
        for key_result_id, (first, last) in self._key_results.items():
            key_result = self.replicas.typed(KeyResult, key_result_id, position)
            assert key_result is not None  # touched, so it exists by now
            cycle = self._cycle(key_result.cycle_id, position)
            assert cycle is not None
            # Created before any of its key results, and its kind never changes.
            objective = self.replicas.typed(Objective, key_result.objective_id, position)
            assert objective is not None
            line = self._line(key_result, cycle, objective.kind)
            tx.execute(
                UPSERT_KEY_RESULT,
                _key_result_params(key_result, line.status, objective.kind, cycle, first, last),
            )
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
        self._lines.clear()

    def _line(self, key_result: KeyResult, cycle: Cycle, kind: ObjectiveKind) -> KeyResultLine:
        """The key result's line on its cycle's last day, judged by its objective's kind."""
        stamp = (key_result.version, cycle.version, kind)
        kept = self._lines.get(key_result.id)
        if kept is not None and kept[0] == stamp:
            return kept[1]
        if len(self._lines) >= LINES_KEPT:
            self._lines.clear()  # a bound on memory; the lines are built again as needed
        line = KeyResultLine.of(key_result, cycle, cycle.ends_on, kind)
        self._lines[key_result.id] = (stamp, line)
        return line

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
            lines.append(self._line(key_result, cycle, objective.kind))
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
    key_result: KeyResult,
    status: KeyResultStatus,
    kind: ObjectiveKind,
    cycle: Cycle,
    created_at: int,
    updated_position: int,
) -> tuple[Any, ...]:
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
        kind.value,
        status.traffic_light.value,
        retired is not None,
        retired.reason_code.value if retired else None,
        retired.effective_on if retired else None,
        key_result.version,
        updated_position,
    )
