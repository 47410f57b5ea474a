"""The demo's ownership over time (ADR 42): in the current quarter the CRO hands the
enterprise-logos key result to the VP of sales, the head of product contributes to the
carried churn key result beside its owner, and a review cycle over both quarters has the
VP of CS review the head of CS."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from cli.demo_calendar import DemoCalendar, moment

if TYPE_CHECKING:
    from cli.demo_story import Story

TRANSFERRED = "logos"
TRANSFERRED_TO = "vp-sales"
TRANSFER_REASON = "enterprise deals move to the sales team as they reach contract"
SHARED = "churn-carried"
CONTRIBUTOR = "head-of-product"
REVIEWER, REVIEWEE = "vp-cs", "head-of-cs"


def review_cycle_key(calendar: DemoCalendar) -> str:
    return f"{calendar.previous.key}-{calendar.current.key}-review"


def ownership(story: Story, calendar: DemoCalendar) -> None:
    ledger, quarter = story.ledger, calendar.current
    # Three weeks in (or today, if the quarter is younger than that).
    handed_on = min(quarter.starts_on + timedelta(days=21), calendar.today)
    story.at(
        moment(handed_on, 10),
        lambda: ledger.transfer_key_result(
            actor="ceo",
            key_result_id=story.ids[TRANSFERRED],
            owner=TRANSFERRED_TO,
            reason=TRANSFER_REASON,
            effective_on=handed_on,
        ),
    )
    # Named on the quarter's second day, contributing from its first.
    story.at(
        moment(min(quarter.starts_on + timedelta(days=1), calendar.today), 12),
        lambda: ledger.add_contributor(
            actor="ceo",
            key_result_id=story.ids[SHARED],
            contributor=CONTRIBUTOR,
            effective_on=quarter.starts_on,
        ),
    )
    key = review_cycle_key(calendar)

    def review() -> None:
        ledger.open_review_cycle(
            actor="ceo", key=key, starts_on=calendar.previous.starts_on, ends_on=quarter.ends_on
        )
        ledger.assign_reviewer(actor="ceo", key=key, reviewer=REVIEWER, reviewee=REVIEWEE)

    story.at(moment(quarter.starts_on, 8, 30), review)
