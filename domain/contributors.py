"""Contributors to a key result: people or teams who work on it beside its owner, each
from a day and until a day (ADR 42). A key result shared across teams keeps one owner,
who answers for it, and names the others as contributors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from domain.base import LedgerAggregate
from domain.errors import ConflictError, InvalidInputError, NotFoundError
from domain.values import check_identifier, check_not_future


@dataclass(frozen=True)
class Contribution:
    """One span of a contributor's work on the goal: from `starts_on`, until `ends_on`
    (its last day) once removed."""

    contributor: str
    starts_on: date
    added_version: int
    added_by: str
    added_at: datetime
    ends_on: date | None = None
    removed_version: int | None = None

    def holds_on(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


class ContributorAddedEvent(LedgerAggregate.Event):
    """Base of a goal's own ContributorAdded event."""

    contributor: str
    effective_on: date

    def apply(self, aggregate: Any) -> None:
        row = {
            "contributor": self.contributor,
            "starts_on": self.effective_on,
            "added_version": self.originator_version,
            "added_by": self.actor,
            "added_at": self.timestamp,
            "ends_on": None,
            "removed_version": None,
        }
        aggregate.contributions = [*getattr(aggregate, "contributions", []), row]


class ContributorRemovedEvent(LedgerAggregate.Event):
    """Base of a goal's own ContributorRemoved event: `effective_on` is the last day."""

    contributor: str
    effective_on: date

    def apply(self, aggregate: Any) -> None:
        rows: list[dict[str, Any]] = [dict(r) for r in getattr(aggregate, "contributions", [])]
        for row in reversed(rows):
            if row["contributor"] == self.contributor and row["ends_on"] is None:
                row["ends_on"] = self.effective_on
                row["removed_version"] = self.originator_version
                break
        aggregate.contributions = rows


def contributions(goal: LedgerAggregate) -> list[Contribution]:
    """Every span of every contributor, in the order added."""
    rows: list[dict[str, Any]] = getattr(goal, "contributions", [])
    return [Contribution(**row) for row in rows]


def contributors_on(goal: LedgerAggregate, day: date) -> list[str]:
    """The contributors on a day, sorted."""
    return sorted({c.contributor for c in contributions(goal) if c.holds_on(day)})


def _open_span(goal: LedgerAggregate, contributor: str) -> Contribution | None:
    return next(
        (c for c in contributions(goal) if c.contributor == contributor and c.ends_on is None),
        None,
    )


def add_contributor(
    goal: LedgerAggregate,
    event_class: type[ContributorAddedEvent],
    *,
    actor: str,
    contributor: str,
    effective_on: date,
) -> None:
    goal.check_not_retired()
    name = check_identifier(contributor, "contributor")
    check_not_future(effective_on)
    if name == getattr(goal, "owner", None):
        raise InvalidInputError(
            f"{name} owns the goal; an owner is no contributor", field="contributor"
        )
    if _open_span(goal, name) is not None:
        raise ConflictError(f"{name} already contributes to {goal.id}")
    ended = [c.ends_on for c in contributions(goal) if c.contributor == name and c.ends_on]
    if ended and effective_on <= max(ended):
        raise InvalidInputError(
            f"{name} contributed until {max(ended)}; a new span starts after it",
            field="effective_on",
        )
    goal.trigger_event(event_class, actor=actor, contributor=name, effective_on=effective_on)


def remove_contributor(
    goal: LedgerAggregate,
    event_class: type[ContributorRemovedEvent],
    *,
    actor: str,
    contributor: str,
    effective_on: date,
) -> None:
    """End the contributor's open span; `effective_on` is their last day on the goal."""
    goal.check_not_retired()
    name = check_identifier(contributor, "contributor")
    check_not_future(effective_on)
    span = _open_span(goal, name)
    if span is None:
        raise NotFoundError(f"{name} is not a contributor to {goal.id}", field="contributor")
    if effective_on < span.starts_on:
        raise InvalidInputError(
            f"{name} contributes from {span.starts_on}; the last day cannot be before it",
            field="effective_on",
        )
    goal.trigger_event(event_class, actor=actor, contributor=name, effective_on=effective_on)
