"""Read-model routes: history."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes.common import PROBLEMS

router = APIRouter(tags=["history"], responses=PROBLEMS)
