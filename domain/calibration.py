"""Calibration: whether owners set their bars honestly, read off closed cycles' final scores.

Per owner, over the key results of closed cycles (neither they nor their objectives
retired): the share of aspirational ones at 1.0 (never stretched: a sign of
sandbagging), the share of aspirational ones at or below 0.3 (fantasy targets or
abandonment), and the share of committed ones below 1.0 (promises missed). Scores are
compared exactly, unrounded: 0.99995 is below 1 (docs/adr/0033).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal

from domain.scoring import ONE
from domain.values import ObjectiveKind

# An aspirational key result at or below this was a fantasy target, or abandoned.
FANTASY_AT_MOST = Decimal("0.3")

# The scoring module's context: shares independent of the caller's decimal context.
_CTX = Context(prec=34, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class FinalScore:
    """A live key result's score when its closed cycle ended."""

    owner: str
    cycle_id: str
    kind: ObjectiveKind
    score: Decimal


@dataclass(frozen=True)
class Calibration:
    owner: str
    cycles: int
    aspirational: int
    aspirational_at_one: int
    aspirational_at_one_share: Decimal | None
    aspirational_at_most_fantasy: int
    aspirational_at_most_fantasy_share: Decimal | None
    committed: int
    committed_below_one: int
    committed_below_one_share: Decimal | None


def _share(part: int, whole: int) -> Decimal | None:
    return _CTX.divide(Decimal(part), Decimal(whole)) if whole else None


def calibrate(scores: Iterable[FinalScore]) -> list[Calibration]:
    """One calibration per owner with a final score, by owner."""
    mine: dict[str, list[FinalScore]] = defaultdict(list)
    for score in scores:
        mine[score.owner].append(score)
    found = []
    for owner in sorted(mine):
        theirs = mine[owner]
        stretch = [s.score for s in theirs if s.kind is ObjectiveKind.ASPIRATIONAL]
        promised = [s.score for s in theirs if s.kind is ObjectiveKind.COMMITTED]
        at_one = sum(1 for s in stretch if s >= ONE)
        fantasy = sum(1 for s in stretch if s <= FANTASY_AT_MOST)
        missed = sum(1 for s in promised if s < ONE)
        found.append(
            Calibration(
                owner=owner,
                cycles=len({s.cycle_id for s in theirs}),
                aspirational=len(stretch),
                aspirational_at_one=at_one,
                aspirational_at_one_share=_share(at_one, len(stretch)),
                aspirational_at_most_fantasy=fantasy,
                aspirational_at_most_fantasy_share=_share(fantasy, len(stretch)),
                committed=len(promised),
                committed_below_one=missed,
                committed_below_one_share=_share(missed, len(promised)),
            )
        )
    return found
