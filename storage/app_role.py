"""PostgreSQL: a role that runs Goalpost without owning its history (ADR 22)."""

from __future__ import annotations

from typing import Any

from psycopg import sql

from storage.postgres import GoalpostPostgresRecorder
from storage.settings import StoreUrlError


def grant_role(recorder: Any, snapshots: str | None, role: str) -> list[str]:
    """Let `role` read the history and append to it through the append function only.

    Run as the owner, after the tables exist. The role can neither change nor remove an
    event, nor disable the triggers or drop the tables that guard them. It owns the read
    models (which it rebuilds, creating and dropping generations) and may create tables
    in the schema. Returns the tables it was given.
    """
    if not isinstance(recorder, GoalpostPostgresRecorder):
        raise StoreUrlError("an app role is a PostgreSQL setting; the SQLite file has none")
    history = {
        recorder.events_table_name,
        recorder.times_table_name,
        recorder.requests_table_name,
        recorder.demo_table_name,
    }
    schema = recorder.datastore.schema
    grantee = sql.Identifier(role)
    with recorder.datastore.transaction(commit=True) as curs:
        curs.execute("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = %s", (role,))
        if curs.fetchone() is None:
            raise StoreUrlError(
                f"role {role!r} does not exist: create it first "
                f"(CREATE ROLE {role} LOGIN PASSWORD '...')"
            )
        curs.execute(
            sql.SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(
                sql.Identifier(schema), grantee
            )
        )
        for table in sorted(history):
            curs.execute(
                sql.SQL("GRANT SELECT ON {} TO {}").format(sql.Identifier(schema, table), grantee)
            )
        if snapshots:
            # Snapshots are written by the library's own recorder, straight to the table.
            curs.execute(
                sql.SQL("GRANT SELECT, INSERT ON {} TO {}").format(
                    sql.Identifier(schema, snapshots), grantee
                )
            )
        # Saves go through the append function alone, and only this role may call it.
        curs.execute(
            sql.SQL("REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA {} FROM PUBLIC").format(
                sql.Identifier(schema)
            )
        )
        curs.execute(
            sql.SQL("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {} TO {}").format(
                sql.Identifier(schema), grantee
            )
        )
        curs.execute(
            "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = %s",
            (schema,),
        )
        given = sorted(
            row["tablename"]
            for row in curs.fetchall()
            if row["tablename"] not in history and row["tablename"] != snapshots
        )
        for table in given:
            curs.execute(
                sql.SQL("ALTER TABLE {} OWNER TO {}").format(sql.Identifier(schema, table), grantee)
            )
    return given
