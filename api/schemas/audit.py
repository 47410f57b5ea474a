"""The tamper-evidence seal, recomputed: what an auditor reads back."""

from __future__ import annotations

from dataclasses import asdict

from pydantic import BaseModel, Field

from projections.seal import Finding, Verification


class SealVerification(BaseModel):
    """The tamper-evidence seal recomputed over the whole log (a broken seal is still a 200)."""

    intact: bool = Field(
        description="Every event up to `log_head` is sealed and still matches its seal row "
        "and its record time; false while any is not sealed yet (`not_yet_sealed`)."
    )
    checked: int = Field(description="Events recomputed and matched (seal row and record time).")
    sealed_up_to: int = Field(description="The log position the seal covers up to.")
    head_hash: str = Field(
        description="The seal hash at `sealed_up_to` (the last matching one when broken); "
        "record it outside the store and pass it back as `anchor`."
    )
    log_head: int = Field(description="The log's last position: the head verified up to.")
    unsealed: int = Field(
        description="Events after `sealed_up_to`, not sealed yet: while any, not intact."
    )
    first_bad_position: int | None = Field(
        default=None,
        description="The first position that no longer matches (the first unsealed one for "
        "`not_yet_sealed`; the goal's last event for `record_time_inserted`).",
    )
    finding: Finding | None = Field(default=None, description="What was found there.")
    detail: str | None = None
    anchor_checked: bool = Field(
        default=False, description="The `anchor` given was reached and matched."
    )
    position: int = Field(description="The log position the seal read model reflected.")

    @classmethod
    def of(cls, result: Verification, position: int) -> SealVerification:
        """The verification's own fields, and the position the read was made at."""
        return cls.model_validate({**asdict(result), "position": position})
