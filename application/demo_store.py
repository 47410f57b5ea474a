"""A demo store: one whose story may carry the record times it would have had live (ADR 44).

A store becomes a demo store only while it holds no event, and stays one: the mark lives
in the store beside the events, append-only, so every process sees it and none can take it
back. Only a demo store accepts record times from the past, which is what lets the demo
tell two quarters as if they had been recorded week by week.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.application import Application


@runtime_checkable
class DemoMark(Protocol):
    """Implemented by Goalpost's recorders."""

    def is_demo_store(self) -> bool: ...

    def mark_demo_store(self) -> bool: ...


def is_demo_store(ledger: Application[UUID]) -> bool:
    recorder = ledger.recorder
    return isinstance(recorder, DemoMark) and recorder.is_demo_store()


def mark_demo_store(ledger: Application[UUID]) -> bool:
    """Mark an empty store as a demo store; True if the store is one now.

    False for a store that already holds events (and is not one): its history was
    recorded live, and a demo told into it would read as backdated."""
    recorder = ledger.recorder
    return isinstance(recorder, DemoMark) and recorder.mark_demo_store()
