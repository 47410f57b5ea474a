"""Read-model routes: evidence."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes.common import PROBLEMS

router = APIRouter(tags=["evidence"], responses=PROBLEMS)
