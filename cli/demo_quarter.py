"""The demo's previous quarter: the worked quarter of a 60-person SaaS company, as data.

It follows the worked quarter of the OKR/KPI guide the product is built from: churn has
crept up, support is drowning and the company wants to move upmarket. Week 3 Customer
Success flags health-score coverage red; at the mid-quarter review the coverage target is
re-set; week 8 churn turns amber while onboarding and coverage stay green; the quarter
ends with "Stop the leaky bucket" near 0.7 (churn at 2.4%) and "Earn the right to sell
upmarket" near 0.8 (4 of 5 enterprise deals), and onboarding graduates into a KPI.

Owners and actors are roles and teams, never people.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.values import Confidence, Direction, ObjectiveKind, ReasonCode

# Dates are weeks of the quarter (check-ins happen on its first thirteen Fridays) and are
# placed on the calendar when the demo loads (cli/demo_calendar.py).

ON = Confidence.ON_TRACK
RISK = Confidence.AT_RISK
OFF = Confidence.OFF_TRACK

Week = tuple[str, Confidence, str]


@dataclass(frozen=True)
class KeyResultSpec:
    handle: str
    title: str
    owner: str
    unit: str
    direction: Direction
    baseline: str
    target: str
    source: str
    query: str
    weeks: tuple[Week, ...]


@dataclass(frozen=True)
class ObjectiveSpec:
    handle: str
    title: str
    owner: str
    kind: ObjectiveKind
    parent: str | None
    key_results: tuple[KeyResultSpec, ...]


@dataclass(frozen=True)
class CheckInCorrection:
    key_result: str
    week: int
    recorded_after_week: int
    actor: str
    value: str
    reason: str
    reason_code: ReasonCode = ReasonCode.DATA_ERROR


@dataclass(frozen=True)
class Rebaseline:
    key_result: str
    before_week: int
    actor: str
    baseline: str
    target: str
    effective_week: int
    reason: str
    reason_code: ReasonCode


@dataclass(frozen=True)
class KeyResultGraduation:
    """On the quarter's last day the key result becomes a KPI to watch (ADR 36)."""

    key_result: str
    actor: str
    reason: str
    area: str
    name: str
    formula: str
    data_source: str
    target: str


CHURN = KeyResultSpec(
    handle="churn",
    title="Gross revenue churn (monthly)",
    owner="head-of-cs",
    unit="% of MRR",
    direction=Direction.DECREASE,
    baseline="3.1",
    target="2.0",
    source="billing",
    query="(churned + contraction MRR) / opening MRR over the trailing 30 days",
    weeks=(
        ("3.1", ON, "Baseline confirmed with finance; pulling at-risk renewals for save calls."),
        ("3.0", ON, "Save calls started on the twelve largest at-risk renewals."),
        ("2.9", ON, "Two renewals saved; adding an executive sponsor to the next three."),
        ("2.9", ON, "Flat week; reviewing cancellation reasons with product."),
        # Recorded as 2.6 and corrected to 2.8 a week later (see CHURN_CORRECTION).
        ("2.6", ON, "Big drop; double-check against the billing export before we celebrate."),
        ("2.7", ON, "Last week's figure corrected to 2.8; the trend is still down."),
        ("2.6", ON, "Mid-quarter review: keep the save calls, add a usage-drop alert."),
        (
            "2.6",
            RISK,
            "Two mid-size accounts downgraded at renewal: amber. Onboarding and coverage "
            "are green, so we hold course.",
        ),
        ("2.6", RISK, "No new downgrades; the save playbook now runs off the health score."),
        ("2.5", RISK, "Health-score alerts caught three at-risk accounts early."),
        ("2.5", RISK, "Holding; September has the largest renewal cohort of the quarter."),
        ("2.4", RISK, "September cohort mostly renewed; 2.0% will not land this quarter."),
        ("2.4", RISK, "Ends at 2.4% and trending down; carry the KR into Q4."),
    ),
)

