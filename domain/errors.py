"""The domain's error families; the API maps each family to one HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInputError(DomainError):
    """A command's input breaks a rule; `field` names the input at fault."""


class ForbiddenError(DomainError):
    """The caller's grant does not allow the command on the goals it names (ADR 23)."""


class NotFoundError(DomainError):
    """The goal, cycle or check-in named does not exist."""


class ConflictError(DomainError):
    """The command contradicts the goal's current state (retired, closed, exists)."""


class GoalRetiredError(ConflictError):
    """A retired goal takes no more events."""


class CycleClosedError(ConflictError):
    """A closed cycle takes nothing but corrections."""


class AlreadyExistsError(ConflictError):
    """An aggregate with that identity was created before."""


class ConcurrencyError(ConflictError):
    """Another writer saved the same goal first; nothing of this command was stored."""


class IdempotencyKeyReusedError(InvalidInputError):
    """An Idempotency-Key was used before for a different request."""


class StaleVersionError(DomainError):
    """The caller's expected version is not the goal's current version."""

    def __init__(self, message: str, *, current_version: int) -> None:
        super().__init__(message)
        self.current_version = current_version
