"""An objective: qualitative, time-boxed to a cycle, aspirational or committed."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from domain.base import LedgerAggregate
from domain.cycle import Cycle
from domain.errors import InvalidInputError
from domain.ownership import TransferredEvent
from domain.self_assessment import SelfAssessedEvent
from domain.values import (
    MAX_TITLE,
    ObjectiveKind,
    Reason,
    check_enum,
    check_identifier,
    check_not_future,
    check_text,
)


class Objective(LedgerAggregate):
    class Created(LedgerAggregate.Created):
        cycle_id: str
        title: str
        owner: str
        kind: str
        parent_id: UUID | None

    class KeyResultAdded(LedgerAggregate.Event):
        key_result_id: UUID

        def apply(self, aggregate: Objective) -> None:
            aggregate.key_result_ids.append(self.key_result_id)

    class AlignedToParent(LedgerAggregate.Event):
        """Aligned to another objective, or unaligned when `parent_id` is None."""

        parent_id: UUID | None
        reason: str
        reason_code: str

        def apply(self, aggregate: Objective) -> None:
            aggregate.parent_id = self.parent_id

    class Retired(LedgerAggregate.Retired):
        pass

    class SelfAssessed(SelfAssessedEvent):
        pass

    class Transferred(TransferredEvent):
        """Ownership from a day on (ADR 42); the rules are in domain/ownership.py."""

    class CarriedFrom(LedgerAggregate.Event):
        """Saved with `Created`, in the same transaction: the objective of an earlier cycle
        this one carries on, created when a key result was carried forward (ADR 37)."""

        objective_id: UUID

        def apply(self, aggregate: Objective) -> None:
            aggregate.carried_from = self.objective_id

    # The objective this one was created to carry on (ADR 37); None for most.
    carried_from: UUID | None = None

    def __init__(
        self,
        *,
        actor: str,
        cycle_id: str,
        title: str,
        owner: str,
        kind: str,
        parent_id: UUID | None,
    ) -> None:
        self.cycle_id = cycle_id
        self.title = title
        self.owner = owner
        self.kind = ObjectiveKind(kind)
        self.parent_id = parent_id
        self.created_by = actor
        self.key_result_ids: list[UUID] = []

    @classmethod
    def create(
        cls,
        *,
        actor: str,
        cycle: Cycle,
        title: str,
        owner: str,
        kind: ObjectiveKind | str,
        parent: Objective | None = None,
    ) -> Objective:
        """Create the objective and add it to its cycle; save both together."""
        cycle.check_open()
        if parent is not None:
            cls.check_parent(parent)
        objective = cls._create(
            cls.Created,
            actor=actor,
            cycle_id=cycle.key,
            title=check_text(title, "title", max_len=MAX_TITLE),
            owner=check_identifier(owner, "owner"),
            kind=check_enum(ObjectiveKind, kind, "kind").value,
            parent_id=parent.id if parent is not None else None,
        )
        cycle.add_objective(actor=actor, objective_id=objective.id)
        return objective

    @staticmethod
    def check_parent(parent: Objective) -> None:
        if parent.is_retired:
            raise InvalidInputError(f"parent objective {parent.id} is retired", field="parent_id")

    def add_key_result(self, *, actor: str, key_result_id: UUID, cycle: Cycle) -> None:
        self.check_not_retired()
        cycle.check_open()
        self.trigger_event(self.KeyResultAdded, actor=actor, key_result_id=key_result_id)

    def align_to(
        self, *, actor: str, parent: Objective | None, reason: Reason, cycle: Cycle
    ) -> None:
        self.check_not_retired()
        cycle.check_open()
        if parent is not None:
            self.check_parent(parent)
            if self.id in (parent.id, parent.parent_id):
                raise InvalidInputError(
                    "an objective cannot align to itself or to its own child",
                    field="parent_id",
                )
        self.trigger_event(
            self.AlignedToParent,
            actor=actor,
            parent_id=parent.id if parent is not None else None,
            reason=reason.text,
            reason_code=reason.code.value,
        )

    def retire(self, *, actor: str, reason: Reason, effective_on: date, cycle: Cycle) -> None:
        cycle.check_open()
        check_not_future(effective_on)
        cycle.check_within(effective_on)
        self._trigger_retired(self.Retired, actor, reason, effective_on)
