"""The authority table decides alone, from the grant and the owners; the docs print it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from domain.access import Role
from domain.authority import (
    AUTHORITY,
    GOAL_SCOPED,
    Command,
    Relation,
    markdown_table,
    may,
    relation,
    roles_allowed,
)

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Grant:
    subject: str
    roles: frozenset[Role]
    team: str | None = None
    reports: frozenset[str] = field(default_factory=frozenset)
    member_of: frozenset[str] = field(default_factory=frozenset)


def grant(*roles: Role, team: str | None = None, reports: tuple[str, ...] = ()) -> Grant:
    return Grant("analyst", frozenset(roles), team, frozenset(reports))


def test_a_member_writes_its_own_and_its_teams_goals_and_nobody_elses() -> None:
    analyst = grant(Role.MEMBER, team="support", reports=("buyer",))
    assert may(analyst, Command.RECORD_CHECK_IN, "analyst")
    assert may(analyst, Command.RECORD_CHECK_IN, "support")
    # Reports on a member's token give her nothing: writing them is a manager's right.
    assert not may(analyst, Command.RECORD_CHECK_IN, "buyer")
    assert not may(analyst, Command.RECORD_CHECK_IN, "outsider")


def test_the_teams_a_member_belongs_to_today_are_its_team_relation_too() -> None:
    # The people graph puts the subject in two teams; the token itself names neither.
    member = Grant("analyst", frozenset({Role.MEMBER}), member_of=frozenset({"support", "product"}))
    assert relation(member, "product") == {Relation.TEAM}
    assert may(member, Command.RECORD_CHECK_IN, "support")
    assert may(member, Command.RECORD_CHECK_IN, "product")
    assert not may(member, Command.RECORD_CHECK_IN, "sales")
    # A reading role gains no write from a team it belongs to.
    reviewer = Grant("analyst", frozenset({Role.REVIEWER}), member_of=frozenset({"support"}))
    assert not may(reviewer, Command.RECORD_CHECK_IN, "support")


def test_a_command_on_two_owners_goals_needs_the_right_on_both() -> None:
    analyst = grant(Role.MEMBER)
    # A key result of her own under the buyer's objective, or of the buyer's under hers: refused.
    assert not may(analyst, Command.CREATE_KEY_RESULT, "buyer", "analyst")
    assert not may(analyst, Command.CREATE_KEY_RESULT, "analyst", "buyer")
    assert may(analyst, Command.CREATE_KEY_RESULT, "analyst", "analyst")
    # Her manager holds both.
    supervisor = Grant(
        "supervisor", frozenset({Role.MANAGER}), reports=frozenset({"analyst", "buyer"})
    )
    assert may(supervisor, Command.REWEIGHT_KEY_RESULT, "analyst", "buyer")


def test_a_grant_of_several_roles_may_what_any_of_them_may() -> None:
    both = grant(Role.MEMBER, Role.AUDITOR)
    assert may(both, Command.READ_CHANGE_REPORT)
    assert may(both, Command.RETIRE_KPI, "analyst")
    assert not may(both, Command.READ_EVIDENCE)
    assert not may(both, Command.CLOSE_CYCLE)


def test_only_an_admin_opens_or_closes_a_cycle() -> None:
    for role in Role:
        expected = role is Role.ADMIN
        assert may(grant(role, reports=("everyone",)), Command.CLOSE_CYCLE) is expected
        assert may(grant(role), Command.OPEN_CYCLE) is expected


def test_a_refusal_can_name_the_roles_that_would_be_allowed() -> None:
    assert roles_allowed(Command.VERIFY_SEAL) == (Role.AUDITOR, Role.ADMIN)
    assert roles_allowed(Command.RECORD_CHECK_IN) == (Role.MEMBER, Role.MANAGER, Role.ADMIN)
    assert roles_allowed(Command.READ_GOALS) == tuple(Role)


def test_owners_are_named_exactly_when_the_command_changes_goals() -> None:
    with pytest.raises(TypeError):
        may(grant(Role.ADMIN), Command.RECORD_CHECK_IN)
    with pytest.raises(TypeError):
        may(grant(Role.ADMIN), Command.CLOSE_CYCLE, "analyst")


def test_every_command_role_and_relation_has_exactly_one_row() -> None:
    keys = [(r.command, r.role, r.relation) for r in AUTHORITY]
    assert len(keys) == len(set(keys))
    goal = len(GOAL_SCOPED) * len(Role) * 4
    unscoped = (len(Command) - len(GOAL_SCOPED)) * len(Role)
    assert len(keys) == goal + unscoped
    assert {r.relation for r in AUTHORITY if r.command not in GOAL_SCOPED} == {Relation.UNSCOPED}


def printed_table(document: Path) -> str:
    """The authority table as a document prints it: the lines from its header row on."""
    lines = document.read_text().splitlines()
    start = lines.index(markdown_table().splitlines()[0])
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "\n".join(lines[start:end])


@pytest.mark.parametrize(
    "document",
    ["README.md", "docs/adr/0023-one-authority-table.md"],
)
def test_the_documents_print_the_table_the_code_decides_by(document: str) -> None:
    # Regenerate with: python -c "from domain.authority import markdown_table as t; print(t())"
    assert printed_table(ROOT / document) == markdown_table()
