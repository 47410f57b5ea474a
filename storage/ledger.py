"""Opening the goal ledger on the configured store."""

from __future__ import annotations

from domain.application import GoalLedger
from storage.settings import Settings, store_env


def open_ledger(database_url: str | None = None, *, create_tables: bool = False) -> GoalLedger:
    url = database_url if database_url is not None else Settings().database_url
    return GoalLedger(env=store_env(url, create_tables=create_tables))


def init_store(database_url: str | None = None) -> None:
    """Create tables, indexes and append-only triggers; safe to run again."""
    open_ledger(database_url, create_tables=True).close()
