"""Reviewers scoped to their reviewees (ADR 42): a review cycle and assignments, arranged
on the ledger by the operator, for tests whose reviewer reads someone's evidence."""

from __future__ import annotations

import secrets
from datetime import date

from application.ledger import GoalLedger


def assign(
    ledger: GoalLedger,
    reviewer: str,
    *reviewees: str,
    starts_on: date = date(2026, 7, 1),
    ends_on: date = date(2026, 12, 31),
) -> str:
    """A new review cycle over the dates in which the reviewer reviews each reviewee."""
    key = f"review-{secrets.token_hex(4)}"
    ledger.open_review_cycle(actor="hr", key=key, starts_on=starts_on, ends_on=ends_on)
    for reviewee in reviewees:
        ledger.assign_reviewer(actor="hr", key=key, reviewer=reviewer, reviewee=reviewee)
    return key
