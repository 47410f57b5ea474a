"""The demo company's KPIs: each KRA's health measures, their targets and monthly readings.

Onboarding time-to-first-value joins them at the quarter's end, graduated from its key
result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cli.demo_quarter import ENDS_ON, MONTH_ENDS
from domain.values import KpiDirection, ReasonCode


@dataclass(frozen=True)
class KpiTargetChange:
    actor: str
    target: str
    healthy_low: str | None
    healthy_high: str | None
    effective_on: date
    reason: str
    reason_code: ReasonCode


@dataclass(frozen=True)
class KpiSpec:
    area: str
    name: str
    owner: str
    unit: str
    formula: str
    data_source: str
    direction: KpiDirection
    target: str
    target_set_on: date
    readings: tuple[tuple[date, str], ...]
    healthy_low: str | None = None
    healthy_high: str | None = None
    target_change: KpiTargetChange | None = None


KPIS = (
    KpiSpec(
        area="Customer retention",
        name="Gross revenue churn",
        owner="head-of-cs",
        unit="% of MRR",
        formula="(churned + contraction MRR) / opening MRR, per calendar month",
        data_source="billing",
        direction=KpiDirection.STAY_BELOW,
        target="2.5",
        target_set_on=date(2026, 4, 1),
        readings=((MONTH_ENDS[0], "2.8"), (MONTH_ENDS[1], "2.6"), (MONTH_ENDS[2], "2.4")),
    ),
    KpiSpec(
        area="Customer retention",
        name="First-response time",
        owner="team-cs",
        unit="hours (median)",
        formula="median business hours from ticket creation to the first human reply",
        data_source="helpdesk",
        direction=KpiDirection.STAY_BELOW,
        target="2",
        target_set_on=date(2026, 4, 1),
        # Support is drowning: out of range all quarter, so it is an OKR candidate for Q4.
        readings=((MONTH_ENDS[0], "3.4"), (MONTH_ENDS[1], "2.8"), (MONTH_ENDS[2], "2.3")),
    ),
    KpiSpec(
        area="Talent acquisition",
        name="Time-to-fill",
        owner="head-of-people",
        unit="days (median)",
        formula="median days from requisition approval to offer accepted, roles filled that month",
        data_source="HRMS",
        direction=KpiDirection.STAY_BELOW,
        target="45",
        target_set_on=date(2026, 1, 5),
        readings=((MONTH_ENDS[0], "41"), (MONTH_ENDS[1], "44"), (MONTH_ENDS[2], "38")),
    ),
    KpiSpec(
        area="Talent acquisition",
        name="Offer acceptance rate",
        owner="head-of-people",
        unit="%",
        formula="offers accepted / offers made, trailing 90 days",
        data_source="HRMS",
        direction=KpiDirection.STAY_ABOVE,
        target="80",
        target_set_on=date(2026, 1, 5),
        readings=((MONTH_ENDS[0], "86"), (MONTH_ENDS[1], "80"), (MONTH_ENDS[2], "71")),
    ),
    KpiSpec(
        area="Reliability",
        name="Uptime",
        owner="cto",
        unit="%",
        formula="minutes available / minutes in the month, measured by external probes",
        data_source="status-page probes",
        direction=KpiDirection.STAY_ABOVE,
        target="99.5",
        healthy_low="99.5",
        healthy_high="100",
        target_set_on=date(2026, 1, 5),
        readings=((MONTH_ENDS[0], "99.62"), (MONTH_ENDS[1], "99.81"), (MONTH_ENDS[2], "99.93")),
        target_change=KpiTargetChange(
            actor="cto",
            target="99.9",
            healthy_low="99.9",
            healthy_high="100",
            effective_on=date(2026, 9, 1),
            reason=(
                "Enterprise contracts now promise a 99.9% uptime SLA; the healthy level "
                "follows what we sell."
            ),
            reason_code=ReasonCode.PRIORITIES_CHANGED,
        ),
    ),
    KpiSpec(
        area="Customer onboarding",
        name="Onboarding time-to-first-value",
        owner="head-of-product",
        unit="days (median)",
        formula="median days from signup to first shared report, signups of that month",
        data_source="product analytics",
        direction=KpiDirection.STAY_BELOW,
        target="5",
        target_set_on=ENDS_ON,
        readings=((MONTH_ENDS[2], "5"),),
    ),
)
