"""The demo company's KPIs: each KRA's health measures, their targets and monthly readings.

Readings are given per month of the previous quarter and of the current one (as far as
today allows); dates are placed when the demo loads. Onboarding time-to-first-value joins
them at the previous quarter's end, graduated from its key result (ONBOARDING_READINGS).
Offer acceptance has no reading since the previous quarter's second month: overdue.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.values import KpiDirection, ReasonCode


@dataclass(frozen=True)
class KpiTargetChange:
    actor: str
    target: str
    healthy_low: str | None
    healthy_high: str | None
    # The first day of this month of the previous quarter (1-3).
    effective_month: int
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
    # The target was set on the first of the month this many months before the previous
    # quarter began.
    target_set_months_before: int
    readings: tuple[str, ...]
    current_readings: tuple[str, ...]
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
        target_set_months_before=3,
        readings=("2.8", "2.6", "2.4"),
        current_readings=("2.3", "2.2", "2.1"),
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
        target_set_months_before=3,
        # Support is drowning: out of range all quarter, so it is an OKR candidate; the
        # current quarter's key result on it is measured by its readings (ADR 38).
        readings=("3.4", "2.8", "2.3"),
        current_readings=("2.1", "1.9", "1.7"),
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
        target_set_months_before=6,
        readings=("41", "44", "38"),
        current_readings=("40", "42", "39"),
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
        target_set_months_before=6,
        # The HRMS export broke after the second month: no reading since, so it is overdue.
        readings=("86", "80"),
        current_readings=(),
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
        target_set_months_before=6,
        readings=("99.62", "99.81", "99.93"),
        current_readings=("99.95", "99.91", "99.97"),
        target_change=KpiTargetChange(
            actor="cto",
            target="99.9",
            healthy_low="99.9",
            healthy_high="100",
            effective_month=3,
            reason=(
                "Enterprise contracts now promise a 99.9% uptime SLA; the healthy level "
                "follows what we sell."
            ),
            reason_code=ReasonCode.PRIORITIES_CHANGED,
        ),
    ),
)

# The graduated onboarding KPI's readings: the month it graduated in (the previous
# quarter's last), then each month of the current quarter.
ONBOARDING_GRADUATION_READING = "5"
ONBOARDING_READINGS = ("5", "4", "4")
