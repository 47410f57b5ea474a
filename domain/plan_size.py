"""Plan-size guidance from the seed: 1 to 3 objectives per owner per cycle, 2 to 5 key results
per objective. Guidance, never a rule that refuses: a plan outside the bounds is stored
and answered with a warning (ADR 35)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MAX_OBJECTIVES_PER_OWNER = 3
MIN_KEY_RESULTS = 2
MAX_KEY_RESULTS = 5


class PlanWarningCode(StrEnum):
    TOO_MANY_OBJECTIVES = "too_many_objectives"
    TOO_MANY_KEY_RESULTS = "too_many_key_results"
    TOO_FEW_KEY_RESULTS = "too_few_key_results"


@dataclass(frozen=True)
class PlanWarning:
    code: PlanWarningCode
    message: str


def objectives_warnings(owner: str, live_objectives: int) -> list[PlanWarning]:
    """For an owner's live objectives in one cycle (counting the one just created)."""
    if live_objectives <= MAX_OBJECTIVES_PER_OWNER:
        return []
    return [
        PlanWarning(
            PlanWarningCode.TOO_MANY_OBJECTIVES,
            f"{owner} has {live_objectives} objectives in this cycle; "
            f"the guidance is at most {MAX_OBJECTIVES_PER_OWNER}",
        )
    ]


def key_results_warnings(live_key_results: int, *, written: bool) -> list[PlanWarning]:
    """For one objective's live key results. `written`: asked by a write that just added
    one, which warns only on crossing the maximum; a plan is built a key result at a
    time, so too few is shown by the reads (scores), never on the write."""
    if live_key_results > MAX_KEY_RESULTS:
        return [
            PlanWarning(
                PlanWarningCode.TOO_MANY_KEY_RESULTS,
                f"the objective has {live_key_results} key results; "
                f"the guidance is at most {MAX_KEY_RESULTS}",
            )
        ]
    if not written and live_key_results < MIN_KEY_RESULTS:
        return [
            PlanWarning(
                PlanWarningCode.TOO_FEW_KEY_RESULTS,
                f"the objective has {live_key_results} key result"
                f"{'' if live_key_results == 1 else 's'}; "
                f"the guidance is at least {MIN_KEY_RESULTS}",
            )
        ]
    return []
