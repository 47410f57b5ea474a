"""The AsyncAPI 3.0 document of what services receive: every goal event type, per channel.

Generated from the event classes `delivery.cloud_events` delivers, and from the same
rules it writes them by (which fields are envelope, how values become JSON), so the
document cannot describe an event differently from how it is sent.
"""

from __future__ import annotations

import types
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Union, get_args, get_origin, get_type_hints
from uuid import UUID

from eventsourcing.utils import resolve_topic

from delivery.cloud_events import ENVELOPE_FIELDS, EVENT_TYPES, SOURCE
from domain.base import event_class_name

ASYNCAPI_VERSION = "3.0.0"
# `plain()`: an optional minus, digits, an optional fraction; never exponent notation.
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
_UUID_PATTERN = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    bool: {"type": "boolean"},
    UUID: {"type": "string", "format": "uuid"},
    Decimal: {
        "type": "string",
        "pattern": DECIMAL_PATTERN,
        "description": "An exact decimal as text, never exponent notation.",
    },
    date: {"type": "string", "format": "date"},
    datetime: {"type": "string", "format": "date-time"},
}

_CHANNELS: dict[str, dict[str, Any]] = {
    "feed": {
        "address": "/v1/events",
        "title": "Event feed",
        "description": (
            "`GET /v1/events?after=POSITION&limit=N&type=...` answers a page whose "
            "`events` are these messages in log order; continue from `next_after`. "
            "Needs a `service` (or `admin`) bearer token."
        ),
    },
    "stream": {
        "address": "/v1/events/stream",
        "title": "Event stream",
        "description": (
            "`GET /v1/events/stream`: server-sent events, one message per `data:` line, "
            "the SSE `event` is the CloudEvents `type` and the SSE `id` its `position`; "
            "resume with `Last-Event-ID`."
        ),
    },
    "webhook": {
        "address": None,
        "title": "Webhook deliveries",
        "description": (
            "Each message POSTed to a subscription's `url` (`POST /v1/webhooks`) as "
            "`application/cloudevents+json`, signed per Standard Webhooks "
            "(`webhook-id` is the CloudEvent `id`), in order, at least once."
        ),
    },
}


def _schema_of(annotation: Any, where: str) -> dict[str, Any]:
    if annotation in _SCALARS:
        return dict(_SCALARS[annotation])
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType) and type(None) in args:
        (inner,) = [a for a in args if a is not type(None)]
        return {"anyOf": [_schema_of(inner, where), {"type": "null"}]}
    if origin in (list, tuple) and args:
        return {"type": "array", "items": _schema_of(args[0], where)}
    if origin is dict and args[:1] == (str,):
        return {"type": "object", "additionalProperties": _schema_of(args[1], where)}
    # A field type with no JSON form here must be given one before it is delivered.
    raise TypeError(f"{where}: no JSON Schema for {annotation!r}")


def data_schema(event_class: type) -> dict[str, Any]:
    """The JSON Schema of a CloudEvent's `data` for one event class: its fields but the
    envelope, as `cloud_event()` writes them."""
    hints = get_type_hints(event_class)
    fields = {
        name: _schema_of(annotation, f"{event_class.__qualname__}.{name}")
        for name, annotation in hints.items()
        if name not in ENVELOPE_FIELDS and get_origin(annotation) is not ClassVar
    }
    return {
        "type": "object",
        "properties": fields,
        "required": sorted(fields),
        "additionalProperties": False,
    }


def _payload(name: str, collection: str, event_class: type) -> dict[str, Any]:
    """The whole CloudEvent as `cloud_event()` builds it, `data` included."""
    properties: dict[str, Any] = {
        "specversion": {"const": "1.0"},
        "id": {
            "type": "string",
            "pattern": f"^{_UUID_PATTERN}:[1-9][0-9]*$",
            "description": "`<goal id>:<goal version>`: unique, the same on each delivery.",
        },
        "source": {"const": SOURCE},
        "type": {"const": name},
        "subject": {"type": "string", "pattern": f"^{collection}/{_UUID_PATTERN}$"},
        "time": {
            "type": "string",
            "format": "date-time",
            "description": "When it was recorded, UTC.",
        },
        "datacontenttype": {"const": "application/json"},
        "position": {
            "type": "integer",
            "minimum": 1,
            "description": "Its position in the log: the feed's and stream's cursor.",
        },
        "goalversion": {
            "type": "integer",
            "minimum": 1,
            "description": "The goal's version after this event (its `ETag`).",
        },
        "data": data_schema(event_class),
    }
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document: three channels (feed, stream, webhook), each carrying
    one message per event type, and Goalpost's operation of sending on each."""
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for topic, (name, collection, kind) in sorted(EVENT_TYPES.items(), key=lambda e: e[1]):
        event_class = resolve_topic(topic)
        doc = (event_class.__doc__ or "").strip()
        schemas[name] = _payload(name, collection, event_class)
        messages[name] = {
            "name": name,
            "title": f"{kind} {event_class_name(event_class).replace('_', ' ')}",
            "summary": doc.splitlines()[0] if doc else f"{event_class.__qualname__}",
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{name}"},
        }
    refs = {name: {"$ref": f"#/components/messages/{name}"} for name in messages}
    channels = {key: {**channel, "messages": dict(refs)} for key, channel in _CHANNELS.items()}
    operations = {
        f"send_{key}": {
            "action": "send",
            "title": f"Goalpost sends on the {str(channel['title']).lower()}",
            "channel": {"$ref": f"#/channels/{key}"},
            "messages": [{"$ref": f"#/channels/{key}/messages/{name}"} for name in messages],
        }
        for key, channel in _CHANNELS.items()
    }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Goalpost events",
            "version": "1",
            "description": (
                "Every goal event as a CloudEvents 1.0 JSON object. A type is "
                "`goalpost.<kind>.<event>.v<version>`: a type's meaning never changes, a "
                "new version is a new type. The HTTP API is described at `/openapi.json`."
            ),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }
