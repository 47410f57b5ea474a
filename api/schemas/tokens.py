"""Bearer tokens as an API client may see them: whom a token speaks for, in which roles."""

from __future__ import annotations

from pydantic import BaseModel

from domain.access import Role


class TokenPublic(BaseModel):
    actor: str
    roles: list[Role]
