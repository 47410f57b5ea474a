"""Self-assessment commands: an owner's grade and reflection on a key result or objective.

Open on a closed cycle (ADR 34): the cycle is read for its dates and close, not changed,
and the save does not ask it to be unchanged, so a close between the load and the save
cannot refuse an assessment that the window still admits.
"""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from application.core import LedgerCore, command
from application.values import Saved
from domain.access import AccessGrant
from domain.authority import Command
from domain.key_result import KeyResult
from domain.objective import Objective
from domain.self_assessment import DEFAULT_DAYS_AFTER_CLOSE, self_assess
from storage.requests import IdempotentRequest


class SelfAssessmentSettings(BaseSettings):
    """GOALPOST_SELF_ASSESSMENT_DAYS_AFTER_CLOSE: days after a cycle's close during which
    its owners may still record self-assessments (default 14)."""

    model_config = SettingsConfigDict(env_prefix="GOALPOST_")

    self_assessment_days_after_close: int = Field(default=DEFAULT_DAYS_AFTER_CLOSE, ge=0)


class SelfAssessmentCommands(LedgerCore):
    @command
    def self_assess_key_result(
        self,
        *,
        actor: str,
        key_result_id: UUID,
        grade: Decimal | int | str,
        reflection: str,
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        key_result = self._load_to_change(
            KeyResult, key_result_id, grant, Command.SELF_ASSESS, expected_version
        )
        self_assess(
            key_result,
            KeyResult.SelfAssessed,
            actor=actor,
            cycle=self.get_cycle(key_result.cycle_id),
            grade=grade,
            reflection=reflection,
            days_after_close=SelfAssessmentSettings().self_assessment_days_after_close,
        )
        return self._save(key_result, request=request)

    @command
    def self_assess_objective(
        self,
        *,
        actor: str,
        objective_id: UUID,
        grade: Decimal | int | str,
        reflection: str,
        expected_version: int | None = None,
        grant: AccessGrant | None = None,
        request: IdempotentRequest | None = None,
    ) -> Saved:
        objective = self._load_to_change(
            Objective, objective_id, grant, Command.SELF_ASSESS, expected_version
        )
        self_assess(
            objective,
            Objective.SelfAssessed,
            actor=actor,
            cycle=self.get_cycle(objective.cycle_id),
            grade=grade,
            reflection=reflection,
            days_after_close=SelfAssessmentSettings().self_assessment_days_after_close,
        )
        return self._save(objective, request=request)
