"""Calibration read off the scores read model: closed cycles' final key-result scores.

A closed cycle's rows are its final scores: they are written as of the cycle's last day
and, once `cycle_closed`, change only by corrections (projections.scores). Retired key
results, and those of retired objectives, count in no calibration, as in no rollup.
"""

from __future__ import annotations

from psycopg.sql import SQL, Composable, Identifier

from domain.calibration import Calibration, FinalScore, calibrate
from domain.values import ObjectiveKind
from storage.rows import exact
from storage.views import ViewDatabase

_FINAL_SCORES = SQL(
    "SELECT k.owner, k.cycle_id, k.kind, k.score FROM {key_result_scores} k"
    " LEFT JOIN {objective_scores} o ON o.objective_id = k.objective_id"
    " WHERE k.cycle_closed = %s AND k.retired = %s AND COALESCE(o.retired, %s) = %s"
)


def calibration(
    database: ViewDatabase, *, owner: str | None = None, cycle_id: str | None = None
) -> list[Calibration]:
    """Per owner (or the one given), over closed cycles (or the one given, once closed)."""
    conditions: list[Composable] = [_FINAL_SCORES]
    params: list[object] = [True, False, False, False]
    for column, value in (("owner", owner), ("cycle_id", cycle_id)):
        if value is not None:
            conditions.append(SQL(" AND {column} = %s").format(column=Identifier("k", column)))
            params.append(value)
    rows = database.query(SQL("").join(conditions), params, {"score": exact})
    return calibrate(
        FinalScore(
            owner=row["owner"],
            cycle_id=row["cycle_id"],
            kind=ObjectiveKind(row["kind"]),
            score=row["score"],
        )
        for row in rows
    )
