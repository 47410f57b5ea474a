"""Opening the goal ledger on the configured store, and setting the store up."""

from __future__ import annotations

from application.ledger import GoalLedger
from storage.app_role import grant_role
from storage.reach import check_env
from storage.settings import Settings, read_database_urls, store_env


def open_ledger(database_url: str | None = None, *, create_tables: bool = False) -> GoalLedger:
    url = database_url if database_url is not None else Settings().database_url
    env = store_env(url, create_tables=create_tables)
    check_env(env)
    return GoalLedger(env=env)


def open_read_ledgers(
    database_url: str | None = None, read_database_url: str | None = None
) -> list[GoalLedger]:
    """A ledger on each hot standby GOALPOST_READ_DATABASE_URL names, for reads only (ADR 31).

    Each standby is reached once here, so a wrong URL fails at once and says why. Nothing
    is created on a standby (it is read-only); `goalpost db init` on the primary makes
    the tables, and replication brings them.
    """
    settings = Settings()
    urls = read_database_urls(
        database_url if database_url is not None else settings.database_url,
        read_database_url if read_database_url is not None else settings.read_database_url,
    )
    ledgers: list[GoalLedger] = []
    try:
        for url in urls:
            ledgers.append(open_ledger(url))
    except BaseException:
        for opened in ledgers:
            opened.close()
        raise
    return ledgers


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
