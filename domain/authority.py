"""Authority: one table of who may run which command on whose goals, and `may` deciding by it.

The table is the whole authorisation model (ADR 23). Each row is a command, a role and
the relation between the caller's grant and the owner of the goal the command changes
(or creates); the row says whether that is allowed. A grant with several roles may do
what any one of them may. Nothing here knows HTTP: the API asks `may` today, and the
commands can ask it themselves once each loads what it changes.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from domain.access import Role


class Command(StrEnum):
    """Everything a grant may be allowed to do, in the order the table lists them."""

    OPEN_CYCLE = "open_cycle"
    CLOSE_CYCLE = "close_cycle"
    CREATE_OBJECTIVE = "create_objective"
    ALIGN_OBJECTIVE = "align_objective"
    RETIRE_OBJECTIVE = "retire_objective"
    CREATE_KEY_RESULT = "create_key_result"
    RECORD_CHECK_IN = "record_check_in"
    CORRECT_CHECK_IN = "correct_check_in"
    REBASELINE_KEY_RESULT = "rebaseline_key_result"
    REWEIGHT_KEY_RESULT = "reweight_key_result"
    RETIRE_KEY_RESULT = "retire_key_result"
    GRADUATE_KEY_RESULT = "graduate_key_result"
    ADD_KPI_KEY_RESULT = "add_kpi_key_result"
    CARRY_FORWARD_KEY_RESULT = "carry_forward_key_result"
    SELF_ASSESS = "self_assess"
    DEFINE_KPI = "define_kpi"
    RECORD_KPI_READING = "record_kpi_reading"
    CORRECT_KPI_READING = "correct_kpi_reading"
    CHANGE_KPI_TARGET = "change_kpi_target"
    RETIRE_KPI = "retire_kpi"
    TRANSFER_GOAL = "transfer_goal"
    MANAGE_CONTRIBUTORS = "manage_contributors"
    OPEN_REVIEW_CYCLE = "open_review_cycle"
    ASSIGN_REVIEWER = "assign_reviewer"
    READ_GOALS = "read_goals"
    READ_CHANGE_REPORT = "read_change_report"
    VERIFY_SEAL = "verify_seal"
    READ_EVIDENCE = "read_evidence"
    READ_CALIBRATION = "read_calibration"
    READ_EVIDENCE_READS = "read_evidence_reads"
    FOLLOW_EVENTS = "follow_events"
    MANAGE_WEBHOOKS = "manage_webhooks"
    MANAGE_PEOPLE = "manage_people"
    ERASE_PERSON = "erase_person"
    READ_PEOPLE = "read_people"


class Relation(StrEnum):
    """How the owner of the goal a command changes stands to the caller's grant."""

    OWN = "own"  # the owner is the grant's subject
    TEAM = "team"  # the owner is the team the grant names, or one its subject is in today
    REPORT = "report"  # the owner is one of the reports the grant names
    OTHER = "other"  # anyone else
    UNSCOPED = "unscoped"  # the command changes no one owner's goal


GOAL_RELATIONS = (Relation.OWN, Relation.TEAM, Relation.REPORT, Relation.OTHER)


@dataclass(frozen=True)
class Rule:
    """One row of the table."""

    command: Command
    role: Role
    relation: Relation
    allowed: bool


# What each command is, as the README's table describes it.
DESCRIPTIONS: dict[Command, str] = {
    Command.OPEN_CYCLE: "open a cycle",
    Command.CLOSE_CYCLE: "close a cycle",
    Command.CREATE_OBJECTIVE: "create an objective (the owner given)",
    Command.ALIGN_OBJECTIVE: "align an objective to a parent (the objective's owner)",
    Command.RETIRE_OBJECTIVE: "retire an objective",
    Command.CREATE_KEY_RESULT: "add a key result (the objective's owner and the one given)",
    Command.RECORD_CHECK_IN: "check in on a key result",
    Command.CORRECT_CHECK_IN: "correct a check-in",
    Command.REBASELINE_KEY_RESULT: "re-baseline a key result",
    Command.REWEIGHT_KEY_RESULT: "re-weight a key result (its owner and its objective's)",
    Command.RETIRE_KEY_RESULT: "retire a key result",
    Command.GRADUATE_KEY_RESULT: "graduate a key result to a KPI (the KPI is its owner's)",
    Command.ADD_KPI_KEY_RESULT: (
        "add a key result measured by a KPI (the objective's owner and the one given)"
    ),
    Command.CARRY_FORWARD_KEY_RESULT: (
        "carry a key result forward to a later cycle (its owner and the objective's there)"
    ),
    Command.SELF_ASSESS: "self-assess a key result or objective (its grade and reflection)",
    Command.DEFINE_KPI: "define a KPI (the owner given)",
    Command.RECORD_KPI_READING: "record a KPI reading",
    Command.CORRECT_KPI_READING: "correct a KPI reading",
    Command.CHANGE_KPI_TARGET: "change a KPI's target",
    Command.RETIRE_KPI: "retire a KPI",
    Command.TRANSFER_GOAL: "transfer a goal to another owner (its owner and the new one)",
    Command.MANAGE_CONTRIBUTORS: "add or remove a key result's contributors",
    Command.OPEN_REVIEW_CYCLE: "open a review cycle",
    Command.ASSIGN_REVIEWER: "assign a reviewer to a reviewee in a review cycle",
    Command.READ_GOALS: "read goals, their history, scores, KPI health",
    Command.READ_CHANGE_REPORT: "read a cycle's change report",
    Command.VERIFY_SEAL: "verify the seal",
    Command.READ_EVIDENCE: "read a person's appraisal evidence (a reviewer: its reviewees')",
    Command.READ_CALIBRATION: "read owners' calibration over closed cycles",
    Command.READ_EVIDENCE_READS: "read who read whose appraisal evidence, when",
    Command.FOLLOW_EVENTS: "follow the event feed and stream",
    Command.MANAGE_WEBHOOKS: "subscribe and manage its own webhooks",
    Command.MANAGE_PEOPLE: "record people, teams, memberships, managers, departures, names",
    Command.ERASE_PERSON: "erase a person's personal data (name, e-mail)",
    Command.READ_PEOPLE: "read people (names, teams, manager) and teams' members",
}

