"""Configuration through the environment only: one setting chooses the store."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///goalpost.sqlite"
SQLITE_FACTORY = "storage.sqlite:GoalpostSQLiteFactory"
POSTGRES_FACTORY = "storage.postgres:GoalpostPostgresFactory"
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Seconds to wait for PostgreSQL to answer a new connection (libpq's connect_timeout):
# against a server that never answers, a command still fails within five seconds.
DEFAULT_CONNECT_TIMEOUT = 4
# libpq's own connection timeout; the library's POSTGRES_CONNECT_TIMEOUT is its pool's wait.
LIBPQ_CONNECT_TIMEOUT = "POSTGRES_LIBPQ_CONNECT_TIMEOUT"


class Settings(BaseSettings):
    """GOALPOST_DATABASE_URL: `sqlite:///PATH` (default: goalpost.sqlite here) or
    `postgresql://USER[:PASSWORD]@HOST[:PORT]/DB[?schema=NAME&pool_size=N&connect_timeout=S]`."""

    model_config = SettingsConfigDict(env_prefix="GOALPOST_")

    database_url: str = DEFAULT_DATABASE_URL
    # Hot standbys of the PostgreSQL primary, comma-separated: read models and the feed
    # are read there (ADR 31). Empty: everything is read from the primary.
    read_database_url: str = ""


class StoreUrlError(ValueError):
    """GOALPOST_DATABASE_URL names no store Goalpost knows."""


def store_env(database_url: str, *, create_tables: bool = False) -> dict[str, str]:
    """The eventsourcing environment for a database URL."""
    parts = urlsplit(database_url)
    if parts.scheme == "sqlite":
        if parts.netloc:
            # sqlite://data/goalpost.db would otherwise open goalpost.db in the working
            # directory, a new empty store beside the one meant.
            raise StoreUrlError(
                f"a SQLite URL names no host: write sqlite:///RELATIVE/PATH or "
                f"sqlite:////ABSOLUTE/PATH, not {database_url!r}"
            )
        # sqlite:///relative.db and sqlite:////absolute.db, as SQLAlchemy spells them.
        path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
        if not path:
            raise StoreUrlError(f"no SQLite file in {database_url!r}")
        return {
            "PERSISTENCE_MODULE": SQLITE_FACTORY,
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "10",
            # One embedded process owns the file, so creating on open is safe.
            "CREATE_TABLE": "y",
        }
    if parts.scheme in ("postgresql", "postgres"):
        query = parse_qs(parts.query)
        schema = query.get("schema", ["public"])[0]
        if not _SCHEMA.match(schema):
            raise StoreUrlError(
                f"schema must be a lower-case SQL name (letters, digits, _), not {schema!r}"
            )
        dbname = unquote(parts.path.lstrip("/"))
        if not dbname:
            raise StoreUrlError(f"no database name in {database_url!r}")
        connect_timeout = query.get("connect_timeout", [str(DEFAULT_CONNECT_TIMEOUT)])[0]
        if not connect_timeout.isdigit() or int(connect_timeout) < 1:
            raise StoreUrlError(
                f"connect_timeout must be a whole number of seconds, not {connect_timeout!r}"
            )
        return {
            "PERSISTENCE_MODULE": POSTGRES_FACTORY,
            "POSTGRES_DBNAME": dbname,
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_SCHEMA": schema,
            # Faster, but without the table lock a subscriber can skip events (ADR 0002).
            "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
            "POSTGRES_POOL_SIZE": query.get("pool_size", ["5"])[0],
            "POSTGRES_MAX_OVERFLOW": query.get("max_overflow", ["10"])[0],
            LIBPQ_CONNECT_TIMEOUT: connect_timeout,
            # Several processes starting at once must not race on DDL: `goalpost db init` does it.
            "CREATE_TABLE": "y" if create_tables else "n",
        }
    raise StoreUrlError(
        f"GOALPOST_DATABASE_URL must start with sqlite:/// or postgresql://, "
        f"not {parts.scheme or database_url!r}"
    )


def read_database_urls(database_url: str, read_database_url: str) -> list[str]:
    """The standbys GOALPOST_READ_DATABASE_URL names, each checked against the primary.

    Each is a PostgreSQL URL of the same form as GOALPOST_DATABASE_URL, naming the same
    database and schema: a standby holds the primary's tables where the primary does.
    """
    urls = [url.strip() for url in read_database_url.split(",") if url.strip()]
    if not urls:
        return []
    primary = store_env(database_url)
    if primary["PERSISTENCE_MODULE"] != POSTGRES_FACTORY:
        raise StoreUrlError(
            "GOALPOST_READ_DATABASE_URL names PostgreSQL standbys: "
            "GOALPOST_DATABASE_URL must name their PostgreSQL primary"
        )
    for url in urls:
        if urlsplit(url).scheme not in ("postgresql", "postgres"):
            raise StoreUrlError(
                "GOALPOST_READ_DATABASE_URL must name PostgreSQL standbys "
                f"(postgresql://...), not {urlsplit(url).scheme or url!r}"
            )
        try:
            standby = store_env(url)
        except StoreUrlError as error:
            raise StoreUrlError(f"GOALPOST_READ_DATABASE_URL: {error}") from None
        # A streaming standby is a copy of the whole cluster: the primary's database and
        # schema are there under the same names, and any other names hold something else.
        if standby["POSTGRES_DBNAME"] != primary["POSTGRES_DBNAME"]:
            raise StoreUrlError(
                f"GOALPOST_READ_DATABASE_URL: a standby's database must be the primary's "
                f"({primary['POSTGRES_DBNAME']!r}), not {standby['POSTGRES_DBNAME']!r}"
            )
        if standby["POSTGRES_SCHEMA"] != primary["POSTGRES_SCHEMA"]:
            raise StoreUrlError(
                f"GOALPOST_READ_DATABASE_URL: a standby's schema must be the primary's "
                f"({primary['POSTGRES_SCHEMA']!r}), not {standby['POSTGRES_SCHEMA']!r}"
            )
    return urls
