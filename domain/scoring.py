"""Exact scoring of key results, objectives and KPIs, as the product spec defines it.

Pure functions over Decimal; a fixed context keeps the results independent of
whatever decimal context the caller has set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal
from enum import StrEnum

from domain.values import Confidence, Direction, KpiDirection, ObjectiveKind

ZERO = Decimal(0)
ONE = Decimal(1)
GREEN_FROM = Decimal("0.7")
AMBER_FROM = Decimal("0.4")
STALE_AFTER_DAYS = 21

_CTX = Context(prec=34, rounding=ROUND_HALF_UP)
_FOUR_PLACES = Decimal("0.0001")


class TrafficLight(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"


class Pace(StrEnum):
    ON_PACE = "on_pace"
    BEHIND = "behind"


def clamp(value: Decimal, low: Decimal = ZERO, high: Decimal = ONE) -> Decimal:
    return max(low, min(high, value))


def key_result_score(
    direction: Direction, baseline: Decimal, target: Decimal, value: Decimal
) -> Decimal:
    """Score of one key result in [0, 1]; with no check-in the caller passes the baseline."""
    if direction in (Direction.INCREASE, Direction.DECREASE):
        span = _CTX.subtract(target, baseline)
        if span == 0:
            # The aggregate refuses such plans; guard anyway so a bad import cannot crash a report.
            return ONE if value == target else ZERO
        return clamp(_CTX.divide(_CTX.subtract(value, baseline), span))
    if direction is Direction.STAY_ABOVE:
        return ONE if value >= target else ZERO
    if direction is Direction.STAY_BELOW:
        return ONE if value <= target else ZERO
    return clamp(value)


def objective_score(weighted_scores: Iterable[tuple[Decimal, Decimal]]) -> Decimal | None:
    """Weighted mean of (score, weight) pairs of the non-retired key results; None if none."""
    total_weight = ZERO
    total = ZERO
    for score, weight in weighted_scores:
        total = _CTX.add(total, _CTX.multiply(score, weight))
        total_weight = _CTX.add(total_weight, weight)
    if total_weight == 0:
        return None
    return _CTX.divide(total, total_weight)


def mean_score(scores: Iterable[Decimal]) -> Decimal | None:
    """The plain mean (each counts once); None for none."""
    return objective_score((score, ONE) for score in scores)


def traffic_light(score: Decimal) -> TrafficLight:
    if score >= GREEN_FROM:
        return TrafficLight.GREEN
    if score >= AMBER_FROM:
        return TrafficLight.AMBER
    return TrafficLight.RED


@dataclass(frozen=True)
class Bar:
    """What an objective's kind expects of a score: its traffic light and its pace.

    `expected_at_end` is the score that counts as success on the cycle's last day; pace
    expects that share of it already earned as the cycle's days are spent.
    """

    kind: ObjectiveKind
    green: Decimal
    amber: Decimal
    expected_at_end: Decimal

    def light(self, score: Decimal) -> TrafficLight:
        if score >= self.green:
            return TrafficLight.GREEN
        if score >= self.amber:
            return TrafficLight.AMBER
        return TrafficLight.RED

    def expected(self, elapsed_share: Decimal) -> Decimal:
        """The score expected on a day of which `elapsed_share` of the cycle has passed."""
        return _CTX.multiply(self.expected_at_end, elapsed_share)

    def pace(self, score: Decimal, elapsed_share: Decimal) -> Pace:
        return pace(score, self.expected(elapsed_share))


# The one table of bars (docs/adr/0033): aspirational goals succeed around 0.7, committed
# ones only when delivered in full.
BARS: Mapping[ObjectiveKind, Bar] = {
    ObjectiveKind.ASPIRATIONAL: Bar(
        ObjectiveKind.ASPIRATIONAL, GREEN_FROM, AMBER_FROM, expected_at_end=GREEN_FROM
    ),
    ObjectiveKind.COMMITTED: Bar(ObjectiveKind.COMMITTED, ONE, Decimal("0.7"), expected_at_end=ONE),
}


def bar_for(kind: ObjectiveKind | str) -> Bar:
    return BARS[ObjectiveKind(kind)]


def expected_progress(starts_on: date, ends_on: date, on: date) -> Decimal:
    """Elapsed share of the cycle on a date: 0 before it starts, 1 from its last day."""
    total_days = (ends_on - starts_on).days + 1
    elapsed_days = (on - starts_on).days + 1
    return clamp(_CTX.divide(Decimal(elapsed_days), Decimal(total_days)))


def pace(score: Decimal, expected: Decimal) -> Pace:
    return Pace.BEHIND if score < expected else Pace.ON_PACE


def is_stale(last_check_in_on: date | None, tracked_since: date, on: date) -> bool:
    """An OKR not discussed in three weeks is dead: no check-in for 21 days."""
    since = last_check_in_on if last_check_in_on is not None else tracked_since
    return (on - since).days >= STALE_AFTER_DAYS


def kpi_healthy(
    direction: KpiDirection,
    threshold: Decimal,
    value: Decimal,
    healthy_low: Decimal | None = None,
    healthy_high: Decimal | None = None,
) -> bool:
    """Inside the healthy range where the KPI has one, else on the right side of its threshold."""
    if healthy_low is not None or healthy_high is not None:
        above_low = healthy_low is None or value >= healthy_low
        below_high = healthy_high is None or value <= healthy_high
        return above_low and below_high
    if direction is KpiDirection.STAY_ABOVE:
        return value >= threshold
    return value <= threshold


def net_confidence(confidences: Iterable[Confidence | None]) -> Decimal | None:
    """Share of key results on track minus share off track; no check-in counts as neither."""
    counted = list(confidences)
    if not counted:
        return None
    on = sum(1 for c in counted if c is Confidence.ON_TRACK)
    off = sum(1 for c in counted if c is Confidence.OFF_TRACK)
    return _CTX.divide(Decimal(on - off), Decimal(len(counted)))


def rounded(score: Decimal) -> Decimal:
    """Scores travel rounded to four places, half up, as people read them."""
    return score.quantize(_FOUR_PLACES, rounding=ROUND_HALF_UP)


def rounded_or_none(score: Decimal | None) -> Decimal | None:
    """`rounded`, for a score that may be missing (an objective with nothing to count)."""
    return rounded(score) if score is not None else None


@dataclass(frozen=True)
class Grade:
    """A score with the judgements people read off it."""

    score: Decimal
    traffic_light: TrafficLight

    @classmethod
    def of(cls, score: Decimal) -> Grade:
        return cls(score, traffic_light(score))
