"""Goal events as CloudEvents 1.0: type names, subjects and data, from stored events."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from domain.base import LedgerAggregate, event_class_name
from domain.cycle import Cycle
from domain.key_result import KeyResult
from domain.kpi import Kpi
from domain.objective import Objective
from domain.signal import Signal
from domain.values import plain

SOURCE = "/goalpost"
_FORMAT = JSONFormat()
_KINDS: dict[type[LedgerAggregate], tuple[str, str]] = {
    Cycle: ("cycle", "cycles"),
    Objective: ("objective", "objectives"),
    KeyResult: ("key_result", "key-results"),
    Kpi: ("kpi", "kpis"),
    Signal: ("signal", "signals"),
}
# What a subscriber sees of a stored event: everything but the envelope the CloudEvent
# attributes already carry.
ENVELOPE_FIELDS = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic"}
)


def _declared_by(aggregate: type[LedgerAggregate], event_class: type) -> bool:
    """The library gives each aggregate its own copy of every event class it inherits
    (`Cycle.Event`, `Cycle.Created`, `Cycle.Retired`) beside those its body declares.
    Only the declared ones are ever triggered: the copies are no type a subscriber
    could receive, so they are not offered."""
    declared = f"{aggregate.__qualname__}.{event_class.__name__}"
    return any(c.__qualname__ == declared for c in event_class.__mro__[1:])


def _event_classes() -> dict[str, tuple[str, str, str]]:
    """Topic -> (CloudEvents type, collection path, kind) for every goal event class."""
    found: dict[str, tuple[str, str, str]] = {}
    for aggregate, (kind, collection) in _KINDS.items():
        for attribute in vars(aggregate).values():
            if (
                isinstance(attribute, type)
                and issubclass(attribute, LedgerAggregate.Event | LedgerAggregate.Created)
                and _declared_by(aggregate, attribute)
            ):
                version = getattr(attribute, "class_version", 1)
                name = f"goalpost.{kind}.{event_class_name(attribute)}.v{version}"
                found[get_topic(attribute)] = (name, collection, kind)
    return found


EVENT_TYPES = _event_classes()
TOPICS_BY_TYPE = {name: topic for topic, (name, _, _) in EVENT_TYPES.items()}
GOAL_TOPICS = sorted(EVENT_TYPES)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def cloud_event(stored: Notification, event: LedgerAggregate.Event) -> dict[str, Any]:
    """One stored goal event as a CloudEvents 1.0 JSON object; `position` is its log position.

    Built directly: writing each event through the CloudEvents library and parsing it
    back cost more than reading it from the store. The suite checks that the library
    reads every shape this produces.
    """
    name, collection, _ = EVENT_TYPES[stored.topic]
    return {
        "specversion": "1.0",
        "id": f"{event.originator_id}:{event.originator_version}",
        "source": SOURCE,
        "type": name,
        "subject": f"{collection}/{event.originator_id}",
        "time": event.timestamp.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "position": stored.id,
        "goalversion": event.originator_version,
        "data": {k: _plain(v) for k, v in vars(event).items() if k not in ENVELOPE_FIELDS},
    }


def parse_cloud_event(document: bytes) -> BaseCloudEvent:
    """Read a CloudEvent as the CloudEvents library does (used to check what we write)."""
    return _FORMAT.read(CloudEvent, document)