_ANY_GOAL = frozenset(GOAL_RELATIONS)
_UNSCOPED = frozenset({Relation.UNSCOPED})
_NOTHING: frozenset[Relation] = frozenset()

# A goal is written by its owner, by a member of the team that owns it when the token
# names that team, by the owner's manager when the token lists the owner as a report,
# and by an admin. Reading roles write nothing, not even their own goals.
_GOAL_WRITE: dict[Role, frozenset[Relation]] = {
    Role.MEMBER: frozenset({Relation.OWN, Relation.TEAM}),
    Role.MANAGER: frozenset({Relation.OWN, Relation.TEAM, Relation.REPORT}),
    Role.ADMIN: _ANY_GOAL,
}


def _unscoped(*roles: Role) -> dict[Role, frozenset[Relation]]:
    return {role: _UNSCOPED for role in (*roles, Role.ADMIN)}


# Per command, per role, the relations under which it is allowed; every other
# (command, role, relation) of the command's kind is refused.
_ALLOWED: dict[Command, dict[Role, frozenset[Relation]]] = {
    # A cycle is the company's calendar: its dates bound every owner's check-ins and
    # neither they nor a close can be undone, so both are the admin's.
    Command.OPEN_CYCLE: _unscoped(),
    Command.CLOSE_CYCLE: _unscoped(),
    Command.CREATE_OBJECTIVE: _GOAL_WRITE,
    Command.ALIGN_OBJECTIVE: _GOAL_WRITE,
    Command.RETIRE_OBJECTIVE: _GOAL_WRITE,
    Command.CREATE_KEY_RESULT: _GOAL_WRITE,
    Command.RECORD_CHECK_IN: _GOAL_WRITE,
    Command.CORRECT_CHECK_IN: _GOAL_WRITE,
    Command.REBASELINE_KEY_RESULT: _GOAL_WRITE,
    Command.REWEIGHT_KEY_RESULT: _GOAL_WRITE,
    Command.RETIRE_KEY_RESULT: _GOAL_WRITE,
    Command.GRADUATE_KEY_RESULT: _GOAL_WRITE,
    # Reads the KPI, which anyone may; writes the key result into the objective.
    Command.ADD_KPI_KEY_RESULT: _GOAL_WRITE,
    Command.CARRY_FORWARD_KEY_RESULT: _GOAL_WRITE,
    # The owner's own view of the goal, as the owner writes its check-ins (ADR 34):
    # reviewers and auditors read it beside the score, they do not write it.
    Command.SELF_ASSESS: _GOAL_WRITE,
    Command.DEFINE_KPI: _GOAL_WRITE,
    Command.RECORD_KPI_READING: _GOAL_WRITE,
    Command.CORRECT_KPI_READING: _GOAL_WRITE,
    Command.CHANGE_KPI_TARGET: _GOAL_WRITE,
    Command.RETIRE_KPI: _GOAL_WRITE,
    # Giving a goal away needs the right on its owner and on the one who takes it (ADR 42).
    Command.TRANSFER_GOAL: _GOAL_WRITE,
    Command.MANAGE_CONTRIBUTORS: _GOAL_WRITE,
    # Who reviews whom is the company's, as the cycles' calendar is.
    Command.OPEN_REVIEW_CYCLE: _unscoped(),
    Command.ASSIGN_REVIEWER: _unscoped(),
    Command.READ_GOALS: _unscoped(*Role),
    Command.READ_CHANGE_REPORT: _unscoped(Role.AUDITOR),
    Command.VERIFY_SEAL: _unscoped(Role.AUDITOR),
    # A reviewer's row is further scoped to its assigned reviewees and their review
    # cycle's period (domain/review_cycle.py, ADR 42); the admin's is not.
    Command.READ_EVIDENCE: _unscoped(Role.REVIEWER),
    # Judging how owners set their bars is the auditor's and the reviewer's (ADR 33).
    Command.READ_CALIBRATION: _unscoped(Role.AUDITOR, Role.REVIEWER),
    # Reading evidence is recorded for the auditors to see (ADR 42).
    Command.READ_EVIDENCE_READS: _unscoped(Role.AUDITOR),
    Command.FOLLOW_EVENTS: _unscoped(Role.SERVICE),
    Command.MANAGE_WEBHOOKS: _unscoped(Role.SERVICE),
    # HR facts come from HR (the admin, or an operator's import): a manager's token does
    # not make its holder the one who says who reports to whom (ADR 40).
    Command.MANAGE_PEOPLE: _unscoped(),
    Command.ERASE_PERSON: _unscoped(),
    # Names are personal data: the people who work with goals read them, services do not.
    Command.READ_PEOPLE: _unscoped(Role.MEMBER, Role.MANAGER, Role.REVIEWER, Role.AUDITOR),
}