ONBOARDING = KeyResultSpec(
    handle="onboarding",
    title="Onboarding time-to-first-value",
    owner="head-of-product",
    unit="days (median)",
    direction=Direction.DECREASE,
    baseline="14",
    target="5",
    source="product analytics",
    query="median days from signup to first shared report, signups of the trailing 30 days",
    weeks=(
        ("14", ON, "Guided-setup designs in review; instrumenting the first-value event."),
        ("13", ON, "First-value event live in analytics; baseline holds at 14 days."),
        ("12", ON, "Sample-data workspace shipped to new signups."),
        ("11", ON, "Guided setup in beta for 20% of signups."),
        ("10", ON, "Beta cohort reaches first value in 8 days; rolling out to half."),
        ("9", ON, "Fixing the CSV import step, where most new users stall."),
        ("8", ON, "Guided setup on for every signup."),
        ("7", ON, "Green; next is the integrations step, the last big stall."),
        ("7", ON, "Integrations wizard in QA."),
        ("6", ON, "Integrations wizard live."),
        ("6", ON, "Dropping the manual kick-off call for self-serve plans."),
        ("5", ON, "Hit 5 days; watching that it holds."),
        ("5", ON, "Held at 5 days; proposing to graduate this to a KPI."),
    ),
)

COVERAGE = KeyResultSpec(
    handle="coverage",
    title="Health-score coverage of accounts",
    owner="head-of-cs",
    unit="% of accounts",
    direction=Direction.INCREASE,
    baseline="0",
    target="100",
    source="CRM and product analytics",
    query="paying accounts with a health score computed in the last 7 days / paying accounts",
    weeks=(
        ("0", ON, "Scoping the health-score pipeline with data engineering."),
        ("2", RISK, "Usage events are missing for legacy-plan accounts; sizing the gap."),
        (
            "4",
            OFF,
            "Red: the data pipeline is harder than scoped. Asking for engineering time "
            "at the mid-quarter review.",
        ),
        ("6", OFF, "Pipeline covers new-plan accounts only; legacy accounts need a backfill."),
        ("10", RISK, "Engineering lent one engineer; usage backfill started."),
        ("17", RISK, "Backfill for current-plan accounts runs nightly."),
        (
            "26",
            ON,
            "Mid-quarter review: engineering traded the reporting-export nice-to-have "
            "for the pipeline; target re-set to 80%.",
        ),
        ("35", ON, "Green: scores computed for every current-plan account in Europe."),
        ("42", ON, "US accounts on the pipeline."),
        ("49", ON, "Health-score alerts wired into the CS queue."),
        ("55", ON, "The remaining accounts need manual CRM-to-billing mapping."),
        ("59", RISK, "Mapping is slower than hoped; two CSMs on it part-time."),
        ("62", RISK, "62% covered; the last mapping batch slips into October."),
    ),
)

DEALS = KeyResultSpec(
    handle="deals",
    title="Enterprise deals closed over ₹10L ACV",
    owner="head-of-sales",
    unit="deals",
    direction=Direction.INCREASE,
    baseline="1",
    target="5",
    source="CRM",
    query="closed-won opportunities this quarter with ACV above ₹10L",
    weeks=(
        ("0", ON, "ABM pilot list of 40 target accounts agreed with marketing."),
        ("0", ON, "Eight enterprise opportunities in pipeline; two in security review."),
        ("0", ON, "Security questionnaires are the bottleneck; leaning on the SOC 2 work."),
        ("1", ON, "First deal closed: logistics, ₹14L ACV."),
        ("1", ON, "ABM pilot booked six first meetings."),
        ("1", RISK, "Two deals stalled on SOC 2 evidence; sharing the readiness letter."),
        ("2", ON, "Second deal closed once the readiness letter cleared security review."),
        ("2", ON, "Three deals in procurement."),
        ("3", ON, "Third deal closed: fintech, ₹18L ACV."),
        ("3", ON, "Two deals in legal; forecasting five."),
        ("3", RISK, "One customer pushed its legal review into October."),
        ("4", RISK, "Fourth deal closed; the fifth sits in the customer's legal queue."),
        ("4", RISK, "Ends at 4 of 5; the fifth deal moves to the Q4 pipeline."),
    ),
)

