"""Appraisal evidence: one person's goal history over a review period, as known at a time.

Built from the audit trail's rows alone, so every item cites the event it comes from
(log position, goal id, version). KRA/KPI achievement is the backbone and OKR
contribution the narrative; both are laid out month by month across the whole period,
so the first months of a review weigh as much as the last (recency bias).

`items` says what the evidence holds, `goals` builds one goal's, `person` one person's,
and `view` reads the rows as they were known at `known_at`.
"""

from projections.evidence.items import (
    AreaEvidence,
    CheckInItem,
    Citation,
    Correction,
    KeyResultEvidence,
    KeyResultMonth,
    KpiEvidence,
    KpiMonth,
    MonthSummary,
    ObjectiveEvidence,
    PersonEvidence,
    PlanChangeItem,
    PlanItem,
    ReadingItem,
    RetirementItem,
    ScoreItem,
    SelfAssessmentItem,
    TargetChangeItem,
    ThresholdItem,
    Trend,
    months_of,
)
from projections.evidence.view import EvidenceView, ReadModelBehindError

__all__ = [
    "AreaEvidence",
    "CheckInItem",
    "Citation",
    "Correction",
    "EvidenceView",
    "KeyResultEvidence",
    "KeyResultMonth",
    "KpiEvidence",
    "KpiMonth",
    "MonthSummary",
    "ObjectiveEvidence",
    "PersonEvidence",
    "PlanChangeItem",
    "PlanItem",
    "ReadModelBehindError",
    "ReadingItem",
    "RetirementItem",
    "ScoreItem",
    "SelfAssessmentItem",
    "TargetChangeItem",
    "ThresholdItem",
    "Trend",
    "months_of",
]
