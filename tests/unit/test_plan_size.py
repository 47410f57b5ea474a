"""Plan-size guidance (ADR 35): warnings past the bounds, never a refusal."""

from __future__ import annotations

from domain.plan_size import PlanWarningCode, key_results_warnings, objectives_warnings


def codes(warnings: list) -> list[str]:  # type: ignore[type-arg]
    return [w.code.value for w in warnings]


def test_a_fourth_objective_for_an_owner_warns() -> None:
    assert objectives_warnings("analyst", 3) == []
    [warning] = objectives_warnings("analyst", 4)
    assert warning.code is PlanWarningCode.TOO_MANY_OBJECTIVES
    assert "analyst has 4 objectives" in warning.message


def test_a_sixth_key_result_warns_on_the_write_and_the_read() -> None:
    assert key_results_warnings(5, written=True) == []
    assert codes(key_results_warnings(6, written=True)) == ["too_many_key_results"]
    assert codes(key_results_warnings(6, written=False)) == ["too_many_key_results"]


def test_too_few_key_results_is_shown_by_reads_only() -> None:
    # A plan is built a key result at a time: the first one's write does not warn.
    assert key_results_warnings(1, written=True) == []
    assert codes(key_results_warnings(1, written=False)) == ["too_few_key_results"]
    assert codes(key_results_warnings(0, written=False)) == ["too_few_key_results"]
    assert key_results_warnings(2, written=False) == []
