"""Webhook subscriptions for services."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes.common import PROBLEMS

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], responses=PROBLEMS)
