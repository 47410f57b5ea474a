"""Who owns a goal on a day: the owner it was created with, then each transfer from the
day it takes effect (ADR 42).

Transfers of one goal form a time line: each takes effect on or after the one before it,
so the owner a transfer names as `previous_owner` is the owner it replaces on that day.
The goal's `owner` is the owner in force after its latest transfer, whom the authority
table asks about; readers of the past ask `owner_on`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from domain.base import LedgerAggregate
from domain.errors import InvalidInputError
from domain.plans import plan_in_force
from domain.values import MAX_REASON, check_identifier, check_not_future, check_text


@dataclass(frozen=True)
class Ownership:
    """An owner in force from `effective_on`: the creation (version 1) or a transfer."""

    owner: str
    effective_on: date
    version: int
    previous_owner: str | None = None
    reason: str | None = None
    actor: str | None = None
    recorded_at: datetime | None = None


class TransferredEvent(LedgerAggregate.Event):
    """Base of each goal's own Transferred event."""

    owner: str
    previous_owner: str
    reason: str
    effective_on: date

    def apply(self, aggregate: Any) -> None:
        # Kept as plain values, so a key result's snapshot holds them as they are.
        row = {
            "owner": self.owner,
            "previous_owner": self.previous_owner,
            "reason": self.reason,
            "effective_on": self.effective_on,
            "actor": self.actor,
            "recorded_at": self.timestamp,
            "version": self.originator_version,
        }
        aggregate.transfers = [*getattr(aggregate, "transfers", []), row]
        aggregate.owner = self.owner


def transfers(goal: LedgerAggregate) -> list[Ownership]:
    """Every transfer of the goal as loaded, in the order recorded."""
    rows: list[dict[str, Any]] = getattr(goal, "transfers", [])
    return [Ownership(**row) for row in rows]


def ownerships(goal: LedgerAggregate, created_on: date) -> list[Ownership]:
    """The goal's owners in time order: the first from `created_on`, then each transfer's."""
    moves = transfers(goal)
    first = moves[0].previous_owner if moves else getattr(goal, "owner", None)
    assert first is not None  # every goal with transfers has an owner
    return [Ownership(owner=first, effective_on=created_on, version=1), *moves]


def owner_on(goal: LedgerAggregate, day: date, created_on: date) -> str:
    """The owner in force on a day; before the goal's first day, the one it was created with."""
    return plan_in_force(ownerships(goal, created_on), day).owner


def transfer(
    goal: LedgerAggregate,
    event_class: type[TransferredEvent],
    *,
    actor: str,
    owner: str,
    reason: str,
    effective_on: date,
) -> None:
    """Check the input, then the time line, and record the transfer on the goal."""
    goal.check_not_retired()
    new_owner = check_identifier(owner, "owner")
    text = check_text(reason, "reason", max_len=MAX_REASON, multiline=True)
    check_not_future(effective_on)
    current: str = goal.owner  # type: ignore[attr-defined]
    if new_owner == current:
        raise InvalidInputError(f"the goal is already owned by {current}", field="owner")
    moves = transfers(goal)
    if moves and effective_on < moves[-1].effective_on:
        # A transfer slipped in before a later one would leave that one's previous owner
        # wrong; the time line is corrected by a further transfer instead.
        raise InvalidInputError(
            f"effective_on must not be before the last transfer's ({moves[-1].effective_on})",
            field="effective_on",
        )
    goal.trigger_event(
        event_class,
        actor=actor,
        owner=new_owner,
        previous_owner=current,
        reason=text,
        effective_on=effective_on,
    )
