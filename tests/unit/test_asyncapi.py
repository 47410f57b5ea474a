"""The AsyncAPI document: well formed, and describing exactly the types the feed offers."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

import jsonschema
import pytest

from delivery.asyncapi import asyncapi_document, data_schema
from delivery.cloud_events import EVENT_TYPES, TOPICS_BY_TYPE
from domain.base import LedgerAggregate

# AsyncAPI 3.0: the keys of `components` maps, and so of the names referenced there.
COMPONENT_KEY = re.compile(r"^[a-zA-Z0-9.\-_]+$")


def resolve(document: dict[str, Any], ref: str) -> Any:
    """A local `$ref` (`#/a/b`) of the document; a KeyError when it names nothing."""
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def test_the_document_has_the_shape_asyncapi_3_requires() -> None:
    document = asyncapi_document()

    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] and document["info"]["version"]
    assert set(document) <= {
        "asyncapi", "id", "info", "servers", "defaultContentType", "channels",
        "operations", "components",
    }  # fmt: skip
    for ref in refs(document):
        resolve(document, ref)
    for section in ("messages", "schemas"):
        assert all(COMPONENT_KEY.match(key) for key in document["components"][section])
    for key, channel in document["channels"].items():
        assert channel["address"] is None or channel["address"].startswith("/"), key
        for message in channel["messages"].values():
            assert set(message) == {"$ref"}
    for key, operation in document["operations"].items():
        assert operation["action"] in {"send", "receive"}, key
        channel_ref = operation["channel"]["$ref"]
        assert channel_ref.startswith("#/channels/")
        # An operation's messages must be its channel's own.
        assert all(m["$ref"].startswith(f"{channel_ref}/messages/") for m in operation["messages"])
    for name, message in document["components"]["messages"].items():
        payload = resolve(document, message["payload"]["$ref"])
        jsonschema.Draft7Validator.check_schema(payload)
        assert payload["properties"]["type"] == {"const": name}


def test_every_type_the_feed_offers_is_a_message_on_every_channel() -> None:
    document = asyncapi_document()
    types = set(TOPICS_BY_TYPE)

    assert set(document["components"]["messages"]) == types
    for channel in document["channels"].values():
        assert set(channel["messages"]) == types
    for operation in document["operations"].values():
        assert {m["$ref"].rsplit("/", 1)[1] for m in operation["messages"]} == types
    assert set(document["channels"]) == {"feed", "stream", "webhook"}
    assert len(EVENT_TYPES) == len(types)


def test_only_event_classes_an_aggregate_declares_are_types() -> None:
    # The library's own copies of the base classes are never triggered.
    for phantom in (
        "goalpost.cycle.event.v1", "goalpost.cycle.created.v1", "goalpost.cycle.retired.v1",
        "goalpost.objective.event.v1", "goalpost.key_result.event.v1",
        "goalpost.kpi.event.v1", "goalpost.kpi.created.v1",
    ):  # fmt: skip
        assert phantom not in TOPICS_BY_TYPE
    for declared in (
        "goalpost.cycle.opened.v1", "goalpost.cycle.closed.v1", "goalpost.objective.retired.v1",
        "goalpost.key_result.created.v2", "goalpost.kpi.defined.v1",
    ):  # fmt: skip
        assert declared in TOPICS_BY_TYPE


def test_data_schemas_follow_the_field_types() -> None:
    schema = resolve(asyncapi_document(), "#/components/schemas/goalpost.kpi.target_changed.v1")
    data = schema["properties"]["data"]

    assert data["required"] == sorted(data["properties"])
    assert set(data["properties"]) == {
        "actor", "target", "healthy_low", "healthy_high", "reason", "reason_code", "effective_on",
    }  # fmt: skip
    validate = jsonschema.Draft7Validator(data, format_checker=jsonschema.FormatChecker())
    good = {
        "actor": "analyst", "target": "0.95", "healthy_low": None, "healthy_high": "-1.5",
        "reason": "r", "reason_code": "other", "effective_on": "2026-07-01",
    }  # fmt: skip
    assert validate.is_valid(good)
    for field, wrong in [
        ("target", 0.95), ("target", "1E+2"), ("effective_on", "2026-13-01"),
        ("healthy_low", 3), ("reason", None),
    ]:  # fmt: skip
        assert not validate.is_valid({**good, field: wrong}), field
    assert not validate.is_valid({**good, "extra": "x"})
    assert not validate.is_valid({k: v for k, v in good.items() if k != "actor"})


def test_a_field_type_with_no_json_form_is_refused_not_guessed() -> None:
    class Odd(LedgerAggregate.Event):
        ids: set[UUID]

    with pytest.raises(TypeError, match=r"Odd\.ids"):
        data_schema(Odd)
