"""What every Goalpost aggregate shares: an actor on every event, monotonic record times."""

from __future__ import annotations

import re
from copy import deepcopy
from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import lru_cache
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import GoalRetiredError
from domain.values import Reason, ReasonCode, utc_now

# Fixed forever: ids derived from natural keys (cycle keys) must not change.
GOALPOST_NAMESPACE = uuid5(NAMESPACE_URL, "urn:goalpost")


@lru_cache(maxsize=4096)
def derived_id(kind: str, key: str) -> UUID:
    # Cached: read models look a cycle up by its key on every event they project.
    return uuid5(GOALPOST_NAMESPACE, f"{kind}:{key}")


# Read models and the feed name every event they handle, of a few dozen classes.
_CLASS_NAMES: dict[type, str] = {}


def event_class_name(event_class: type) -> str:
    """`KeyResult.CheckInRecorded` -> `check_in_recorded`: one vocabulary for the audit
    trail and the feed's CloudEvents types."""
    name = _CLASS_NAMES.get(event_class)
    if name is None:
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", event_class.__name__).lower()
        _CLASS_NAMES[event_class] = name
    return name


def event_name(event: object) -> str:
    return event_class_name(type(event))


@dataclass(frozen=True)
class Retirement:
    effective_on: date
    reason: str
    reason_code: ReasonCode
    actor: str
    recorded_at: datetime
    # Set when the goal graduated: the KPI that carries on measuring it (ADR 36).
    graduated_to_kpi: UUID | None = None
    # Set when the key result was carried forward: the one that carries on (ADR 37).
    carried_to: UUID | None = None


# Values no one changes in place: a copy of a goal shares them with the original.
_IMMUTABLE = (str, int, float, bytes, Decimal, date, UUID, Enum, type(None))


def _is_immutable(value: object) -> bool:
    if isinstance(value, _IMMUTABLE):
        return True
    params = getattr(value, "__dataclass_params__", None)
    return (
        params is not None
        and params.frozen
        and is_dataclass(value)
        and all(isinstance(getattr(value, f.name), _IMMUTABLE) for f in fields(value))
    )


def _copied(value: Any, memo: dict[int, Any]) -> Any:
    """A copy of one attribute of a goal's state: containers copied, immutable values
    shared, anything else deep-copied."""
    if _is_immutable(value):
        return value
    kind = type(value)
    if kind is list or kind is dict or kind is tuple:
        found = memo.get(id(value))
        if found is not None:
            return found
        if kind is list:
            copy: Any = [_copied(item, memo) for item in value]
        elif kind is dict:
            copy = {key: _copied(item, memo) for key, item in value.items()}
        else:
            copy = tuple(_copied(item, memo) for item in value)
        memo[id(value)] = copy
        return copy
    return deepcopy(value, memo)


class LedgerAggregate(Aggregate):
    """Base of the goal aggregates.

    `recorded_at` of an event is the library's `timestamp`, stamped by the server in UTC.
    Within one aggregate it never goes backwards, even across processes whose clocks
    differ slightly, so "what was known at T" is always a prefix of the stream.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> LedgerAggregate:
        # Every command works on a copy of a goal held in memory (ADR 20, 46). The
        # library's generic deepcopy rebuilt each date, time and UUID in it through
        # __reduce_ex__: most of a copy's cost, for values that never change in place.
        clone = object.__new__(type(self))
        memo[id(self)] = clone
        clone.__dict__.update({name: _copied(v, memo) for name, v in self.__dict__.items()})
        return clone

    class Event(Aggregate.Event):
        actor: str

        @staticmethod
        def create_timestamp() -> datetime:
            return utc_now()

    class Created(Aggregate.Created):
        actor: str

        @staticmethod
        def create_timestamp() -> datetime:
            return utc_now()

    class Retired(Event):
        """Base of each aggregate's own Retired event; changes of plan carry a reason."""

        reason: str
        reason_code: str
        effective_on: date

        def apply(self, aggregate: LedgerAggregate) -> None:
            aggregate.retirement = Retirement(
                effective_on=self.effective_on,
                reason=self.reason,
                reason_code=ReasonCode(self.reason_code),
                actor=self.actor,
                recorded_at=self.timestamp,
            )

    retirement: Retirement | None = None

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        now = event_class.create_timestamp()
        kwargs["timestamp"] = max(now, self.modified_on)
        super().trigger_event(event_class, **kwargs)

    @property
    def is_retired(self) -> bool:
        return self.retirement is not None

    def check_not_retired(self) -> None:
        if self.retirement is not None:
            raise GoalRetiredError(
                f"{type(self).__name__} {self.id} was retired on "
                f"{self.retirement.effective_on} ({self.retirement.reason_code}); "
                "it takes no more events"
            )

    def _trigger_retired(
        self, event_class: type[Retired], actor: str, reason: Reason, effective_on: date
    ) -> None:
        self.check_not_retired()
        self.trigger_event(
            event_class,
            actor=actor,
            reason=reason.text,
            reason_code=reason.code.value,
            effective_on=effective_on,
        )


class GraduatedEvent(LedgerAggregate.Retired):
    """Base of a key result's Graduated event: a retirement (reason code graduated_to_kpi)
    whose measure carries on as the KPI it names (ADR 36). Not nested in LedgerAggregate,
    so the aggregates that never graduate get no copy of it."""

    kpi_id: UUID

    def apply(self, aggregate: LedgerAggregate) -> None:
        super().apply(aggregate)
        assert aggregate.retirement is not None
        aggregate.retirement = replace(aggregate.retirement, graduated_to_kpi=self.kpi_id)
