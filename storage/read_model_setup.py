"""Creating read models' tables, their rows and positions; starting one afresh (ADR 17)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from storage.dialect import table_names
from storage.read_model_state import (
    READ_MODELS_TABLE,
    ReadModelSpec,
    ReadModelState,
    later_release,
)
from storage.transactions import ViewTransaction

if TYPE_CHECKING:
    from storage.views import ViewDatabase

log = logging.getLogger("goalpost.projections")


def create_read_models(
    database: ViewDatabase, read_models: Sequence[ReadModelSpec], *, afresh: bool = True
) -> None:
    """Create each read model's live tables, its row and its position (safe to re-run).

    A read model whose live generation an earlier definition built (a lower version,
    or the same version with other DDL) is started afresh:
    new empty tables at position 0 (the worker then applies the whole log), the old
    ones dropped once no reader uses them. `goalpost projections rebuild` run by the
    new release first avoids the gap: the generation it switches to has the new
    definition, so nothing is reset here; it calls this with `afresh=False`, which
    leaves a live generation of another definition as it is.
    """
    database.tracking.create_table()
    with database.bare_transaction() as tx:
        create_bookkeeping(database, tx)
    replaced: list[tuple[ReadModelState, tuple[str, ...]]] = []
    with database.transaction() as tx:
        for spec in read_models:
            tables = table_names(spec.statements)
            tx.register(spec.name, tables, spec.definition)
            state = tx.read_model(spec.name, lock="update")
            assert state is not None  # registered just above
            tx.lock_position(database.tracking_name(spec.name))
            if state.definition != spec.definition:
                if spec.keeps_evidence and state.definition is None:
                    # Kept before definitions were: the first one there ever was.
                    tx.update_read_model(
                        spec.name,
                        generation=state.generation,
                        building=state.building,
                        tables=state.tables,
                        definition=spec.definition,
                    )
                elif spec.keeps_evidence:
                    log.error(
                        "read model %s holds evidence and is live in definition %s, not "
                        "%s: it is never started afresh; verify the old chain and migrate "
                        "it deliberately",
                        spec.name,
                        state.definition,
                        spec.definition,
                    )
                elif afresh and not later_release(state.definition, spec.definition):
                    replaced.append((state, tables))
                    _start_afresh(database, tx, spec, state, tables)
                continue
            tx.create(spec.statements, tables, state.generation)
            if set(state.tables) != set(tables):
                # A release added a table: the live generation has it now too.
                tx.update_read_model(
                    spec.name,
                    generation=state.generation,
                    building=state.building,
                    tables=tables,
                )
    for state, tables in replaced:
        with database.bare_transaction() as tx:
            tx.exclude_readers()
            tx.drop(state.tables or tables, state.generation)


def create_tables(database: ViewDatabase, statements: Sequence[str]) -> None:
    """Create tables outside any read model (at their live generation)."""
    database.tracking.create_table()
    with database.bare_transaction() as tx:
        create_bookkeeping(database, tx)
    with database.transaction() as tx:
        for statement in statements:
            tx.execute(statement)


def create_bookkeeping(database: ViewDatabase, tx: ViewTransaction) -> None:
    """The read models' own table and their health table, as this release has them."""
    tx._raw("create_map", (), fetch=False)
    tx._raw("create_health", (), fetch=False)
    schema = database.schema
    where = (schema, READ_MODELS_TABLE) if schema else (READ_MODELS_TABLE,)
    columns = {row["name"] for row in tx._raw("map_columns", where)}
    if "definition" not in columns:
        tx._raw("add_definition", (), fetch=False)


def _start_afresh(
    database: ViewDatabase,
    tx: ViewTransaction,
    spec: ReadModelSpec,
    state: ReadModelState,
    tables: tuple[str, ...],
) -> None:
    log.warning(
        "read model %s was built by definition %s, this release has %s: "
        "starting it afresh from the beginning of the log",
        spec.name,
        state.definition,
        spec.definition,
    )
    if state.building is not None:
        # A rebuild in progress is of the old definition (a new one would have switched).
        tx.remove_generation(spec.name, (*state.tables, *tables), state.building)
    generation = max(state.generation, state.building or 0) + 1
    tx.create(spec.statements, tables, generation)
    tx.set_position(database.tracking_name(spec.name), 0)
    # A new start: an old generation's failure is not this one's.
    tx.advanced(spec.name)
    tx.update_read_model(
        spec.name,
        generation=generation,
        building=None,
        tables=tables,
        definition=spec.definition,
    )
