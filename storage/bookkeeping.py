"""The statements that keep read models: their generations, positions and health.

Composed once per store with psycopg.sql and rendered for its dialect: the three tables
are ours (`goalpost_read_models`, `goalpost_read_model_health`) or the library's tracking
table, named in code, in the store's schema on PostgreSQL.
"""

from __future__ import annotations

from psycopg.sql import SQL, Composable, Identifier

from storage.dialect import FIRST_GENERATION, TYPES, Dialect, render

_STATE_COLUMNS = SQL("name, generation, building, table_names, definition")
_HEALTH_COLUMNS = SQL(
    "name, advanced_at, failing_position, failing_error, failing_since, failing_attempts, retry_at"
)


def bookkeeping_statements(
    dialect: Dialect, read_models: Identifier, tracking: Identifier, health: Identifier
) -> dict[str, str]:
    """Each statement by name, as text for the dialect."""
    types = {name: SQL(type_) for name, type_ in TYPES[dialect].items()}
    postgresql = dialect == "postgresql"
    # A write transaction on SQLite holds the whole database (BEGIN IMMEDIATE): no row locks.
    share = SQL(" FOR SHARE") if postgresql else SQL("")
    update = SQL(" FOR UPDATE") if postgresql else SQL("")
    select_state = SQL("SELECT {columns} FROM {read_models}").format(
        columns=_STATE_COLUMNS, read_models=read_models
    )
    select_health = SQL("SELECT {columns} FROM {health}").format(
        columns=_HEALTH_COLUMNS, health=health
    )
    table_exists = (
        SQL("SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = %s AND tablename = %s")
        if postgresql
        else SQL("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s")
    )
    statements: dict[str, Composable] = {
        "create_map": SQL(
            "CREATE TABLE IF NOT EXISTS {read_models} ("
            " name {text} PRIMARY KEY,"
            " generation {int} NOT NULL,"
            " building {int},"
            " table_names {text} NOT NULL,"
            " definition {text})"
        ).format(read_models=read_models, **types),
        # Rows made before definitions were kept: NULL, a definition of their own.
        "add_definition": SQL(
            "ALTER TABLE {read_models} ADD COLUMN IF NOT EXISTS definition {text}"
            if postgresql
            else "ALTER TABLE {read_models} ADD COLUMN definition {text}"
        ).format(read_models=read_models, **types),
        "map_columns": (
            SQL(
                "SELECT column_name AS name FROM information_schema.columns"
                " WHERE table_schema = %s AND table_name = %s"
            )
            if postgresql
            else SQL("SELECT name FROM pragma_table_info(%s)")
        ),
        "select_map": select_state,
        "map_exists": table_exists,
        "lock_share": select_state + SQL(" WHERE name = %s") + share,
        "lock_update": select_state + SQL(" WHERE name = %s") + update,
        "register": SQL(
            "INSERT INTO {read_models} (name, generation, building, table_names, definition)"
            " VALUES (%s, {first}, NULL, %s, %s) ON CONFLICT (name) DO NOTHING"
        ).format(read_models=read_models, first=SQL(str(FIRST_GENERATION))),
        "set_definition": SQL("UPDATE {read_models} SET definition = %s WHERE name = %s").format(
            read_models=read_models
        ),
        "update_map": SQL(
            "UPDATE {read_models} SET generation = %s, building = %s, table_names = %s"
            " WHERE name = %s"
        ).format(read_models=read_models),
        "select_position": SQL(
            "SELECT notification_id FROM {tracking} WHERE application_name = %s"
        ).format(tracking=tracking)
        + update,
        "insert_position": SQL(
            "INSERT INTO {tracking} (application_name, notification_id) VALUES (%s, 0)"
            " ON CONFLICT (application_name) DO NOTHING"
        ).format(tracking=tracking),
        "set_position": SQL(
            "UPDATE {tracking} SET notification_id = %s WHERE application_name = %s"
        ).format(tracking=tracking),
        "delete_position": SQL("DELETE FROM {tracking} WHERE application_name = %s").format(
            tracking=tracking
        ),
        "create_health": SQL(
            "CREATE TABLE IF NOT EXISTS {health} ("
            " name {text} PRIMARY KEY,"
            " advanced_at {time},"
            " failing_position {int},"
            " failing_error {text},"
            " failing_since {time},"
            " failing_attempts {int} NOT NULL DEFAULT 0,"
            " retry_at {time})"
        ).format(health=health, **types),
        "health_exists": table_exists,
        "select_health": select_health + SQL(" ORDER BY name"),
        "lock_health": select_health + SQL(" WHERE name = %s") + update,
        "register_health": SQL(
            "INSERT INTO {health} (name, advanced_at) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING"
        ).format(health=health),
        # Moving on clears the failure: the event it could not apply is behind it now.
        "advanced": SQL(
            "INSERT INTO {health} (name, advanced_at) VALUES (%s, %s)"
            " ON CONFLICT (name) DO UPDATE SET advanced_at = excluded.advanced_at,"
            " failing_position = NULL, failing_error = NULL, failing_since = NULL,"
            " failing_attempts = 0, retry_at = NULL"
        ).format(health=health),
        "failed": SQL(
            "INSERT INTO {health} (name, failing_position, failing_error, failing_since,"
            " failing_attempts, retry_at) VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (name) DO UPDATE SET"
            " failing_position = excluded.failing_position,"
            " failing_error = excluded.failing_error,"
            " failing_since = excluded.failing_since,"
            " failing_attempts = excluded.failing_attempts,"
            " retry_at = excluded.retry_at"
        ).format(health=health),
    }
    return {name: render(statement, dialect) for name, statement in statements.items()}
