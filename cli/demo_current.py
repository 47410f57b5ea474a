"""The demo's current quarter and pilot, as data: what carries on, what is new, what lapses.

Churn's key result is carried forward from the previous quarter; support's first-response
time, an OKR candidate all last quarter, gets a key result measured by its KPI's readings;
enterprise deals are checked in weekly up to today. The pilot cycle's key result had one
check-in at its start and none since: it goes stale, and the pilot ends within a week.
"""

from __future__ import annotations

from cli.demo_quarter import OFF, ON, RISK, KeyResultSpec, ObjectiveSpec, Week
from domain.values import Direction, ObjectiveKind

CARRY_REASON = (
    "Churn ended the quarter at 2.4% against 2.0%: the save playbook works but the "
    "September cohort came too late. Carried into this quarter, from where it ended."
)

# Weekly check-ins on the carried churn key result, used as far as today allows.
CARRIED_CHURN_WEEKS: tuple[Week, ...] = (
    ("2.4", ON, "Carried in at 2.4%; the health-score alerts now run on every account."),
    ("2.4", ON, "Executive sponsors assigned to the twenty largest renewals."),
    ("2.3", ON, "Two at-risk renewals saved by the usage-drop alert."),
    ("2.3", ON, "Flat; the legacy-plan migration starts next week."),
    ("2.2", ON, "Legacy-plan accounts migrating; none churned at migration."),
    ("2.2", ON, "Mid-quarter review: on pace for 2.0%."),
    ("2.2", RISK, "One mid-size downgrade at renewal; watching the next cohort."),
    ("2.1", ON, "Downgrade offset by two expansions."),
    ("2.1", ON, "Holiday renewals mostly early; good signs."),
    ("2.1", ON, "Holding."),
    ("2.0", ON, "At target for the first time."),
    ("2.0", ON, "Holding at target."),
    ("2.0", ON, "Quarter ends at target."),
)


ENTERPRISE = ObjectiveSpec(
    handle="logos-objective",
    title="Win our first enterprise logos",
    owner="cro",
    kind=ObjectiveKind.ASPIRATIONAL,
    parent=None,
    key_results=(
        KeyResultSpec(
            handle="logos",
            title="Enterprise logos signed",
            owner="cro",
            unit="logos",
            direction=Direction.INCREASE,
            baseline="0",
            target="3",
            source="CRM",
            query="closed-won opportunities over 500 seats, signed this quarter",
            weeks=(
                ("0", ON, "Four enterprise trials running; security review packs ready."),
                ("0", ON, "SOC 2 report shared with all four prospects."),
                ("0", RISK, "One prospect paused its evaluation until next year."),
                ("1", ON, "First logo signed: 800 seats."),
                ("1", ON, "Two prospects in procurement."),
                ("1", ON, "Procurement questions answered; legal redlines back."),
                ("1", RISK, "Second prospect asked for an on-premise option we do not have."),
                ("2", ON, "Second logo signed."),
                ("2", ON, "Third prospect in final negotiation."),
                ("2", ON, "Holiday freeze at the prospect; signature expected in January."),
                ("2", OFF, "Third logo slips to next quarter."),
                ("2", OFF, "Holding at two."),
                ("2", OFF, "Quarter ends at two of three."),
            ),
        ),
    ),
)

SUPPORT = ObjectiveSpec(
    handle="support",
    title="Answer customers within the hour",
    owner="head-of-cs",
    kind=ObjectiveKind.COMMITTED,
    parent=None,
    key_results=(),
)
SUPPORT_KPI = "First-response time"
SUPPORT_KEY_RESULT_TITLE = "First-response time at 1.5 hours or less"
SUPPORT_TARGET = "1.5"

PILOT = ObjectiveSpec(
    handle="pilot",
    title="Prove usage-drop alerts with design partners",
    owner="team-cs",
    kind=ObjectiveKind.ASPIRATIONAL,
    parent=None,
    key_results=(
        KeyResultSpec(
            handle="partners",
            title="Design partners acting on usage-drop alerts weekly",
            owner="team-cs",
            unit="partners",
            direction=Direction.INCREASE,
            baseline="0",
            target="3",
            source="alert log",
            query="design partners with an alert acknowledged in each of the last four weeks",
            # One check-in at the start, then none: the key result goes stale.
            weeks=(("1", ON, "First design partner live; two more in onboarding."),),
        ),
    ),
)

SELF_ASSESSMENTS = (
    # (objective or key result handle, actor, grade, reflection)
    (
        "churn",
        "head-of-cs",
        "0.6",
        "The save playbook worked, but we started it a month late; 2.4% is honest.",
    ),
    (
        "leaky-bucket",
        "ceo",
        "0.7",
        "The bucket leaks less; onboarding graduated, churn carries on into this quarter.",
    ),
)
