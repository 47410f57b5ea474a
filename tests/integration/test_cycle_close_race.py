"""A change decided on an open cycle never lands after the cycle's close, whatever the timing.

`ClosingMidway` is a ledger that, right after a command has loaded the cycle, has another
ledger (as another process would) close it: the worst interleaving, made certain. The save
then fails as a lost race does, the command is decided again on the closed cycle, and the
domain refuses it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from application.ledger import CheckInImport, GoalLedger
from application.stores import open_ledger
from domain.cycle import Cycle
from domain.errors import ConcurrencyError, CycleClosedError, InvalidInputError
from domain.values import utc_today

CYCLE = "race"


class ClosingMidway(GoalLedger):
    """Runs `midway` once, just after the next command loads the cycle."""

    name = GoalLedger.name  # the same tables as the ledger it races
    midway: Callable[[], Any] | None = None

    def get_cycle(self, key: str, known_at: datetime | None = None) -> Cycle:
        cycle = super().get_cycle(key, known_at)
        midway, self.midway = self.midway, None
        if midway is not None and known_at is None:
            midway()
        return cycle


@pytest.fixture
def ledgers(store_url: str) -> Iterator[tuple[ClosingMidway, GoalLedger]]:
    other = open_ledger(store_url, create_tables=True)
    racing = ClosingMidway(env=dict(other.env))
    try:
        yield racing, other
    finally:
        racing.close()
        other.close()


def quarter_with_key_result(ledger: GoalLedger) -> tuple[Any, Any]:
    """An open cycle, an objective and a key result; their ids."""
    today = utc_today()
    ledger.open_cycle(
        actor="ceo", key=CYCLE, starts_on=today - timedelta(days=30), ends_on=today + timedelta(60)
    )
    objective = ledger.create_objective(
        actor="ceo", cycle_id=CYCLE, title="Grow", owner="analyst", kind="committed"
    ).id
    key_result = ledger.create_key_result(
        actor="analyst",
        objective_id=objective,
        title="NPS",
        owner="analyst",
        unit="points",
        direction="increase",
        baseline=32,
        target=50,
        measurement_source="survey",
        measurement_query="nps()",
        effective_on=today - timedelta(days=30),
    ).id
    return objective, key_result


def close(other: GoalLedger) -> Callable[[], Any]:
    return lambda: other.close_cycle(actor="ceo", key=CYCLE)


def test_a_check_in_racing_the_close_is_refused(
    ledgers: tuple[ClosingMidway, GoalLedger],
) -> None:
    racing, other = ledgers
    _, key_result = quarter_with_key_result(other)
    racing.midway = close(other)

    with pytest.raises(CycleClosedError):
        racing.record_check_in(
            actor="analyst", key_result_id=key_result, value=41, confidence="on_track"
        )

    assert other.get_cycle(CYCLE).is_closed
    # Neither the store nor the racing process's memory holds the refused check-in.
    assert len(other.get_key_result(key_result).check_ins) == 0
    assert len(racing.get_key_result(key_result).check_ins) == 0


@pytest.mark.parametrize("change", ["rebaseline", "reweight", "retire"])
def test_a_change_of_plan_racing_the_close_is_refused(
    ledgers: tuple[ClosingMidway, GoalLedger], change: str
) -> None:
    racing, other = ledgers
    _, key_result = quarter_with_key_result(other)
    version = other.get_key_result(key_result).version
    racing.midway = close(other)
    reason: dict[str, Any] = {"reason": "scope moved", "reason_code": "priorities_changed"}
    commands: dict[str, Callable[[], Any]] = {
        "rebaseline": lambda: racing.rebaseline_key_result(
            actor="analyst", key_result_id=key_result, baseline=30, target=40, **reason
        ),
        "reweight": lambda: racing.reweight_key_result(
            actor="analyst", key_result_id=key_result, weight=3, **reason
        ),
        "retire": lambda: racing.retire_key_result(
            actor="analyst", key_result_id=key_result, **reason
        ),
    }

    with pytest.raises(CycleClosedError):
        commands[change]()

    assert other.get_key_result(key_result).version == version


def test_a_new_key_result_racing_the_close_is_refused(
    ledgers: tuple[ClosingMidway, GoalLedger],
) -> None:
    racing, other = ledgers
    objective, _ = quarter_with_key_result(other)
    count = len(other.get_objective(objective).key_result_ids)
    racing.midway = close(other)

    with pytest.raises(CycleClosedError):
        racing.create_key_result(
            actor="analyst",
            objective_id=objective,
            title="Churn",
            owner="analyst",
            unit="%",
            direction="decrease",
            baseline=3,
            target=2,
            measurement_source="billing",
            measurement_query="churn()",
        )

    assert len(other.get_objective(objective).key_result_ids) == count


def test_an_import_racing_the_close_stores_nothing_and_its_rerun_is_refused(
    ledgers: tuple[ClosingMidway, GoalLedger],
) -> None:
    racing, other = ledgers
    _, key_result = quarter_with_key_result(other)
    rows = [
        CheckInImport(
            key_result_id=key_result,
            value=str(33 + n),
            confidence="on_track",
            effective_on=utc_today() - timedelta(days=n),
            note=f"row {n}",
        )
        for n in range(5)
    ]
    racing.midway = close(other)

    with pytest.raises(ConcurrencyError):
        racing.import_check_ins(actor="importer", rows=rows)
    assert len(other.get_key_result(key_result).check_ins) == 0

    with pytest.raises(InvalidInputError, match="closed"):
        racing.import_check_ins(actor="importer", rows=rows)


def test_another_change_to_the_cycle_only_makes_the_check_in_decide_again(
    ledgers: tuple[ClosingMidway, GoalLedger],
) -> None:
    racing, other = ledgers
    _, key_result = quarter_with_key_result(other)
    racing.midway = lambda: other.create_objective(
        actor="ceo", cycle_id=CYCLE, title="Keep", owner="engineer", kind="aspirational"
    )

    saved = racing.record_check_in(
        actor="analyst", key_result_id=key_result, value=41, confidence="on_track"
    )

    found = other.get_key_result(key_result)
    assert saved.check_in_id in found.check_ins
    assert len(found.check_ins) == 1
    assert len(other.get_cycle(CYCLE).objective_ids) == 2
