"""The demo's people (ADR 40): roles with their titles for names, two teams, reporting
lines, and one move between teams in the middle of the previous quarter.

Display names are job titles: the demo names roles, never people; e-mail addresses are on
example.com. Everyone is registered six months before the previous quarter began.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from cli.demo_calendar import DemoCalendar, moment, month_start
from cli.demo_story import Story

# (person id, display name, team or None, manager or None), managers before their reports.
PEOPLE = (
    ("ceo", "Chief Executive Officer", None, None),
    ("cto", "Chief Technology Officer", None, "ceo"),
    ("cro", "Chief Revenue Officer", None, "ceo"),
    ("head-of-people", "Head of People", None, "ceo"),
    ("head-of-product", "Head of Product", "team-product", "ceo"),
    ("vp-cs", "VP of Customer Success", None, "ceo"),
    ("head-of-cs", "Head of Customer Success", "team-cs", "vp-cs"),
    ("head-of-sales", "Head of Sales", None, "cro"),
    ("vp-sales", "VP of Sales", None, "cro"),
    ("cs-analyst", "Customer Success Analyst", "team-cs", "head-of-cs"),
)
TEAMS = (("team-cs", "Customer Success"), ("team-product", "Product"))
# In week 7 of the previous quarter the analyst moves to Product, to work on in-app
# onboarding, and reports to its head from then on.
MOVER = "cs-analyst"
MOVED_FROM, MOVED_TO, NEW_MANAGER = "team-cs", "team-product", "head-of-product"
MOVE_WEEK = 7
HR = "head-of-people"


def people(story: Story, calendar: DemoCalendar) -> None:
    ledger = story.ledger
    since = month_start(calendar.previous.starts_on, 6)
    steps: list[Callable[[], object]] = []
    for team, name in TEAMS:
        steps.append(partial(ledger.form_team, actor=HR, team_id=team, name=name))
    for person, title, team_of, manager in PEOPLE:
        steps.append(
            partial(
                ledger.register_person,
                actor=HR,
                person_id=person,
                display_name=title,
                email=f"{person}@example.com",
                effective_on=since,
            )
        )
        if team_of is not None:
            steps.append(
                partial(
                    ledger.change_membership,
                    actor=HR,
                    person_id=person,
                    team_id=team_of,
                    joins=True,
                    effective_on=since,
                )
            )
        if manager is not None:
            steps.append(
                partial(
                    ledger.change_manager,
                    actor=HR,
                    person_id=person,
                    manager_id=manager,
                    effective_on=since,
                )
            )
    for number, step in enumerate(steps):
        story.at(moment(since, 8, number), step)
    moved_on = calendar.previous.week(MOVE_WEEK)
    story.at(
        moment(moved_on, 9),
        lambda: ledger.change_membership(
            actor=HR, person_id=MOVER, team_id=MOVED_FROM, joins=False, effective_on=moved_on
        ),
    )
    story.at(
        moment(moved_on, 9, 1),
        lambda: ledger.change_membership(
            actor=HR, person_id=MOVER, team_id=MOVED_TO, joins=True, effective_on=moved_on
        ),
    )
    story.at(
        moment(moved_on, 9, 2),
        lambda: ledger.change_manager(
            actor=HR, person_id=MOVER, manager_id=NEW_MANAGER, effective_on=moved_on
        ),
    )
