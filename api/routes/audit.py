"""Read-model routes: audit."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes.common import PROBLEMS

router = APIRouter(tags=["audit"], responses=PROBLEMS)
