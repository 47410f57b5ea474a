"""Scoring, exactly as the product spec's table defines it."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.scoring import (
    Pace,
    TrafficLight,
    expected_progress,
    is_stale,
    key_result_score,
    kpi_healthy,
    net_confidence,
    objective_score,
    pace,
    rounded,
    traffic_light,
)
from domain.values import Confidence, Direction, KpiDirection

values = st.decimals(min_value=-(10**6), max_value=10**6, allow_nan=False, places=4)
unit_values = st.decimals(min_value=0, max_value=1, allow_nan=False, places=4)
all_directions = st.sampled_from(list(Direction))


def test_the_spec_worked_numbers_are_exact() -> None:
    # NPS from 32 to 50, now at 41: half way.
    assert key_result_score(Direction.INCREASE, Decimal(32), Decimal(50), Decimal(41)) == (
        Decimal("0.5")
    )
    # Churn from 3.1% to 2.0%, now at 2.4%: 0.7 / 1.1.
    churn = key_result_score(Direction.DECREASE, Decimal("3.1"), Decimal("2.0"), Decimal("2.4"))
    assert churn.quantize(Decimal("0.001")) == Decimal("0.636")
    assert rounded(churn) == Decimal("0.6364")


def test_no_progress_beyond_the_ends() -> None:
    assert key_result_score(Direction.INCREASE, Decimal(1), Decimal(5), Decimal(9)) == 1
    assert key_result_score(Direction.INCREASE, Decimal(1), Decimal(5), Decimal(0)) == 0
    assert key_result_score(Direction.DECREASE, Decimal(9), Decimal(3), Decimal(2)) == 1
    assert key_result_score(Direction.DECREASE, Decimal(9), Decimal(3), Decimal(12)) == 0


def test_thresholds_count_when_reached() -> None:
    target = Decimal("99.5")
    assert key_result_score(Direction.STAY_ABOVE, Decimal(0), target, target) == 1
    assert key_result_score(Direction.STAY_ABOVE, Decimal(0), target, Decimal("99.49")) == 0
    assert key_result_score(Direction.STAY_BELOW, Decimal(0), target, target) == 1
    assert key_result_score(Direction.STAY_BELOW, Decimal(0), target, Decimal("99.51")) == 0


def test_a_milestone_scores_its_own_value() -> None:
    assert key_result_score(Direction.MILESTONE, Decimal(0), Decimal(1), Decimal("0.6")) == (
        Decimal("0.6")
    )


@given(direction=all_directions, baseline=values, target=values, value=values)
def test_scores_always_lie_in_the_unit_interval(
    direction: Direction, baseline: Decimal, target: Decimal, value: Decimal
) -> None:
    score = key_result_score(direction, baseline, target, value)
    assert Decimal(0) <= score <= Decimal(1)


@given(baseline=values, target=values, lower=values, higher=values)
def test_increase_is_monotone_in_the_value(
    baseline: Decimal, target: Decimal, lower: Decimal, higher: Decimal
) -> None:
    assume(target > baseline and lower <= higher)
    assert key_result_score(Direction.INCREASE, baseline, target, lower) <= key_result_score(
        Direction.INCREASE, baseline, target, higher
    )


@given(baseline=values, target=values, lower=values, higher=values)
def test_decrease_is_antitone_in_the_value(
    baseline: Decimal, target: Decimal, lower: Decimal, higher: Decimal
) -> None:
    assume(target < baseline and lower <= higher)
    assert key_result_score(Direction.DECREASE, baseline, target, lower) >= key_result_score(
        Direction.DECREASE, baseline, target, higher
    )


@given(baseline=values, target=values)
def test_baseline_scores_zero_and_target_scores_one(baseline: Decimal, target: Decimal) -> None:
    assume(baseline != target)
    direction = Direction.INCREASE if target > baseline else Direction.DECREASE
    assert key_result_score(direction, baseline, target, baseline) == 0
    assert key_result_score(direction, baseline, target, target) == 1


@given(
    st.lists(
        st.tuples(unit_values, st.decimals(min_value="0.01", max_value=100, places=2)),
        min_size=1,
        max_size=12,
    )
)
def test_an_objective_scores_between_its_weakest_and_strongest_key_result(
    pairs: list[tuple[Decimal, Decimal]],
) -> None:
    score = objective_score(pairs)
    assert score is not None
    scores = [s for s, _ in pairs]
    # Rounding in the last of 34 digits may step a hair outside; compare at 20 places.
    q = Decimal("1e-20")
    assert min(scores).quantize(q) <= score.quantize(q) <= max(scores).quantize(q)


def test_the_objective_mean_is_weighted() -> None:
    score = objective_score([(Decimal("1"), Decimal(3)), (Decimal("0"), Decimal(1))])
    assert score == Decimal("0.75")
    assert objective_score([]) is None


@pytest.mark.parametrize(
    ("score", "light"),
    [
        ("0.7", TrafficLight.GREEN),
        ("0.6999", TrafficLight.AMBER),
        ("0.4", TrafficLight.AMBER),
        ("0.3999", TrafficLight.RED),
        ("1", TrafficLight.GREEN),
        ("0", TrafficLight.RED),
    ],
)
def test_traffic_light_boundaries(score: str, light: TrafficLight) -> None:
    assert traffic_light(Decimal(score)) is light


def test_pace_compares_the_score_with_the_elapsed_share_of_the_cycle() -> None:
    start, end = date(2026, 7, 1), date(2026, 9, 30)
    assert expected_progress(start, end, date(2026, 6, 1)) == 0
    assert expected_progress(start, end, end) == 1
    halfway = expected_progress(start, end, date(2026, 8, 15))
    assert Decimal("0.49") < halfway < Decimal("0.51")
    assert pace(Decimal("0.3"), halfway) is Pace.BEHIND
    assert pace(Decimal("0.6"), halfway) is Pace.ON_PACE


def test_three_weeks_without_a_check_in_is_stale() -> None:
    last = date(2026, 8, 1)
    assert not is_stale(last, date(2026, 7, 1), last + timedelta(days=20))
    assert is_stale(last, date(2026, 7, 1), last + timedelta(days=21))
    assert is_stale(None, date(2026, 7, 1), date(2026, 7, 22))


def test_kpi_health_uses_the_range_when_there_is_one() -> None:
    assert kpi_healthy(KpiDirection.STAY_BELOW, Decimal(2), Decimal(2))
    assert not kpi_healthy(KpiDirection.STAY_BELOW, Decimal(2), Decimal("2.1"))
    assert kpi_healthy(KpiDirection.STAY_ABOVE, Decimal(80), Decimal(80))
    in_range = (Decimal("99.5"), Decimal(100))
    assert kpi_healthy(KpiDirection.STAY_ABOVE, Decimal("99.5"), Decimal("99.9"), *in_range)
    assert not kpi_healthy(KpiDirection.STAY_ABOVE, Decimal("99.5"), Decimal("99.4"), *in_range)


def test_net_confidence_is_on_track_share_minus_off_track_share() -> None:
    on, risk, off = Confidence.ON_TRACK, Confidence.AT_RISK, Confidence.OFF_TRACK
    assert net_confidence([on, on, risk, off]) == Decimal("0.25")
    assert net_confidence([on, None]) == Decimal("0.5")
    assert net_confidence([]) is None
