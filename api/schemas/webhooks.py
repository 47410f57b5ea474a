"""Webhook subscriptions: what a service sends to subscribe; what it reads of delivery."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Self
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.common import Identifier, Request
from delivery.cloud_events import TOPICS_BY_TYPE
from storage.subscriptions import Webhook, WebhookState

MAX_URL = 2048


class WebhookCreate(Request):
    url: str = Field(
        min_length=1,
        max_length=MAX_URL,
        description="Where events are POSTed: http or https, no user or password in it.",
        examples=["https://hrms.example.com/hooks/goalpost"],
    )
    event_types: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list,
        max_length=len(TOPICS_BY_TYPE),
        description="CloudEvents types to deliver (as the feed names them); empty means all.",
        examples=[["goalpost.key_result.check_in_recorded.v1"]],
    )
    owner: Identifier | None = Field(
        default=None,
        description="Only events of goals this person or team owns; they must own one "
        "already (objective, key result or KPI), else 404.",
    )
    cycle_id: Identifier | None = Field(
        default=None,
        description="Only events of this cycle and its objectives and key results; the "
        "cycle must be open already (its key as opened: case matters), else 404.",
    )
    secret: str | None = Field(
        default=None,
        max_length=200,
        description="The signing secret (`whsec_` + base64 of 24-64 bytes); generated if absent.",
    )
    after: int | None = Field(
        default=None,
        ge=0,
        description="Deliver events after this log position (a feed cursor); default: "
        "only events stored from now on.",
    )


class WebhookPublic(BaseModel):
    """A subscription and how its delivery stands; the secret is never shown again."""

    id: UUID
    url: str
    event_types: list[str] = Field(description="Empty: every goal event.")
    owner: str | None
    cycle_id: str | None
    created_by: str
    created_at: datetime
    state: WebhookState = Field(description="`paused` after repeated failures until resumed.")
    position: int = Field(description="The log position delivered (or skipped) up to.")
    lag: int = Field(description="Log positions between `position` and the log's head.")
    pending: int | None = Field(
        default=None,
        description="Events of the subscribed types after `position`, counted up to 1000 "
        "(an owner or cycle filter may skip some of them); on single reads only.",
    )
    delivered: int = Field(description="Events delivered since the subscription was created.")
    attempts: int = Field(description="Failed attempts in a row at the event next in line.")
    last_error: str | None = Field(
        description="Why the last attempt failed (`HTTP 503: ...`, `ConnectError: ...`); "
        "null again once an event is delivered. A resumed subscription keeps it until then."
    )
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = Field(description="When the next retry is due.")
    last_delivered_at: datetime | None
    paused_at: datetime | None

    @classmethod
    def of(cls, webhook: Webhook, head: int, pending: int | None = None) -> Self:
        """The stored subscription's fields (only those this body has), and its lag behind
        the log's head."""
        lag = max(0, head - webhook.position)
        return cls.model_validate({**asdict(webhook), "lag": lag, "pending": pending})


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="The signing secret; shown only in this response.")


class WebhookList(BaseModel):
    webhooks: list[WebhookPublic]