SOC2 = KeyResultSpec(
    handle="soc2",
    title="SOC 2 Type I readiness",
    owner="cto",
    unit="share of controls",
    direction=Direction.MILESTONE,
    baseline="0",
    target="1",
    source="compliance tracker",
    query="controls with evidence accepted by the readiness assessor / 20 controls in scope",
    weeks=(
        ("0.05", ON, "Readiness assessor engaged; 20 controls in scope."),
        ("0.1", ON, "Access-review control evidenced."),
        ("0.15", ON, "Vendor-risk register started."),
        ("0.2", RISK, "Policy sign-offs wait on the leadership review."),
        ("0.3", ON, "Policies signed; evidence collection automated for two controls."),
        ("0.35", ON, "Readiness letter drafted for sales."),
        ("0.45", ON, "Change-management control evidenced from the deploy pipeline."),
        ("0.5", ON, "Halfway; backup-restore test scheduled."),
        ("0.6", ON, "Backup restore tested and evidenced."),
        ("0.65", ON, "Incident-response tabletop exercise run."),
        ("0.75", ON, "Endpoint management on every laptop."),
        ("0.8", ON, "Sixteen of twenty controls ready."),
        (
            "0.85",
            ON,
            "Seventeen of twenty; assessment booked for October, the last three due first.",
        ),
    ),
)

INCIDENTS = KeyResultSpec(
    handle="incidents",
    title="P1 incidents per quarter",
    owner="cto",
    unit="P1s in trailing 13 weeks",
    direction=Direction.DECREASE,
    baseline="9",
    target="3",
    source="incident tracker",
    query="P1 incidents opened in the trailing 13 weeks",
    weeks=(
        ("9", ON, "Top Q2 causes: database failover, deploy rollbacks, queue backlog."),
        ("9", ON, "Failover runbook rehearsed; canary deploys designed."),
        ("8", ON, "Canary deploys live for the API."),
        ("8", RISK, "One P1 this week from a queue backlog; adding autoscaling."),
        ("7", ON, "Queue autoscaling shipped."),
        ("7", ON, "Error-budget alerts on the top five endpoints."),
        ("6", ON, "No P1 in three weeks."),
        ("6", ON, "Database failover drill passed."),
        ("5", ON, "Canary deploys extended to the web app."),
        ("5", RISK, "One P1 from an expired certificate; automating renewals."),
        ("5", RISK, "Certificate renewal automated; reviewing alert noise."),
        ("4", ON, "The last Q2 incidents rolled out of the window."),
        ("4", RISK, "Ends at 4 against 3 or fewer; reliability KPIs carry the trend."),
    ),
)

ENTERPRISE_AES = KeyResultSpec(
    handle="enterprise-aes",
    title="Enterprise AEs hired with a 90-day plan in place",
    owner="head-of-people",
    unit="hires",
    direction=Direction.INCREASE,
    baseline="0",
    target="2",
    source="HRMS",
    query="enterprise AE hires who started with a manager-signed 90-day plan",
    weeks=(
        ("0", ON, "Two requisitions open; sourcing brief agreed with head-of-sales."),
        ("0", ON, "Twelve candidates screened."),
        ("0", ON, "Four candidates in final rounds."),
        ("0", ON, "Two offers out."),
        ("0", ON, "One offer accepted; start date in August."),
        ("1", ON, "First AE started; 90-day plan signed off."),
        ("1", RISK, "Second offer declined on compensation; search reopened."),
        ("1", RISK, "Shortlist of three for the second seat."),
        ("1", ON, "Offer accepted for the second seat."),
        ("2", ON, "Second AE started; 90-day plan signed off."),
        ("2", ON, "Both AEs ramping on the ABM accounts."),
        ("2", ON, "First 30-day check-ins done for both."),
        ("2", ON, "Done; both AEs carry enterprise pipeline."),
    ),
)

