"""People and teams: the facts' rules, and what a person's timeline says on a day."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest

from domain.errors import ConflictError, InvalidInputError
from domain.people import Person, PersonErasedError, Team, pseudonym


class Reversed:
    """Seals by reversing the text: enough to see the domain seals, and what it seals."""

    def __init__(self) -> None:
        self.sealed: list[tuple[UUID, str]] = []

    def seal(self, person_id: UUID, text: str) -> str:
        self.sealed.append((person_id, text))
        return text[::-1]


def person(person_id: str = "eng-1", on: date = date(2026, 7, 1)) -> Person:
    return Person.register(
        actor="hr-admin",
        person_id=person_id,
        display_name="  Dev One ",
        email="dev-one@example.com",
        effective_on=on,
        sealer=Reversed(),
    )


def test_registration_seals_the_name_and_email_and_keeps_only_what_was_sealed() -> None:
    sealer = Reversed()
    registered = Person.register(
        actor="hr-admin",
        person_id="eng-1",
        display_name="  Dev One ",
        email="dev-one@example.com",
        effective_on=date(2026, 7, 1),
        sealer=sealer,
    )
    # The plain text (trimmed) went to the sealer, under the person's own id.
    assert sealer.sealed == [
        (registered.id, "Dev One"),
        (registered.id, "dev-one@example.com"),
    ]
    # The event holds the sealed text alone.
    event = registered.pending_events[0]
    assert isinstance(event, Person.Registered)
    assert (event.sealed_name, event.sealed_email) == ("enO veD", "moc.elpmaxe@eno-ved")
    assert "Dev One" not in repr(vars(event))


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("id", {"person_id": "not a slug"}),
        ("display_name", {"display_name": "   "}),
        ("display_name", {"display_name": "x" * 121}),
        ("email", {"email": "no-at-sign"}),
        ("effective_on", {"effective_on": date(1969, 12, 31)}),
    ],
)
def test_registration_refuses_bad_input_naming_the_field(
    field: str, overrides: dict[str, object]
) -> None:
    sealer = Reversed()
    arguments: dict[str, object] = {
        "actor": "hr-admin",
        "person_id": "eng-1",
        "display_name": "Dev One",
        "email": None,
        "effective_on": date(2026, 7, 1),
        "sealer": sealer,
        **overrides,
    }
    with pytest.raises(InvalidInputError) as refused:
        Person.register(**arguments)  # type: ignore[arg-type]
    assert refused.value.field == field
    # Nothing was sealed for a refused registration.
    assert sealer.sealed == []


def test_a_move_mid_quarter_is_a_leave_and_a_join_on_the_same_day() -> None:
    dev = person()
    dev.join_team(actor="hr-admin", team_id="eng-team", effective_on=date(2026, 7, 1))
    dev.leave_team(actor="hr-admin", team_id="eng-team", effective_on=date(2026, 8, 15))
    dev.join_team(actor="hr-admin", team_id="product-team", effective_on=date(2026, 8, 15))

    assert dev.teams_on(date(2026, 6, 30)) == []
    assert dev.teams_on(date(2026, 8, 14)) == ["eng-team"]
    # The day of the move belongs to the new team alone.
    assert dev.teams_on(date(2026, 8, 15)) == ["product-team"]


def test_membership_rules() -> None:
    dev = person()
    dev.join_team(actor="hr-admin", team_id="eng-team", effective_on=date(2026, 7, 1))
    # Joining a team twice, leaving one never joined, leaving before joining.
    with pytest.raises(ConflictError):
        dev.join_team(actor="hr-admin", team_id="eng-team", effective_on=date(2026, 7, 2))
    with pytest.raises(ConflictError):
        dev.leave_team(actor="hr-admin", team_id="product-team", effective_on=date(2026, 7, 2))
    with pytest.raises(InvalidInputError):
        dev.leave_team(actor="hr-admin", team_id="eng-team", effective_on=date(2026, 6, 30))
    # Nor before the person was registered.
    with pytest.raises(InvalidInputError) as early:
        dev.join_team(actor="hr-admin", team_id="ops-team", effective_on=date(2026, 6, 1))
    assert early.value.field == "effective_on"


def test_managers_over_time_and_their_rules() -> None:
    dev = person()
    dev.change_manager(actor="hr-admin", manager_id="head-of-eng", effective_on=date(2026, 7, 1))
    dev.change_manager(actor="hr-admin", manager_id="cto", effective_on=date(2026, 9, 1))
    assert dev.manager_on(date(2026, 8, 31)) == "head-of-eng"
    assert dev.manager_on(date(2026, 9, 1)) == "cto"
    with pytest.raises(InvalidInputError) as own:
        dev.change_manager(actor="hr-admin", manager_id="eng-1", effective_on=date(2026, 9, 2))
    assert own.value.field == "manager_id"
    with pytest.raises(ConflictError):
        dev.change_manager(actor="hr-admin", manager_id="cto", effective_on=date(2026, 9, 2))
    with pytest.raises(InvalidInputError):
        dev.change_manager(actor="hr-admin", manager_id="ceo", effective_on=date(2026, 8, 1))


def test_after_a_departure_no_team_no_manager_and_no_later_facts() -> None:
    dev = person()
    dev.join_team(actor="hr-admin", team_id="eng-team", effective_on=date(2026, 7, 1))
    dev.change_manager(actor="hr-admin", manager_id="head-of-eng", effective_on=date(2026, 7, 1))
    dev.depart(actor="hr-admin", effective_on=date(2026, 9, 1))

    assert dev.teams_on(date(2026, 8, 31)) == ["eng-team"]
    assert dev.teams_on(date(2026, 9, 1)) == []
    assert dev.manager_on(date(2026, 9, 1)) is None
    with pytest.raises(ConflictError):
        dev.join_team(actor="hr-admin", team_id="ops-team", effective_on=date(2026, 9, 2))
    # Nor a join backdated before the departure: nothing would end it.
    with pytest.raises(ConflictError):
        dev.join_team(actor="hr-admin", team_id="ops-team", effective_on=date(2026, 8, 1))
    with pytest.raises(ConflictError):
        dev.depart(actor="hr-admin", effective_on=date(2026, 9, 3))


def test_names_change_from_a_day_and_erasure_ends_them() -> None:
    dev = person()
    dev.change_details(
        actor="hr-admin",
        display_name="Dev Two",
        email=None,
        effective_on=date(2026, 8, 1),
        sealer=Reversed(),
    )
    assert dev.details_on(date(2026, 7, 31)).name == "enO veD"
    assert dev.details_on(date(2026, 8, 1)).name == "owT veD"

    dev.erase(actor="hr-admin")
    erased = dev.pending_events[-1]
    assert isinstance(erased, Person.Erased)
    # The erasure records who and when, nothing of the person.
    envelope = {"originator_id", "originator_version", "timestamp", "originator_topic"}
    assert set(vars(erased)) - envelope == {"actor"}
    with pytest.raises(PersonErasedError):
        dev.change_details(
            actor="hr-admin",
            display_name="Dev Three",
            email=None,
            effective_on=date(2026, 9, 1),
            sealer=Reversed(),
        )
    with pytest.raises(PersonErasedError):
        dev.erase(actor="hr-admin")


def test_a_team_lists_its_members_on_a_day() -> None:
    team = Team.form(actor="hr-admin", team_id="eng-team", name="Engineering")
    team.record_join(actor="hr-admin", person_id="eng-1", effective_on=date(2026, 7, 1))
    team.record_join(actor="hr-admin", person_id="eng-2", effective_on=date(2026, 8, 1))
    team.record_leave(actor="hr-admin", person_id="eng-1", effective_on=date(2026, 8, 15))
    assert team.members_on(date(2026, 7, 15)) == ["eng-1"]
    assert team.members_on(date(2026, 8, 1)) == ["eng-1", "eng-2"]
    assert team.members_on(date(2026, 8, 15)) == ["eng-2"]
    with pytest.raises(InvalidInputError):
        Team.form(actor="hr-admin", team_id="eng team", name="Engineering")


def test_the_pseudonym_is_stable_and_says_nothing_of_the_name() -> None:
    assert pseudonym("eng-1") == pseudonym("eng-1")
    assert pseudonym("eng-1") != pseudonym("eng-2")
    assert pseudonym("eng-1").startswith("person-")
    assert len(pseudonym("eng-1")) == len("person-") + 8
