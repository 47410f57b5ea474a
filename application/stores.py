"""Opening the goal ledger on the configured store, and setting the store up."""

from __future__ import annotations

from application.ledger import GoalLedger
from storage.app_role import grant_role
from storage.reach import check_env
from storage.settings import Settings, store_env


def open_ledger(database_url: str | None = None, *, create_tables: bool = False) -> GoalLedger:
    url = database_url if database_url is not None else Settings().database_url
    env = store_env(url, create_tables=create_tables)
    check_env(env)
    return GoalLedger(env=env)


def init_store(database_url: str | None = None) -> None:
    """Create tables, indexes and append-only triggers; safe to run again."""
    open_ledger(database_url, create_tables=True).close()


def grant_app_role(database_url: str, role: str) -> list[str]:
    """PostgreSQL: let `role` run Goalpost without owning its history (ADR 22).

    Run as the owner, after `init_store`; see `storage.app_role.grant_role`.
    """
    ledger = open_ledger(database_url)
    try:
        snapshots = getattr(getattr(ledger.snapshots, "recorder", None), "events_table_name", None)
        return grant_role(ledger.recorder, snapshots, role)
    finally:
        ledger.close()