SECURITY_ENGINEER = KeyResultSpec(
    handle="security-engineer",
    title="Security engineer hired with a 90-day plan in place",
    owner="head-of-people",
    unit="hires",
    direction=Direction.INCREASE,
    baseline="0",
    target="1",
    source="HRMS",
    query="security engineer hires who started with a manager-signed 90-day plan",
    weeks=(
        ("0", ON, "Job description agreed with the CTO."),
        ("0", ON, "Sourcing through two specialist agencies."),
        ("0", ON, "Six candidates screened."),
        ("0", RISK, "The market is thin; widening the search to remote."),
        ("0", RISK, "Two candidates in the technical round."),
        ("0", ON, "Final round scheduled."),
        ("0", ON, "Offer out."),
        ("0", RISK, "Candidate asked us to match a counter-offer; negotiating."),
        ("0", OFF, "Offer declined; search restarted."),
        ("0", OFF, "New shortlist of two; a contractor covers the SOC 2 work meanwhile."),
        ("0", OFF, "Final round for one candidate."),
        ("0", OFF, "Offer out; the earliest start is November."),
        ("0", OFF, "Will not land this quarter; carried into Q4."),
    ),
)

OBJECTIVES = (
    ObjectiveSpec(
        handle="leaky-bucket",
        title="Stop the leaky bucket",
        owner="ceo",
        kind=ObjectiveKind.ASPIRATIONAL,
        parent=None,
        key_results=(CHURN, ONBOARDING, COVERAGE),
    ),
    ObjectiveSpec(
        handle="upmarket",
        title="Earn the right to sell upmarket",
        owner="ceo",
        kind=ObjectiveKind.ASPIRATIONAL,
        parent=None,
        key_results=(DEALS, SOC2, INCIDENTS),
    ),
    ObjectiveSpec(
        handle="hiring",
        title="Hire ahead of the upmarket motion",
        owner="head-of-people",
        kind=ObjectiveKind.COMMITTED,
        parent="upmarket",
        key_results=(ENTERPRISE_AES, SECURITY_ENGINEER),
    ),
)

# The changes of plan an auditor should find in this quarter, each with its reason.
CHURN_CORRECTION = CheckInCorrection(
    key_result=CHURN.handle,
    week=5,
    recorded_after_week=6,
    actor="head-of-cs",
    value="2.8",
    reason=(
        "The billing export counted one account's mid-month upgrade as retained revenue "
        "twice; finance re-ran the pre-registered query and the week's churn was 2.8%."
    ),
)
COVERAGE_REBASELINE = Rebaseline(
    key_result=COVERAGE.handle,
    before_week=7,
    actor="ceo",
    baseline="0",
    target="80",
    effective_week=7,
    reason=(
        "Mid-quarter review: legacy-plan accounts (about a fifth of the base) emit no "
        "product-usage events. Engineering traded the reporting-export nice-to-have to "
        "staff the pipeline for current-plan accounts; legacy accounts follow the plan "
        "migration in Q4."
    ),
    reason_code=ReasonCode.PRIORITIES_CHANGED,
)
ONBOARDING_GRADUATION = KeyResultGraduation(
    key_result=ONBOARDING.handle,
    actor="head-of-product",
    reason=(
        "Target met and held: guided setup is the default for every signup. Graduated to "
        "a KPI under Customer onboarding, to be watched rather than pushed next quarter."
    ),
    area="Customer onboarding",
    name="Onboarding time-to-first-value",
    formula="median days from signup to first shared report, signups of that month",
    data_source="product analytics",
    target="5",
)
