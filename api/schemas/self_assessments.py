"""Self-assessments: what an owner sends, and what goal reads and evidence show (ADR 34)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Exact, Request, Value
from domain.self_assessment import SelfAssessment
from domain.values import MAX_NOTE


class SelfAssessmentCreate(Request):
    grade: Annotated[
        Value,
        Field(ge=0, le=1, description="The owner's own grade, from 0 to 1.", examples=["0.7"]),
    ]
    reflection: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_NOTE,
            examples=["Churn fell, but the playbook reached half the accounts late."],
        ),
    ]


class SelfAssessmentPublic(BaseModel):
    """The owner's latest self-assessment; it never changes the computed score."""

    # Read off the domain's `SelfAssessment` where a response is read off a row.
    model_config = ConfigDict(from_attributes=True)

    grade: Exact
    reflection: str
    actor: str
    recorded_at: datetime

    @classmethod
    def of(cls, assessment: SelfAssessment | None) -> SelfAssessmentPublic | None:
        if assessment is None:
            return None
        return cls(
            grade=assessment.grade,
            reflection=assessment.reflection,
            actor=assessment.actor,
            recorded_at=assessment.recorded_at,
        )
