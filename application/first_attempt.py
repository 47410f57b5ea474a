"""A command's first attempt, decided on the goals its process holds (ADR 46).

The `command` decorator (application/core.py) runs each command first on the goals as
the process last saw them, without asking the store. The attempt records every goal it
read, at the version it read, and the save passes them all to the store's check, which
refuses the write if any has changed since. Whatever else happens, the decorator runs
the command again on fresh state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Concatenate, ParamSpec, TypeVar
from uuid import UUID

from application.values import Saved
from domain.access import AccessGrant
from domain.errors import DomainError

L = TypeVar("L")
P = ParamSpec("P")


@dataclass
class FirstAttempt:
    """Each goal the attempt read, at the version it read, so that its save can check
    them all; and whether it has saved (after which loads read the store)."""

    read: dict[UUID, int] = field(default_factory=dict)
    saved: bool = False


@dataclass(frozen=True)
class _Running:
    """The command running in this thread (or task): on which ledger, and its first attempt
    while it is on it. A command that another command of the same ledger calls runs inside
    the caller's attempt."""

    ledger: object
    attempt: FirstAttempt | None = None


_running: ContextVar[_Running | None] = ContextVar("running_command", default=None)


def runs_a_command(ledger: object) -> bool:
    """Whether a command of this ledger is running in this thread (or task) already."""
    running = _running.get()
    return running is not None and running.ledger is ledger


@contextmanager
def running_command(ledger: object) -> Iterator[None]:
    token = _running.set(_Running(ledger))
    try:
        yield
    finally:
        _running.reset(token)


def attempt_of(ledger: object) -> FirstAttempt | None:
    """The first attempt the ledger's running command is on, until it has saved."""
    running = _running.get()
    if running is None or running.ledger is not ledger or running.attempt is None:
        return None
    return running.attempt if not running.attempt.saved else None


def first_attempt_result(
    method: Callable[Concatenate[L, P], Saved], ledger: L, *args: P.args, **kwargs: P.kwargs
) -> Saved | None:
    """Run the command on the goals this process keeps, without asking the store about
    them first; None if that did not end in a save, for the command to run again on fresh
    state. The save refuses (as a lost race) unless every goal read is still at the
    version read, so a stale goal can cost a re-run, never a wrong write."""
    attempt = FirstAttempt()
    grant = kwargs.get("grant")
    if isinstance(grant, AccessGrant):
        # Revoked since this process loaded it: the save fails, and the re-run says so.
        attempt.read[grant.id] = grant.version
    token = _running.set(_Running(ledger, attempt))
    try:
        result = method(ledger, *args, **kwargs)
    except DomainError:
        # Refused, or a lost race: perhaps only on stale goals. Decided again on fresh ones,
        # with the completed-request check first, so a retried request replays its result.
        if attempt.saved:
            raise
        return None
    finally:
        _running.reset(token)
    return result if attempt.saved else None
