"""The bar each objective kind sets: traffic lights and pace (docs/adr/0033)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.calibration import FinalScore, calibrate
from domain.scoring import BARS, Pace, TrafficLight, bar_for, expected_progress
from domain.values import ObjectiveKind

ASPIRATIONAL = bar_for(ObjectiveKind.ASPIRATIONAL)
COMMITTED = bar_for(ObjectiveKind.COMMITTED)


def test_one_bar_per_kind_in_one_table() -> None:
    assert set(BARS) == set(ObjectiveKind)
    assert all(bar.kind is kind for kind, bar in BARS.items())
    assert bar_for("committed") is COMMITTED


@pytest.mark.parametrize(
    ("score", "aspirational", "committed"),
    [
        ("1", TrafficLight.GREEN, TrafficLight.GREEN),
        ("0.9999", TrafficLight.GREEN, TrafficLight.AMBER),
        ("0.7", TrafficLight.GREEN, TrafficLight.AMBER),
        ("0.6999", TrafficLight.AMBER, TrafficLight.RED),
        ("0.4", TrafficLight.AMBER, TrafficLight.RED),
        ("0.3999", TrafficLight.RED, TrafficLight.RED),
        ("0", TrafficLight.RED, TrafficLight.RED),
    ],
)
def test_lights_at_each_boundary_of_each_kind(
    score: str, aspirational: TrafficLight, committed: TrafficLight
) -> None:
    assert ASPIRATIONAL.light(Decimal(score)) is aspirational
    assert COMMITTED.light(Decimal(score)) is committed


def test_aspirational_pace_expects_seven_tenths_of_the_elapsed_share() -> None:
    half = Decimal("0.5")
    assert ASPIRATIONAL.expected(half) == Decimal("0.35")
    assert ASPIRATIONAL.pace(Decimal("0.35"), half) is Pace.ON_PACE
    assert ASPIRATIONAL.pace(Decimal("0.3499"), half) is Pace.BEHIND
    # On the last day, 0.7 is success: on pace.
    assert ASPIRATIONAL.pace(Decimal("0.7"), Decimal(1)) is Pace.ON_PACE
    assert ASPIRATIONAL.pace(Decimal("0.6999"), Decimal(1)) is Pace.BEHIND


def test_committed_pace_expects_the_whole_elapsed_share() -> None:
    half = Decimal("0.5")
    assert COMMITTED.expected(half) == half
    assert COMMITTED.pace(Decimal("0.5"), half) is Pace.ON_PACE
    assert COMMITTED.pace(Decimal("0.4999"), half) is Pace.BEHIND
    # On the last day only a delivered key result is on pace.
    assert COMMITTED.pace(Decimal("0.9999"), Decimal(1)) is Pace.BEHIND
    assert COMMITTED.pace(Decimal(1), Decimal(1)) is Pace.ON_PACE


def test_the_same_score_on_the_same_day_is_judged_by_the_kind() -> None:
    elapsed = expected_progress(date(2026, 7, 1), date(2026, 9, 30), date(2026, 8, 15))
    score = Decimal("0.4")  # elapsed is about 0.5: 0.7 x 0.5 = 0.35 <= 0.4 < 0.5
    assert ASPIRATIONAL.pace(score, elapsed) is Pace.ON_PACE
    assert COMMITTED.pace(score, elapsed) is Pace.BEHIND


def test_calibration_counts_each_kind_against_its_own_line() -> None:
    def final(owner: str, kind: ObjectiveKind, score: str, cycle: str = "2026-Q3") -> FinalScore:
        return FinalScore(owner, cycle, kind, Decimal(score))

    stretch, promise = ObjectiveKind.ASPIRATIONAL, ObjectiveKind.COMMITTED
    (analyst,) = calibrate(
        [
            final("analyst", stretch, "1"),
            final("analyst", stretch, "0.3"),  # at most 0.3: fantasy, boundary included
            final("analyst", stretch, "0.3001"),
            final("analyst", stretch, "0.99995", cycle="2026-Q4"),  # not 1: no sandbagging sign
            final("analyst", promise, "0.99995"),  # unrounded: a promise missed
            final("analyst", promise, "1"),
        ]
    )
    assert (analyst.cycles, analyst.aspirational, analyst.aspirational_at_one) == (2, 4, 1)
    assert analyst.aspirational_at_one_share == Decimal("0.25")
    assert (analyst.aspirational_at_most_fantasy, analyst.aspirational_at_most_fantasy_share) == (
        1,
        Decimal("0.25"),
    )
    assert (analyst.committed, analyst.committed_below_one) == (2, 1)
    assert analyst.committed_below_one_share == Decimal("0.5")
    # None of a kind: no share, rather than a share of nothing.
    (engineer,) = calibrate([final("engineer", promise, "1")])
    assert engineer.aspirational == 0 and engineer.aspirational_at_one_share is None
    assert engineer.committed_below_one_share == 0
    assert calibrate([]) == []