# The commands that change (or create) goals: their rows range over the owner's relation.
GOAL_SCOPED = frozenset(
    {
        Command.CREATE_OBJECTIVE,
        Command.ALIGN_OBJECTIVE,
        Command.RETIRE_OBJECTIVE,
        Command.CREATE_KEY_RESULT,
        Command.RECORD_CHECK_IN,
        Command.CORRECT_CHECK_IN,
        Command.REBASELINE_KEY_RESULT,
        Command.REWEIGHT_KEY_RESULT,
        Command.RETIRE_KEY_RESULT,
        Command.GRADUATE_KEY_RESULT,
        Command.ADD_KPI_KEY_RESULT,
        Command.CARRY_FORWARD_KEY_RESULT,
        Command.SELF_ASSESS,
        Command.DEFINE_KPI,
        Command.RECORD_KPI_READING,
        Command.CORRECT_KPI_READING,
        Command.CHANGE_KPI_TARGET,
        Command.RETIRE_KPI,
        Command.TRANSFER_GOAL,
        Command.MANAGE_CONTRIBUTORS,
    }
)


def relations_for(command: Command) -> tuple[Relation, ...]:
    """The relations a command's rows range over."""
    return GOAL_RELATIONS if command in GOAL_SCOPED else (Relation.UNSCOPED,)


AUTHORITY: tuple[Rule, ...] = tuple(
    Rule(command, role, relation, relation in _ALLOWED[command].get(role, _NOTHING))
    for command in Command
    for role in Role
    for relation in relations_for(command)
)

_DECISIONS = {(rule.command, rule.role, rule.relation): rule.allowed for rule in AUTHORITY}


class Grantee(Protocol):
    """What the table reads of a grant: who it speaks for, its roles, team and reports."""

    @property
    def subject(self) -> str: ...

    @property
    def roles(self) -> frozenset[Role]: ...

    @property
    def team(self) -> str | None: ...

    @property
    def reports(self) -> frozenset[str]: ...

    @property
    def member_of(self) -> Container[str]: ...


def relation(grant: Grantee, owner: str) -> frozenset[Relation]:
    """Every relation the owner stands in to the grant (OTHER when none holds)."""
    found = set()
    if owner == grant.subject:
        found.add(Relation.OWN)
    if (grant.team is not None and owner == grant.team) or owner in grant.member_of:
        found.add(Relation.TEAM)
    if owner in grant.reports:
        found.add(Relation.REPORT)
    return frozenset(found) if found else frozenset({Relation.OTHER})


def may(grant: Grantee, command: Command, *owners: str) -> bool:
    """Whether the table lets this grant run the command on goals of all these owners.

    A goal-scoped command names the owner of each goal it changes or creates (adding a
    key result: the objective's and the new key result's); it is allowed only if allowed
    on every one. An unscoped command names none.
    """
    if command in GOAL_SCOPED:
        if not owners:
            raise TypeError(f"{command} changes a goal: name the owner of each goal it changes")
        return all(_allowed(grant, command, relation(grant, owner)) for owner in owners)
    if owners:
        raise TypeError(f"{command} is not goal-scoped: it takes no owner")
    return _allowed(grant, command, _UNSCOPED)


def roles_allowed(command: Command) -> tuple[Role, ...]:
    """The roles with at least one row allowing the command."""
    return tuple(role for role in Role if any(_ALLOWED[command].get(role, _NOTHING)))


def _allowed(grant: Grantee, command: Command, relations: Iterable[Relation]) -> bool:
    return any(_DECISIONS[(command, role, rel)] for role in grant.roles for rel in relations)


def _cell(command: Command, role: Role) -> str:
    allowed = [r for r in relations_for(command) if _DECISIONS[(command, role, r)]]
    if command not in GOAL_SCOPED:
        return "yes" if allowed else "no"
    if tuple(allowed) == GOAL_RELATIONS:
        return "any"
    return ", ".join(allowed) if allowed else "no"


def markdown_table() -> str:
    """The table as the README and ADR 23 print it: one line per command, one column per role.

    A goal-scoped command's cell lists the relations under which the role may run it
    (`any`: own, team, report and other); an unscoped one's says yes or no.
    """
    header = ["command", *(role.value for role in Role)]
    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
    ]
    for command in Command:
        cells = [f"`{command.value}`: {DESCRIPTIONS[command]}"]
        cells += [_cell(command, role) for role in Role]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
