"""Goals a process keeps in memory are never stale and never carry a failed command's change.

Two ledgers on one store stand for two API processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from application.ledger import GoalLedger
from application.stores import open_ledger
from domain.errors import InvalidInputError, StaleVersionError
from tests.integration.test_cycle_close_race import quarter_with_key_result


@pytest.fixture
def two(store_url: str) -> Iterator[tuple[GoalLedger, GoalLedger]]:
    first = open_ledger(store_url, create_tables=True)
    second = open_ledger(store_url)
    try:
        yield first, second
    finally:
        second.close()
        first.close()


def key_result(ledger: GoalLedger) -> Any:
    _, created = quarter_with_key_result(ledger)
    return created


def test_another_process_write_shows_on_the_next_load(
    two: tuple[GoalLedger, GoalLedger],
) -> None:
    first, second = two
    kr = key_result(first)
    assert len(first.get_key_result(kr).check_ins) == 0  # now in the first's memory

    saved = second.record_check_in(
        actor="analyst", key_result_id=kr, value=41, confidence="on_track"
    )

    loaded = first.get_key_result(kr)
    assert loaded.version == saved.version
    assert saved.check_in_id in loaded.check_ins


def test_a_failed_command_leaves_nothing_behind_in_memory(
    two: tuple[GoalLedger, GoalLedger],
) -> None:
    first, second = two
    kr = key_result(first)
    version = first.get_key_result(kr).version
    second.record_check_in(actor="analyst", key_result_id=kr, value=41, confidence="on_track")

    # Decided on a version that is no longer the latest: refused, nothing kept.
    with pytest.raises(StaleVersionError):
        first.record_check_in(
            actor="analyst",
            key_result_id=kr,
            value=45,
            confidence="at_risk",
            expected_version=version,
        )
    # Refused by a rule after loading: nothing kept either.
    with pytest.raises(InvalidInputError):
        first.record_check_in(actor="analyst", key_result_id=kr, value="NaN", confidence="on_track")

    for ledger in (first, second):
        loaded = ledger.get_key_result(kr)
        assert [c.value for c in loaded.check_ins.values()] == [41]
        assert loaded.version == version + 1
