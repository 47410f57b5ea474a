"""A write the client may retry, as the store keeps it beside what the write stored."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IdempotentRequest:
    """A write the client may retry: its key, and a fingerprint of what it asked for."""

    actor: str
    key: str
    fingerprint: str
