"""Authorising a command by the authority table (domain/authority.py, ADR 23).

Commands call this right after loading what they change, with the owners of those
goals; read routes call it with the command alone. The refusal says which role was
needed or which owner's goal was out of reach, and nothing the caller could not see.
"""

from __future__ import annotations

from domain.access import AccessGrant
from domain.authority import GOAL_SCOPED, Command, may, relation, roles_allowed
from domain.errors import ForbiddenError


def authorise(grant: AccessGrant | None, command: Command, *owners: str) -> None:
    """Refuse with ForbiddenError unless the grant may run the command on these owners' goals.

    A goal-scoped command names the owner of every goal it changes or creates. No grant
    is an operator at the store itself (the CLI, an import, the demo): the table governs
    callers holding a token, and whoever holds the store's credentials holds the goals.
    """
    if grant is None or may(grant, command, *owners):
        return
    if command not in GOAL_SCOPED:
        wanted = " or ".join(r.value for r in roles_allowed(command))
        held = ", ".join(sorted(r.value for r in grant.roles))
        raise ForbiddenError(f"{command.value} needs the {wanted} role; this token has {held}")
    refused = next(o for o in owners if not may(grant, command, o))
    relations = "/".join(sorted(relation(grant, refused)))
    raise ForbiddenError(
        f"{grant.subject} may not {command.value} on goals owned by {refused} ({relations})"
    )
