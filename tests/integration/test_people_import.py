"""The people import on both stores: only changes recorded, a re-run records nothing, a bad
row stores nothing (no event, no key), and an erased person's name is never taken again."""

from __future__ import annotations

from datetime import date

import pytest

from application.ledger import GoalLedger
from application.people_import import PeopleImportError, PersonRow, import_people
from domain.people import Person, pseudonym

JULY, MID_AUGUST = date(2026, 7, 1), date(2026, 8, 15)
FIRST = [
    PersonRow("head-of-eng", "Eng Lead", "lead@example.com", "eng-team", None, JULY),
    PersonRow("eng-1", "Dev One", None, "eng-team", "head-of-eng", JULY),
]


def head(ledger: GoalLedger) -> int:
    return ledger.recorder.max_notification_id() or 0


def test_an_export_then_the_next_records_only_what_changed(ledger: GoalLedger) -> None:
    # The first export registers both, forms the team, and sets the manager.
    report = import_people(ledger, actor="hr-ops", rows=FIRST)
    assert (report.registered, report.teams_formed, report.joined, report.manager_changes) == (
        2,
        1,
        2,
        1,
    )
    assert ledger.members_of("eng-team", JULY) == ["eng-1", "head-of-eng"]

    # The same export again records nothing.
    before = head(ledger)
    again = import_people(ledger, actor="hr-ops", rows=FIRST)
    assert (again.events, again.unchanged_rows) == (0, 2)
    assert head(ledger) == before

    # The next export: eng-1 moves to product mid-quarter, reports to no one, is renamed.
    moved = PersonRow("eng-1", "Dev Renamed", None, "product-team", None, MID_AUGUST)
    report = import_people(ledger, actor="hr-ops", rows=[*FIRST, moved])
    assert (report.left, report.joined, report.manager_changes, report.details_changed) == (
        1,
        1,
        1,
        1,
    )
    assert ledger.teams_of("eng-1", date(2026, 8, 14)) == ["eng-team"]
    assert ledger.teams_of("eng-1", MID_AUGUST) == ["product-team"]
    assert ledger.manager_of("eng-1", MID_AUGUST) is None
    assert ledger.reports_of("head-of-eng", date(2026, 8, 14)) == ["eng-1"]
    assert ledger.reports_of("head-of-eng", MID_AUGUST) == []
    assert ledger.display_name("eng-1", JULY) == "Dev One"
    assert ledger.display_name("eng-1", MID_AUGUST) == "Dev Renamed"


def test_a_bad_row_stores_nothing_not_even_a_key(ledger: GoalLedger) -> None:
    rows = [
        *FIRST,
        PersonRow("eng-2", "Dev Two", None, "eng-team", "nobody", JULY),
    ]
    with pytest.raises(PeopleImportError) as refused:
        import_people(ledger, actor="hr-ops", rows=rows)
    assert refused.value.index == 2
    assert refused.value.field == "manager_id"
    assert head(ledger) == 0
    # No key was made for the people the refused file named.
    assert ledger.personal_keys.opener(Person.create_id("eng-1")).erased


def test_an_erased_persons_name_is_never_taken_again(ledger: GoalLedger) -> None:
    import_people(ledger, actor="hr-ops", rows=FIRST)
    ledger.erase_person(actor="hr-admin", person_id="eng-1")
    renamed = PersonRow("eng-1", "Dev Again", None, "eng-team", "head-of-eng", MID_AUGUST)
    report = import_people(ledger, actor="hr-ops", rows=[*FIRST, renamed])
    assert (report.erased_withheld, report.details_changed, report.events) == (2, 0, 0)
    assert ledger.display_name("eng-1", MID_AUGUST) == pseudonym("eng-1")


def test_a_teams_members_are_named_as_known_at_the_time_asked(ledger: GoalLedger) -> None:
    import_people(ledger, actor="hr-ops", rows=FIRST)
    known_before = ledger.get_team("eng-team").modified_on
    # A rename recorded later, backdated to the day eng-1 joined.
    ledger.change_person_details(
        actor="hr-admin", person_id="eng-1", display_name="Dev Fixed", email=None, effective_on=JULY
    )
    then = ledger.team_view("eng-team", as_of=JULY, known_at=known_before)
    now = ledger.team_view("eng-team", as_of=JULY)
    assert {m.id: m.display_name for m in then.members}["eng-1"] == "Dev One"
    assert {m.id: m.display_name for m in now.members}["eng-1"] == "Dev Fixed"
